"""Follows in KV: ``follows`` → {url: [channel ids]}; seen entry ids per feed, capped."""

import hashlib

SEEN_CAP = 200


def feed_key(url: str) -> str:
    return "seen:" + hashlib.sha1(url.encode()).hexdigest()[:16]


class Follows:
    def __init__(self, kv):
        self.kv = kv

    def all(self) -> dict[str, list[str]]:
        return self.kv.get("follows") or {}

    def follow(self, url: str, channel_id: str) -> None:
        follows = self.all()
        channels = set(follows.get(url, [])) | {channel_id}
        follows[url] = sorted(channels)
        self.kv.set("follows", follows)

    def unfollow(self, url: str, channel_id: str) -> bool:
        follows = self.all()
        if channel_id not in follows.get(url, []):
            return False
        follows[url] = [c for c in follows[url] if c != channel_id]
        if not follows[url]:
            del follows[url]
            self.kv.delete(feed_key(url))
        self.kv.set("follows", follows)
        return True

    def new_entries(self, url: str, entries: list[dict]) -> list[dict]:
        seen = self.kv.get(feed_key(url))
        ids = [e["id"] for e in entries]
        self.kv.set(feed_key(url), ids[:SEEN_CAP])
        if seen is None:
            return []  # first poll: remember what is there, post nothing
        known = set(seen)
        return [e for e in entries if e["id"] not in known]
