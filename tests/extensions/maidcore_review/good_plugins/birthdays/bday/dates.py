"""Calendar helpers: validation (29 February allowed) and 'days until'."""

from __future__ import annotations

import calendar
from datetime import date

MONTHS = list(calendar.month_name)


def valid(day: int, month: int) -> bool:
    if not 1 <= month <= 12:
        return False
    return 1 <= day <= (29 if month == 2 else calendar.monthrange(2023, month)[1])


def next_occurrence(day: int, month: int, today: date) -> date:
    year = today.year
    while True:
        if month == 2 and day == 29 and not calendar.isleap(year):
            candidate = date(year, 3, 1)
        else:
            candidate = date(year, month, day)
        if candidate >= today:
            return candidate
        year += 1


def label(day: int, month: int) -> str:
    return f"{day} {MONTHS[month]}"
