"""A ``limits`` storage on PostgreSQL: one moving window per key shared by every node, for clusters without Redis.

``limits.storage_uri = "postgresql://…"`` (the cluster's database) makes the
rate limits hold across nodes as ``redis://`` does. Registered with ``limits``
under ``async+postgresql`` / ``async+postgres`` when this module is imported.

A window is one row: the timestamps of its entries, newest first, as Redis keeps
them in a list. Taking an entry is one call of ``limits_acquire``, which locks
the row, drops what left the window and appends only if the limit allows, so two
nodes racing for the last unit get one. Times come from the database server's
clock, so nodes with skewed clocks share one window. Rows are deleted once their
window is over (every ``SWEEP_SECONDS``, by whichever process sweeps). The tables
are created on first use, idempotently under an advisory lock.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import psycopg
from limits.aio.storage import MovingWindowSupport, Storage
from psycopg_pool import AsyncConnectionPool

SWEEP_SECONDS = 60.0
_SCHEMA_LOCK = 0x6D61_6964_6C69_6D74  # advisory lock key ("maidlimt")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS limits_windows (
    key text PRIMARY KEY, entries double precision[] NOT NULL, expires_at double precision NOT NULL);
CREATE INDEX IF NOT EXISTS limits_windows_by_expiry ON limits_windows (expires_at);
CREATE TABLE IF NOT EXISTS limits_counters (
    key text PRIMARY KEY, count bigint NOT NULL, expires_at double precision NOT NULL);

-- Take p_amount entries in the moving window p_key (p_limit per p_expiry seconds) if they fit.
CREATE OR REPLACE FUNCTION limits_acquire(p_key text, p_limit integer, p_expiry double precision, p_amount integer)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_now double precision := extract(epoch FROM clock_timestamp());
    v_kept double precision[];
BEGIN
    IF p_amount > p_limit THEN
        RETURN false;
    END IF;
    INSERT INTO limits_windows (key, entries, expires_at) VALUES (p_key, '{}', v_now + p_expiry)
        ON CONFLICT DO NOTHING;
    SELECT ARRAY(SELECT e FROM unnest(w.entries) AS e WHERE e > v_now - p_expiry ORDER BY e DESC)
      INTO v_kept FROM limits_windows w WHERE w.key = p_key FOR UPDATE;
    IF coalesce(array_length(v_kept, 1), 0) + p_amount > p_limit THEN
        RETURN false;
    END IF;
    UPDATE limits_windows SET entries = array_fill(v_now, ARRAY[p_amount]) || v_kept, expires_at = v_now + p_expiry
     WHERE key = p_key;
    RETURN true;
END $$;
"""


class PostgresStorage(Storage, MovingWindowSupport):
    """``limits.aio`` storage on PostgreSQL (moving windows; fixed-window counters for completeness)."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["async+postgresql", "async+postgres"]

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        key_prefix: str = "maidcore",
        max_connections: int = 8,
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.url = "postgresql://" + uri.split("://", 1)[1]
        self.prefix = key_prefix
        self.max_connections = max_connections
        self._pool: AsyncConnectionPool | None = None
        self._opening = asyncio.Lock()
        self._next_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (psycopg.Error, OSError, TimeoutError)

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def _rows(self, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        async with asyncio.timeout(5.0):
            pool = self._pool or await self._open()
            async with pool.connection() as conn:
                cur = await conn.execute(query, params)
                rows = await cur.fetchall() if cur.description is not None else []
            if time.monotonic() >= self._next_sweep:
                self._next_sweep = time.monotonic() + SWEEP_SECONDS
                async with pool.connection() as conn:
                    for table in ("limits_windows", "limits_counters"):
                        await conn.execute(
                            f"DELETE FROM {table} WHERE expires_at < extract(epoch FROM clock_timestamp())"
                        )
            return rows

    async def _open(self) -> AsyncConnectionPool:
        async with self._opening:
            if self._pool is None:
                pool = AsyncConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.max_connections,
                    open=False,
                    timeout=5.0,
                    kwargs={"autocommit": True, "connect_timeout": 2, "application_name": "maidcore-limits"},
                )
                try:
                    await pool.open(wait=True, timeout=5.0)
                    async with pool.connection() as conn, conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                        await conn.execute(_SCHEMA)
                except BaseException:
                    await pool.close()  # no reconnecting in the background: the next call tries again
                    raise
                self._pool = pool
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # --- moving windows (what maidcore's limiter uses) ------------------------------------

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        rows = await self._rows("SELECT limits_acquire(%s, %s, %s, %s)", (self._key(key), limit, expiry, amount))
        return bool(rows[0][0])

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        rows = await self._rows(
            "SELECT min(e), count(e), extract(epoch FROM clock_timestamp()) FROM limits_windows w, unnest(w.entries) e "
            "WHERE w.key = %s AND e > extract(epoch FROM clock_timestamp()) - %s",
            (self._key(key), expiry),
        )
        oldest, count, now = rows[0]
        return (float(oldest) if oldest is not None else float(now)), int(count)

    async def nth_newest(self, key: str, index: int) -> float | None:
        """The time of the window's entry ``index`` (0 = newest), None past its end: when a call of cost
        ``limit - index`` may pass, exactly (as the limiter reads Redis's list with LINDEX)."""
        rows = await self._rows("SELECT entries[%s] FROM limits_windows WHERE key = %s", (index + 1, self._key(key)))
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    # --- fixed-window counters (the rest of the storage contract) -------------------------------

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        rows = await self._rows(
            "INSERT INTO limits_counters AS c (key, count, expires_at) "
            "VALUES (%(k)s, %(n)s, extract(epoch FROM clock_timestamp()) + %(e)s) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN c.expires_at <= extract(epoch FROM clock_timestamp()) THEN 0 ELSE c.count END + %(n)s, "
            "expires_at = CASE WHEN c.expires_at <= extract(epoch FROM clock_timestamp()) "
            "THEN excluded.expires_at ELSE c.expires_at END RETURNING count",
            {"k": self._key(key), "n": amount, "e": expiry},
        )
        return int(rows[0][0])

    async def get(self, key: str) -> int:
        rows = await self._rows(
            "SELECT count FROM limits_counters WHERE key = %s AND expires_at > extract(epoch FROM clock_timestamp())",
            (self._key(key),),
        )
        return int(rows[0][0]) if rows else 0

    async def get_expiry(self, key: str) -> float:
        rows = await self._rows("SELECT expires_at FROM limits_counters WHERE key = %s", (self._key(key),))
        return float(rows[0][0]) if rows else time.time()

    async def check(self) -> bool:
        try:
            await self._rows("SELECT 1")
        except Exception:
            return False
        return True

    async def reset(self) -> int | None:
        like = self.prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"
        gone = 0
        for table in ("limits_windows", "limits_counters"):
            rows = await self._rows(
                f"WITH d AS (DELETE FROM {table} WHERE key LIKE %s RETURNING 1) SELECT count(*) FROM d", (like,)
            )
            gone += int(rows[0][0])
        return gone

    async def clear(self, key: str) -> None:
        for table in ("limits_windows", "limits_counters"):
            await self._rows(f"DELETE FROM {table} WHERE key = %s", (self._key(key),))
