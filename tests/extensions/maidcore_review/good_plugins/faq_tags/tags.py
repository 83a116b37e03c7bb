"""Tags in KV: ``tag:<name>`` → ``{"text", "author", "uses"}``."""

import re

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_TEXT = 1800


def normalise(name: str) -> str:
    return name.strip().lower().replace(" ", "-")


class TagStore:
    """Tags of one server. ``kv`` is the plugin's ctx.kv."""

    def __init__(self, kv):
        self.kv = kv

    def get(self, name: str):
        record = self.kv.get(f"tag:{normalise(name)}")
        if not record:
            return None
        self.kv.increment(f"tag:{normalise(name)}", path="uses")
        return record["text"]

    def put(self, name: str, text: str, author: str) -> None:
        key = normalise(name)
        if not NAME.match(key):
            raise ValueError("tag names are 1-32 letters, digits, - or _")
        if not text.strip() or len(text) > MAX_TEXT:
            raise ValueError(f"a tag's text must be 1-{MAX_TEXT} characters")
        self.kv.set(f"tag:{key}", {"text": text.strip(), "author": author, "uses": 0})

    def remove(self, name: str) -> bool:
        key = f"tag:{normalise(name)}"
        if not self.kv.exists(key):
            return False
        self.kv.delete(key)
        return True

    def names(self) -> list[str]:
        names, after = [], None
        while True:
            page = self.kv.list("tag:", 100, start_after=after)
            names.extend(key.split(":", 1)[1] for key in page)
            if len(page) < 100:
                return sorted(names)
            after = page[-1]
