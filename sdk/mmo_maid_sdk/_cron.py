"""Five-field cron specs (contract §3.4): parse, match a UTC minute, find the next firing."""

from __future__ import annotations

import datetime as _dt
import re

__all__ = ["CronSpec"]

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))
_UTC = _dt.timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11; the SDK supports 3.10
_ITEM = re.compile(r"(\*|\d+|\d+-\d+)(?:/(\d+))?")


def _parse_field(text: str, name: str, lo: int, hi: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        m = _ITEM.fullmatch(item)
        if not m:
            raise ValueError(f"invalid cron {name} item {item!r}: use *, */S, N, N-M or N-M/S")
        base, step_text = m.groups()
        if step_text is not None and "-" not in base and base != "*":
            raise ValueError(f"invalid cron {name} item {item!r}: N/S is not supported, write N-M/S")
        step = int(step_text) if step_text is not None else 1
        if step < 1:
            raise ValueError(f"invalid cron {name} item {item!r}: the step must be >= 1")
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            start, end = (int(x) for x in base.split("-"))
            if start > end:
                raise ValueError(f"invalid cron {name} range {base!r}: N must be <= M")
        else:
            start = end = int(base)
        if start < lo or end > hi:
            raise ValueError(f"invalid cron {name} value in {item!r}: allowed {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


class CronSpec:
    """A parsed spec; ``matches(dt)`` for a UTC minute, ``next_after(dt)`` for the following firing."""

    def __init__(self, spec: str) -> None:
        if not isinstance(spec, str):
            raise ValueError(f"cron spec must be a string, got {type(spec).__name__}")
        parts = spec.split()
        if len(parts) != 5:
            raise ValueError(f"invalid cron spec {spec!r}: expected 5 fields (minute hour day month weekday)")
        self.spec = spec
        sets = [_parse_field(p, *f) for p, f in zip(parts, _FIELDS, strict=True)]
        self.minutes, self.hours, self.days, self.months, self.weekdays = sets
        self.dom_restricted = parts[2] != "*"
        self.dow_restricted = parts[4] != "*"
        start = _dt.datetime(2026, 1, 1, tzinfo=_UTC)
        # Every day-of-year pattern repeats within a leap-year-spanning window; 366 days from a
        # non-leap start misses Feb 29, so scan four years of dates once (cheap: ~1,500 days).
        if not any(self._day_matches((start + _dt.timedelta(days=d)).date()) for d in range(4 * 366)):
            raise ValueError(f"invalid cron spec {spec!r}: it can never fire")

    def _day_matches(self, day: _dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow

    def matches(self, when: _dt.datetime) -> bool:
        when = when.astimezone(_UTC) if when.tzinfo else when
        return when.minute in self.minutes and when.hour in self.hours and self._day_matches(when.date())

    def next_after(self, when: _dt.datetime) -> _dt.datetime:
        """The first matching minute strictly after ``when`` (UTC)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=_UTC)
        t = when.astimezone(_UTC).replace(second=0, microsecond=0) + _dt.timedelta(minutes=1)
        for _ in range(4 * 366 + 1):
            if self._day_matches(t.date()):
                for h in sorted(self.hours):
                    if h < t.hour:
                        continue
                    for m in sorted(self.minutes):
                        if h == t.hour and m < t.minute:
                            continue
                        return t.replace(hour=h, minute=m)
            t = (t + _dt.timedelta(days=1)).replace(hour=0, minute=0)
        raise ValueError(f"cron spec {self.spec!r} never fires")

    def wait_seconds(self, now: _dt.datetime, cap: float = 600.0) -> float:
        """How long the in-process fallback sleeps before looking again: until the next firing, at most ``cap``."""
        return min(max((self.next_after(now) - now).total_seconds(), 0.0), cap)

    def __repr__(self) -> str:
        return f"CronSpec({self.spec!r})"
