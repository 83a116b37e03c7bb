"""Ticket rows. ``Repository`` subclasses name their table; queries are written once here."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Repository:
    TABLE = ""
    COLUMNS: tuple[str, ...] = ()
    KEY = "id"

    def __init__(self, ctx):
        self.ctx = ctx

    def _select(self) -> str:
        return f"SELECT {', '.join(self.COLUMNS)} FROM {self.TABLE}"

    def get(self, key):
        return self.ctx.sql.query_one(f"{self._select()} WHERE {self.KEY} = $1", [key])

    def where(self, **filters) -> list[dict]:
        clauses = []
        params = []
        for column in sorted(filters):
            if column not in self.COLUMNS:
                raise KeyError(column)
            params.append(filters[column])
            clauses.append(f"{column} = ${len(params)}")
        sql = self._select()
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return self.ctx.sql.query(sql + f" ORDER BY {self.KEY}", params)


class Tickets(Repository):
    TABLE = "tickets"
    COLUMNS = ("id", "channel_id", "opener_id", "topic", "status", "claimed_by", "opened_at", "closed_at")

    def create_table(self) -> None:
        self.ctx.sql.execute(
            f"CREATE TABLE IF NOT EXISTS {self.TABLE} ("
            "id INTEGER PRIMARY KEY, channel_id TEXT, opener_id TEXT NOT NULL, topic TEXT NOT NULL, "
            "status TEXT NOT NULL DEFAULT 'open', claimed_by TEXT, opened_at TEXT NOT NULL, closed_at TEXT)"
        )

    def open(self, opener_id: str, topic: str) -> int:
        self.ctx.sql.execute(
            f"INSERT INTO {self.TABLE} (opener_id, topic, opened_at) VALUES ($1, $2, $3)", [opener_id, topic, now()]
        )
        return self.ctx.sql.scalar(f"SELECT MAX(id) FROM {self.TABLE} WHERE opener_id = $1", [opener_id])

    def attach_channel(self, ticket_id: int, channel_id: str) -> None:
        self.ctx.sql.execute(f"UPDATE {self.TABLE} SET channel_id = $1 WHERE id = $2", [channel_id, ticket_id])

    def by_channel(self, channel_id: str):
        rows = self.where(channel_id=channel_id, status="open")
        return rows[0] if rows else None

    def close(self, ticket_id: int) -> None:
        self.ctx.sql.execute(
            f"UPDATE {self.TABLE} SET status = 'closed', closed_at = $1 WHERE id = $2", [now(), ticket_id]
        )

    def claim(self, ticket_id: int, staff_id: str) -> None:
        self.ctx.sql.execute(f"UPDATE {self.TABLE} SET claimed_by = $1 WHERE id = $2", [staff_id, ticket_id])
