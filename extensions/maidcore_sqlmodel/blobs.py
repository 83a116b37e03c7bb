"""``SqlBlobStore``: archives (bundles, prepared sites) kept in the platform database by content hash.

A blob is written as chunks of at most ``CHUNK_BYTES`` and then its ``blobs``
row, in one transaction: a reader that finds the row finds every chunk. Two
nodes storing the same digest at once both succeed (the second writes nothing).
The core names and checks the digests (``maidcore.bundles``); this store only
keeps bytes under them.

Garbage collection (``sweep``, run with the storage sweeps on one node per
interval): a blob no version names is first marked (``unreferenced_since``),
and deleted by a later sweep once the mark is older than the grace period and
still nothing names it. Storing a digest again, or ``touch``, clears the mark
in the same row, so a publish that reuses a blob while a sweep runs either
clears the mark before the delete (the delete skips the row) or waits for the
delete and then stores the blob anew: it is never lost.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maidcore_sqlmodel.database import Database

#: One row of ``blob_chunks``: small enough for any driver to hold, big enough to keep rows few.
CHUNK_BYTES = 1024 * 1024


class SqlBlobStore:
    """``BlobStore`` over the ``blobs``/``blob_chunks`` tables of the platform database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def has(self, digest: str) -> bool:
        return await self.db.run(self._has, digest)

    def _has(self, conn: Any, digest: str) -> bool:
        return conn.execute(self.db.sql("SELECT 1 FROM blobs WHERE digest = ?"), (digest,)).fetchone() is not None

    async def touch(self, digest: str) -> bool:
        """Whether ``digest`` is stored; if so it counts as just stored (no sweep collects it within the grace)."""
        return await self.db.run(self._touch, digest)

    def _touch(self, conn: Any, digest: str) -> bool:
        sql = self.db.sql("UPDATE blobs SET unreferenced_since = NULL WHERE digest = ?")
        with self.db.write(conn, single=True):
            return conn.execute(sql, (digest,)).rowcount > 0

    async def put(self, digest: str, source: Path) -> None:
        """Store the file ``source`` under ``digest``; a digest already stored is kept as it is (and touched)."""
        await self.db.run(self._put, digest, Path(source))

    def _put(self, conn: Any, digest: str, source: Path) -> None:
        sql = self.db.sql
        size = os.path.getsize(source)
        with self.db.write(conn):
            # an UPDATE, not a read: it waits for a sweep deleting this row, and a sweep after it skips the row
            if conn.execute(sql("UPDATE blobs SET unreferenced_since = NULL WHERE digest = ?"), (digest,)).rowcount:
                return
            seq = 0
            with source.open("rb") as file:
                while chunk := file.read(CHUNK_BYTES):
                    conn.execute(
                        sql("INSERT INTO blob_chunks (digest, seq, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
                        (digest, seq, chunk),
                    )
                    seq += 1
            conn.execute(
                sql("INSERT INTO blobs (digest, size, chunks, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                (digest, size, seq, _now(self.db)),
            )

    async def fetch(self, digest: str, dest: Path) -> bool:
        """Write the blob to the file ``dest``; ``False`` (and no file) when no blob has that digest."""
        return await self.db.run(self._fetch, digest, Path(dest))

    def _fetch(self, conn: Any, digest: str, dest: Path) -> bool:
        sql = self.db.sql
        row = conn.execute(sql("SELECT size, chunks FROM blobs WHERE digest = ?"), (digest,)).fetchone()
        if row is None:
            return False
        size, chunks = row
        with dest.open("wb") as file:
            for seq in range(chunks):  # one chunk at a time: a big site never sits in memory whole
                part = conn.execute(
                    sql("SELECT data FROM blob_chunks WHERE digest = ? AND seq = ?"), (digest, seq)
                ).fetchone()
                if part is None:
                    raise OSError(f"blob {digest} is missing chunk {seq} of {chunks} in the database")
                file.write(bytes(part[0]))
        if os.path.getsize(dest) != size:
            raise OSError(f"blob {digest} read back {os.path.getsize(dest)} bytes from the database, expected {size}")
        return True

    async def sweep(self, grace_seconds: float, now: float | None = None) -> list[str]:
        """Mark blobs no version names; delete those marked over ``grace_seconds`` ago and still unnamed.

        Returns the digests deleted.
        """
        return await self.db.run(self._sweep, grace_seconds, time.time() if now is None else now)

    def _sweep(self, conn: Any, grace_seconds: float, now: float) -> list[str]:
        sql = self.db.sql
        named = (
            "EXISTS (SELECT 1 FROM plugin_versions v WHERE v.bundle_digest = blobs.digest "
            "OR v.site_digest = blobs.digest)"
        )
        with self.db.write(conn):
            conn.execute(
                sql(f"UPDATE blobs SET unreferenced_since = NULL WHERE unreferenced_since IS NOT NULL AND {named}")
            )
            conn.execute(
                sql(f"UPDATE blobs SET unreferenced_since = ? WHERE unreferenced_since IS NULL AND NOT {named}"), (now,)
            )
            gone = [
                row[0]
                for row in conn.execute(
                    sql(f"DELETE FROM blobs WHERE unreferenced_since < ? AND NOT {named} RETURNING digest"),
                    (now - grace_seconds,),
                ).fetchall()
            ]
            for digest in gone:
                conn.execute(sql("DELETE FROM blob_chunks WHERE digest = ?"), (digest,))
        return gone


def _now(db: Database) -> Any:
    now = datetime.now(UTC)
    return now.replace(tzinfo=None).isoformat(sep=" ") if db.dialect == "sqlite" else now
