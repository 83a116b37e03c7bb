"""Building report queries from fixed fragments: filters add a clause and bind their value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from . import tables

PERIODS = {"day": 0, "week": 6, "month": 29}
ORDER_BY = {"messages": "messages DESC", "words": "words DESC"}


@dataclass
class Report:
    """``WHERE`` clauses with ``$n`` placeholders and their values, in order."""

    clauses: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)

    def where(self, fragment: str, value) -> Report:
        self.params.append(value)
        self.clauses.append(fragment.format(n=len(self.params)))
        return self

    def where_sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""

    def bind(self, value) -> str:
        self.params.append(value)
        return f"${len(self.params)}"


def top_members(*, channel=None, member=None, period="week", sort="messages", today=None, limit=10):
    report = Report()
    if channel:
        report.where("channel_id = ${n}", str(channel))
    if member:
        report.where("author_id = ${n}", str(member))
    if period in PERIODS:
        since = (today or date.today()) - timedelta(days=PERIODS[period])
        report.where("day >= ${n}", since.isoformat())
    order = ORDER_BY.get(sort, ORDER_BY["messages"])
    sql = (
        f"SELECT author_id, COUNT(*) AS messages, SUM(words) AS words FROM {tables.MESSAGES}"
        + report.where_sql()
        + f" GROUP BY author_id ORDER BY {order} LIMIT {report.bind(limit)}"
    )
    return sql, report.params


def in_list(column: str, values: list) -> tuple[str, list]:
    """``column IN ($1, $2, ...)`` for a list of values."""
    marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    return f"{column} IN ({marks})", list(values)
