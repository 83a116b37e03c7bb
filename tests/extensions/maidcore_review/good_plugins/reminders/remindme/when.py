"""Reading "in 2h30m", "tomorrow 09:00" or "2026-03-01 18:00" as a UTC time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

RELATIVE = re.compile(r"^in\s+((?:\d+\s*[smhdw]\s*)+)$", re.IGNORECASE)
PIECE = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
CLOCK = re.compile(r"^(today|tomorrow)\s+(\d{1,2}):(\d{2})$", re.IGNORECASE)
STEP = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse(text: str, now: datetime) -> datetime:
    text = " ".join(text.split())
    match = RELATIVE.match(text)
    if match:
        delta = timedelta()
        for amount, unit in PIECE.findall(match.group(1)):
            delta += timedelta(**{STEP[unit.lower()]: int(amount)})
        return now + delta
    match = CLOCK.match(text)
    if match:
        day = now.date() + timedelta(days=1 if match.group(1).lower() == "tomorrow" else 0)
        return datetime(day.year, day.month, day.day, int(match.group(2)), int(match.group(3)), tzinfo=UTC)
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"I could not read {text!r}; try 'in 10m', 'tomorrow 09:00' or '2026-03-01 18:00'") from None


def humanise(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"
