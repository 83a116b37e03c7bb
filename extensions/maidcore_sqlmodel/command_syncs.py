"""``SqlCommandSyncStore``: the digest of the slash commands last synced to each server, per application."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from maidcore_sqlmodel.database import Database


class SqlCommandSyncStore:
    """``CommandSyncStore`` over the ``command_syncs`` table (one row per application and server)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def digests(self, application_id: str) -> dict[str, str]:
        return await self.db.run(self._digests, application_id)

    def _digests(self, conn: Any, application_id: str) -> dict[str, str]:
        sql = self.db.sql("SELECT server_id, digest FROM command_syncs WHERE application_id = ?")
        return {server: digest for server, digest in conn.execute(sql, (application_id,)).fetchall()}

    async def digest(self, application_id: str, server_id: str) -> str | None:
        return await self.db.run(self._digest, application_id, server_id)

    def _digest(self, conn: Any, application_id: str, server_id: str) -> str | None:
        sql = self.db.sql("SELECT digest FROM command_syncs WHERE application_id = ? AND server_id = ?")
        row = conn.execute(sql, (application_id, server_id)).fetchone()
        return row[0] if row is not None else None

    async def put(self, application_id: str, digests: Mapping[str, str]) -> None:
        await self.db.run(self._put, application_id, dict(digests))

    def _put(self, conn: Any, application_id: str, digests: dict[str, str]) -> None:
        sql = self.db.sql(
            "INSERT INTO command_syncs (application_id, server_id, digest, synced_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (application_id, server_id) "
            "DO UPDATE SET digest = excluded.digest, synced_at = excluded.synced_at"
        )
        now = time.time()
        rows = [(application_id, server, digest, now) for server, digest in sorted(digests.items())]
        with self.db.write(conn):
            conn.cursor().executemany(sql, rows)
