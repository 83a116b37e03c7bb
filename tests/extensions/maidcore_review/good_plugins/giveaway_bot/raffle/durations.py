"""Durations like ``90s``, ``30m``, ``2h``, ``1d12h``."""

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PART = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
LIMIT = 30 * 86400


def parse(text: str) -> int:
    """Seconds in ``text``; ``ValueError`` when it is not a duration or over 30 days."""
    text = text.strip().lower()
    if not text or PART.sub("", text).strip():
        raise ValueError(f"{text!r} is not a duration like 30m or 2h")
    seconds = sum(int(n) * UNITS[u] for n, u in PART.findall(text))
    if not 60 <= seconds <= LIMIT:
        raise ValueError("a raffle lasts between 1 minute and 30 days")
    return seconds


def describe(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
