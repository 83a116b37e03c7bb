"""XP rows and reward roles in SQL. Table and column names are constants; values are always bound."""

from __future__ import annotations

TABLE = "member_xp"
REWARDS = "level_rewards"
PAGE_SIZE = 10

SCHEMA = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(user_id TEXT PRIMARY KEY, xp INTEGER NOT NULL DEFAULT 0, messages INTEGER NOT NULL DEFAULT 0)",
    f"CREATE TABLE IF NOT EXISTS {REWARDS} (level INTEGER PRIMARY KEY, role_id TEXT NOT NULL)",
]


class XpStore:
    """Reads and writes XP for one server through its ctx."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.sql = ctx.sql

    def ensure_schema(self) -> None:
        for statement in SCHEMA:
            self.sql.execute(statement)

    def add(self, user_id: str, amount: int) -> int:
        self.sql.execute(
            f"INSERT INTO {TABLE} (user_id, xp, messages) VALUES ($1, $2, 1) "
            "ON CONFLICT (user_id) DO UPDATE SET xp = xp + $2, messages = messages + 1",
            [user_id, amount],
        )
        return self.total(user_id)

    def total(self, user_id: str) -> int:
        return self.sql.scalar(f"SELECT xp FROM {TABLE} WHERE user_id = $1", [user_id]) or 0

    def position(self, user_id: str) -> int:
        return (self.sql.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE xp > $1", [self.total(user_id)]) or 0) + 1

    def page(self, number: int) -> list[dict]:
        offset = (max(1, number) - 1) * PAGE_SIZE
        return self.sql.query(
            f"SELECT user_id, xp FROM {TABLE} ORDER BY xp DESC LIMIT $1 OFFSET $2", [PAGE_SIZE, offset]
        )

    def decay(self, percent: int) -> int:
        keep = (100 - percent) / 100
        return self.sql.execute(f"UPDATE {TABLE} SET xp = CAST(xp * $1 AS INTEGER)", [keep])

    def set_reward(self, level: int, role_id: str) -> None:
        self.sql.execute(
            f"INSERT INTO {REWARDS} (level, role_id) VALUES ($1, $2) ON CONFLICT (level) DO UPDATE SET role_id = $2",
            [level, role_id],
        )

    def rewards_up_to(self, level: int) -> list[str]:
        rows = self.sql.query(f"SELECT role_id FROM {REWARDS} WHERE level <= $1 ORDER BY level", [level])
        return [row["role_id"] for row in rows]
