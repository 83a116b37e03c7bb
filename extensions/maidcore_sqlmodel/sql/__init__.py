"""``ctx.sql`` (§4.5): a private SQL space per (plugin, server)."""

from __future__ import annotations

from pathlib import Path

from maidcore.errors import RpcFailure
from maidcore.settings import StorageSettings
from maidcore_sqlmodel.database import Database


class _Unavailable:
    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def execute(self, scope, sql, params):
        raise RpcFailure("sql storage is not available on this node yet")

    async def query(self, scope, sql, params, limit):
        raise RpcFailure("sql storage is not available on this node yet")


def make_sql_sandbox(db: Database, settings: StorageSettings, data_dir: Path, master_key: bytes):
    return _Unavailable()
