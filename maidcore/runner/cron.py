"""Cron specs of contract §3.4: five UTC fields, ``*``, ``*/S``, ``N``, ``N-M``, ``N-M/S``, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def _field(text: str, index: int) -> frozenset[int]:
    low, high = _RANGES[index]
    values: set[int] = set()
    for item in text.split(","):
        step = 1
        if "/" in item:
            item, step_text = item.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"cron {_NAMES[index]}: step {step_text!r} must be an integer >= 1")
            step = int(step_text)
            if item != "*" and "-" not in item:
                raise ValueError(f"cron {_NAMES[index]}: N/S is not allowed, use N-M/S")
        if item == "*":
            start, end = low, high
        elif "-" in item:
            a, b = item.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                raise ValueError(f"cron {_NAMES[index]}: {item!r} is not a range N-M")
            start, end = int(a), int(b)
        elif item.isdigit():
            start = end = int(item)
        else:
            raise ValueError(f"cron {_NAMES[index]}: {item!r} is not a number, range or *")
        if not (low <= start <= end <= high):
            raise ValueError(f"cron {_NAMES[index]}: {item!r} must lie within {low}-{high} with N <= M")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSpec:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, spec: str) -> CronSpec:
        fields = spec.split()
        if len(fields) != 5:
            raise ValueError(f"cron spec {spec!r} must have 5 fields (minute hour day-of-month month day-of-week)")
        parsed = [_field(f, i) for i, f in enumerate(fields)]
        return cls(*parsed, days_restricted=fields[2] != "*", weekdays_restricted=fields[4] != "*")

    def matches(self, when: datetime) -> bool:
        """Whether the UTC minute ``when`` fires."""
        if when.minute not in self.minutes or when.hour not in self.hours or when.month not in self.months:
            return False
        day_ok = when.day in self.days
        weekday_ok = (when.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok
