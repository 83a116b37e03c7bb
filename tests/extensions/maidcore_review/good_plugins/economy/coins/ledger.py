"""Balances and the ledger. A transfer is one statement per side plus a ledger row."""

from __future__ import annotations

from dataclasses import dataclass


class InsufficientFunds(Exception):
    pass


@dataclass(frozen=True)
class Tables:
    accounts: str = "eco_accounts"
    ledger: str = "eco_ledger"


TABLES = Tables()


class Ledger:
    def __init__(self, ctx, tables: Tables = TABLES):
        self.sql = ctx.sql
        self.t = tables

    def setup(self) -> None:
        self.sql.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t.accounts} ("
            "user_id TEXT PRIMARY KEY, coins INTEGER NOT NULL DEFAULT 0, "
            "streak INTEGER NOT NULL DEFAULT 0, last_daily TEXT)"
        )
        self.sql.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t.ledger} ("
            "id INTEGER PRIMARY KEY, from_id TEXT, to_id TEXT, amount INTEGER, reason TEXT)"
        )

    def account(self, user_id: str) -> dict:
        self.sql.execute(
            f"INSERT INTO {self.t.accounts} (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING", [user_id]
        )
        return self.sql.query_one(
            f"SELECT user_id, coins, streak, last_daily FROM {self.t.accounts} WHERE user_id = $1", [user_id]
        )

    def _move(self, user_id: str, delta: int) -> None:
        self.sql.execute(f"UPDATE {self.t.accounts} SET coins = coins + $1 WHERE user_id = $2", [delta, user_id])

    def credit(self, user_id: str, amount: int, reason: str) -> None:
        self.account(user_id)
        self._move(user_id, amount)
        self.sql.execute(
            f"INSERT INTO {self.t.ledger} (from_id, to_id, amount, reason) VALUES (NULL, $1, $2, $3)",
            [user_id, amount, reason],
        )

    def transfer(self, from_id: str, to_id: str, amount: int, reason: str) -> None:
        if amount <= 0:
            raise ValueError("amounts are positive")
        changed = self.sql.execute(
            f"UPDATE {self.t.accounts} SET coins = coins - $1 WHERE user_id = $2 AND coins >= $1", [amount, from_id]
        )
        if not changed:
            raise InsufficientFunds(from_id)
        self.account(to_id)
        self._move(to_id, amount)
        self.sql.execute(
            f"INSERT INTO {self.t.ledger} (from_id, to_id, amount, reason) VALUES ($1, $2, $3, $4)",
            [from_id, to_id, amount, reason],
        )

    def set_daily(self, user_id: str, streak: int, day: str) -> None:
        self.sql.execute(
            f"UPDATE {self.t.accounts} SET streak = $1, last_daily = $2 WHERE user_id = $3", [streak, day, user_id]
        )
