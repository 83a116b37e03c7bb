"""The count state in KV: channel, current number, last counter, best run."""

from dataclasses import asdict, dataclass


@dataclass
class Count:
    channel_id: str | None = None
    current: int = 0
    last_user: str | None = None
    best: int = 0

    def play(self, user_id: str, number: int) -> str:
        """``"ok"``, ``"twice"`` (same member again) or ``"wrong"``; a mistake resets the count."""
        if user_id == self.last_user:
            self.current, self.last_user = 0, None
            return "twice"
        if number != self.current + 1:
            self.current, self.last_user = 0, None
            return "wrong"
        self.current, self.last_user = number, user_id
        self.best = max(self.best, number)
        return "ok"


def load(kv) -> Count:
    return Count(**(kv.get("count") or {}))


def save(kv, count: Count) -> None:
    kv.set("count", asdict(count))
