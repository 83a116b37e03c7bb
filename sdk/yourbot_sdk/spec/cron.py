"""The cron dialect: five UTC fields, how they are parsed and matched, and the manifest's cron rules.

``minute hour day-of-month month day-of-week`` (0-59, 0-23, 1-31, 1-12, 0-6 with 0 = Sunday),
whitespace-separated. Each field is a comma list of ``*``, ``*/S``, ``N``, ``N-M``, ``N-M/S``
or ``N/S`` (which is just ``N``). No names, ``?``, ``L``, ``W`` or ``#``. When both
day-of-month and day-of-week are restricted a day matches if either does, as in Vixie cron.
``@plugin.cron`` accepts exactly what ``CronSpec`` parses; the manifest adds the rules below.
"""

from __future__ import annotations

import datetime as _dt
import itertools

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "FIELDS",
    "MAX_CRON_ENTRIES",
    "MIN_CRON_INTERVAL_MINUTES",
    "CronSpec",
    "cron_entry_problems",
    "cron_spec_problem",
    "parse_cron",
]

#: ``(name, low, high)`` of the five fields, in order.
FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 6),
)
#: A manifest lists at most this many cron entries.
MAX_CRON_ENTRIES = 5
#: Consecutive firings of one manifest spec are at least this many minutes apart (midnight wrap included).
MIN_CRON_INTERVAL_MINUTES = 5

_UTC = _dt.timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11; the SDK supports 3.10
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _number(text: str, field: str, item: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"cron {field}: {item!r} is not a number, N-M range, * or step (names are not supported)")
    return int(text)


def _parse_field(text: str, field: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            step = _number(step_text, field, item)
            if step < 1:
                raise ValueError(f"cron {field}: the step in {item!r} must be at least 1")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, field, item), _number(last, field, item)
            if start > end:
                raise ValueError(f"cron {field}: range {base!r} runs backwards; write N-M with N <= M")
        else:
            start = end = _number(base, field, item)
        if start < low or end > high:
            raise ValueError(f"cron {field}: {item!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


class CronSpec:
    """A parsed spec: ``matches(dt)`` for a UTC minute, ``next_after(dt)`` for the following firing.

    ``CronSpec(text)`` raises ``ValueError`` naming the field that is wrong.
    """

    __slots__ = ("days", "dom_restricted", "dow_restricted", "hours", "minutes", "months", "spec", "weekdays")

    def __init__(self, spec: str) -> None:
        if not isinstance(spec, str):
            raise ValueError(f"a cron spec is a string such as '0 9 * * *', got {type(spec).__name__}")
        parts = spec.split()
        if len(parts) != 5:
            raise ValueError(
                f"cron spec {spec!r} has {len(parts)} fields; it needs 5: minute hour day-of-month month day-of-week"
            )
        self.spec = spec
        sets = [_parse_field(p, *f) for p, f in zip(parts, FIELDS, strict=True)]
        self.minutes, self.hours, self.days, self.months, self.weekdays = sets
        self.dom_restricted = parts[2] != "*"
        self.dow_restricted = parts[4] != "*"

    # -- matching ---------------------------------------------------------------------------

    def day_matches(self, day: _dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow

    def matches(self, when: _dt.datetime) -> bool:
        """Whether the UTC minute holding ``when`` fires (naive datetimes are read as UTC)."""
        when = when.astimezone(_UTC) if when.tzinfo else when
        return when.minute in self.minutes and when.hour in self.hours and self.day_matches(when.date())

    def can_fire(self) -> bool:
        """``False`` for specs no calendar date satisfies, such as ``0 0 31 2 *``."""
        if self.dow_restricted:  # every weekday occurs in every month
            return True
        return any(day <= _MONTH_DAYS[month - 1] for month in self.months for day in self.days)

    def next_after(self, when: _dt.datetime) -> _dt.datetime:
        """The first matching minute strictly after ``when`` (UTC); ``ValueError`` if the spec never fires."""
        if not self.can_fire():
            raise ValueError(f"cron spec {self.spec!r} never fires")
        if when.tzinfo is None:
            when = when.replace(tzinfo=_UTC)
        t = when.astimezone(_UTC).replace(second=0, microsecond=0) + _dt.timedelta(minutes=1)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for _ in range(8 * 366 + 1):  # Feb 29 with a weekday restriction can take years
            if self.day_matches(t.date()):
                for h in hours:
                    if h < t.hour:
                        continue
                    for m in minutes:
                        if h == t.hour and m < t.minute:
                            continue
                        return t.replace(hour=h, minute=m)
            t = (t + _dt.timedelta(days=1)).replace(hour=0, minute=0)
        raise ValueError(f"cron spec {self.spec!r} never fires")

    def wait_seconds(self, now: _dt.datetime, cap: float = 600.0) -> float:
        """How long an in-process scheduler sleeps before looking again: until the next firing, at most ``cap``."""
        return min(max((self.next_after(now) - now).total_seconds(), 0.0), cap)

    # -- the manifest's spacing rule ----------------------------------------------------------

    def firings_per_day(self) -> list[int]:
        """Minutes after midnight at which this spec can fire on a day it fires, ascending."""
        return sorted(h * 60 + m for h in self.hours for m in self.minutes)

    def min_gap_minutes(self) -> int:
        """The shortest gap between consecutive firings, across midnight too (1440 for once a day)."""
        firings = self.firings_per_day()
        gaps = [b - a for a, b in itertools.pairwise(firings)]
        gaps.append(firings[0] + 1440 - firings[-1])
        return min(gaps)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronSpec) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def __repr__(self) -> str:
        return f"CronSpec({self.spec!r})"


def parse_cron(spec: str) -> CronSpec:
    """``CronSpec(spec)``: the one parser the decorator, ``validate`` and the host share."""
    return CronSpec(spec)


def cron_entry_problems(entry: Any) -> list[str]:
    """What is wrong with one manifest ``cron`` entry ``{"name": <function>, "spec": <cron>}`` (empty when fine)."""
    if not isinstance(entry, dict):
        return ['a cron entry is an object {"name": "<function name>", "spec": "<cron spec>"}']
    problems = []
    name = entry.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        problems.append(f"name {name!r} must be the name of the @plugin.cron function (a Python identifier)")
    problem = cron_spec_problem(entry.get("spec"))
    if problem:
        problems.append(problem)
    return problems


def cron_spec_problem(spec: Any) -> str | None:
    """Why a manifest cron spec is refused (syntax, never fires, firings under the minimum gap); ``None`` if fine."""
    try:
        parsed = CronSpec(spec)
    except ValueError as exc:
        return str(exc)
    if not parsed.can_fire():
        return f"cron spec {spec!r} never fires: no month has those days"
    if parsed.min_gap_minutes() < MIN_CRON_INTERVAL_MINUTES:
        return (
            f"cron spec {spec!r} fires {parsed.min_gap_minutes()} minute(s) apart; "
            f"firings must be at least {MIN_CRON_INTERVAL_MINUTES} minutes apart"
        )
    return None
