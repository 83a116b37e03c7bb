"""Where the starboard is and how many stars it takes."""

from typing import NamedTuple

STAR = "⭐"
DEFAULT_THRESHOLD = 3


class BoardSettings(NamedTuple):
    channel_id: str | None
    threshold: int


def load(kv) -> BoardSettings:
    data = kv.get("board") or {}
    return BoardSettings(data.get("channel_id"), int(data.get("threshold") or DEFAULT_THRESHOLD))


def save(kv, channel_id: str, threshold: int) -> None:
    kv.set("board", {"channel_id": channel_id, "threshold": threshold})
