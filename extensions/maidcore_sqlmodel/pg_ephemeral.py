"""``ctx.ephemeral`` shared through PostgreSQL: for clusters that run a database and no Redis.

``storage.ephemeral_url = "postgresql://…"`` (the cluster's database, or another) gives every node the
same counters, cooldowns, dedup marks and flags, with exactly the semantics of ``MemoryEphemeral`` and
``RedisEphemeral`` (``maidcore_sqlmodel.ephemeral``): key checks, TTLs clamped to 1-86400 s, at most
``max_keys`` live keys per (plugin, server) (``QUOTA_EXCEEDED`` past it, whichever node adds the key), a
counter in at most ``counter_slots`` entries and a tenant's counters in about ``counter_entries``
together (``_Window``'s rule, in PL/pgSQL).

Each primitive is one statement: a check is one ``SELECT``, a change is one call of a PL/pgSQL function
(``eph_set``, ``eph_dedup``, ``eph_counter``) that first locks the tenant's row in ``eph_tenants``
(created on first use), so a tenant's changes are serialised across nodes and its quota is exact, while
other tenants are never waited for. That row keeps the tenant's number of live keys and of counter
entries; the function deletes the tenant's expired keys first (through an index by tenant and expiry,
so what a call costs depends on its own tenant's keys only). Every expiry is compared with the database
server's clock (``statement_timestamp()``), never a node's.

Fast, not durable (the contract of ``ctx.ephemeral``): the tables are ``UNLOGGED`` (no WAL: the
tables are empty again after a crash of the database server, and absent on its replicas), and the
store's connections commit with ``synchronous_commit = off`` (a commit does not wait for the flush of
its commit record, a disk sync: it would cost more than the change itself).
Expired rows of tenants that no longer call are
deleted by a sweep every ``SWEEP_SECONDS`` (each node runs one; ``eph_sweep`` takes the same tenant
locks), so the tables stay bounded by what is live.

The tables are created by the store itself at ``start`` (``CREATE … IF NOT EXISTS`` under an advisory
lock, skipped when ``eph_schema`` holds ``SCHEMA_VERSION``; ``maidcore.cluster.pg_coordinator``'s
helpers), not by the storage layer's Alembic migrations: the URL may name another database than
``storage.database_url``, and ephemeral state is no part of what storage migrates or backs up. Rows are
keyed by ``storage.ephemeral_prefix``, so installations can share a database as they share a Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from psycopg_pool import AsyncConnectionPool

from maidcore.cluster.pg_coordinator import CALL_TIMEOUT, connection_url, ensure_schema, open_pool, where
from maidcore.scope import Scope
from maidcore_sqlmodel.ephemeral import (
    DEFAULT_COUNTER_ENTRIES,
    DEFAULT_COUNTER_SLOTS,
    DEFAULT_MAX_KEYS,
    _full,
    check_key,
    clamp_ttl,
)

log = logging.getLogger("maidcore.storage")

SWEEP_SECONDS = 30.0  # how often a node deletes the expired keys of tenants that no longer call
SWEEP_BATCH = 500  # tenants purged per sweep statement (the next statement goes on)
SWEEP_STATEMENTS = 20  # statements per sweep at most
_SCHEMA_LOCK = 0x6D61_6964_6570_6865  # advisory lock key ("maidephe") serialising schema creation

# Bump when _SCHEMA changes: a node finding an older version re-runs it (every statement is idempotent).
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE UNLOGGED TABLE IF NOT EXISTS eph_schema (version integer NOT NULL);
-- one row per tenant with live keys: its lock orders the tenant's changes; keys and entries are its counts;
-- next_expiry is no later than its keys' earliest expiry (NULL: no key), so a call looks for expired keys
-- only when there may be some, and the sweep finds the tenants to purge without reading their keys
CREATE UNLOGGED TABLE IF NOT EXISTS eph_tenants (
    prefix text NOT NULL, plugin text NOT NULL, server text NOT NULL,
    keys integer NOT NULL DEFAULT 0, entries bigint NOT NULL DEFAULT 0, next_expiry timestamptz,
    PRIMARY KEY (prefix, plugin, server)) WITH (fillfactor = 50);
CREATE INDEX IF NOT EXISTS eph_tenants_by_next_expiry ON eph_tenants (next_expiry);
-- a live key; a counter's entries are (starts[i], hits[i]), oldest first, and total their sum
CREATE UNLOGGED TABLE IF NOT EXISTS eph_keys (
    prefix text NOT NULL, plugin text NOT NULL, server text NOT NULL, kind text NOT NULL, key text NOT NULL,
    expires_at timestamptz NOT NULL, starts double precision[], hits bigint[], total bigint,
    PRIMARY KEY (prefix, plugin, server, kind, key));
-- the only index by expiry is per tenant: a call never reads another tenant's expired keys
CREATE INDEX IF NOT EXISTS eph_keys_by_tenant_expiry ON eph_keys (prefix, plugin, server, expires_at);

-- Lock the tenant's row (created if need be) and delete its expired keys (their counters' entries with them).
-- Returns the row: the tenant's live keys and counter entries, which stay locked until the caller's end.
CREATE OR REPLACE FUNCTION eph_enter(p_prefix text, p_plugin text, p_server text)
RETURNS eph_tenants LANGUAGE plpgsql AS $$
DECLARE
    v_row eph_tenants;
    v_keys bigint;
    v_entries bigint;
BEGIN
    LOOP
        SELECT * INTO v_row FROM eph_tenants
         WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server FOR UPDATE;
        EXIT WHEN FOUND;
        -- new, or deleted by a sweep while we waited for its lock: create it and look again
        INSERT INTO eph_tenants (prefix, plugin, server) VALUES (p_prefix, p_plugin, p_server) ON CONFLICT DO NOTHING;
    END LOOP;
    IF v_row.next_expiry IS NULL OR v_row.next_expiry > statement_timestamp() THEN
        RETURN v_row;
    END IF;
    WITH gone AS (
        DELETE FROM eph_keys
         WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server AND expires_at <= statement_timestamp()
        RETURNING coalesce(array_length(starts, 1), 0) AS n)
    SELECT count(*), coalesce(sum(n), 0) INTO v_keys, v_entries FROM gone;
    UPDATE eph_tenants SET keys = keys - v_keys, entries = entries - v_entries,
           next_expiry = (SELECT min(expires_at) FROM eph_keys
                           WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server)
     WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server RETURNING * INTO v_row;
    RETURN v_row;
END $$;

-- Set (or refresh) a cooldown or flag to expire p_ttl s from now. false: a new key past the quota p_max.
CREATE OR REPLACE FUNCTION eph_set(
    p_prefix text, p_plugin text, p_server text, p_kind text, p_key text, p_ttl integer, p_max integer)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_tenant eph_tenants := eph_enter(p_prefix, p_plugin, p_server);
    v_expiry timestamptz := statement_timestamp() + p_ttl * interval '1 second';
BEGIN
    UPDATE eph_keys SET expires_at = v_expiry
     WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server AND kind = p_kind AND key = p_key;
    IF FOUND THEN
        IF v_tenant.next_expiry IS NULL OR v_expiry < v_tenant.next_expiry THEN  -- a shortened TTL
            UPDATE eph_tenants SET next_expiry = v_expiry
             WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server;
        END IF;
        RETURN true;
    END IF;
    IF v_tenant.keys >= p_max THEN
        RETURN false;
    END IF;
    INSERT INTO eph_keys (prefix, plugin, server, kind, key, expires_at)
        VALUES (p_prefix, p_plugin, p_server, p_kind, p_key, v_expiry);
    UPDATE eph_tenants SET keys = keys + 1, next_expiry = least(next_expiry, v_expiry)
     WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server;
    RETURN true;
END $$;

-- Take a dedup key for p_ttl s: 1 taken, 0 already taken (and live), -1 a new key past the quota p_max.
CREATE OR REPLACE FUNCTION eph_dedup(
    p_prefix text, p_plugin text, p_server text, p_key text, p_ttl integer, p_max integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_tenant eph_tenants := eph_enter(p_prefix, p_plugin, p_server);
BEGIN
    PERFORM 1 FROM eph_keys
     WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server AND kind = 'dedup' AND key = p_key;
    IF FOUND THEN  -- eph_enter deleted the expired ones: this one is live
        RETURN 0;
    END IF;
    IF v_tenant.keys >= p_max THEN
        RETURN -1;
    END IF;
    INSERT INTO eph_keys (prefix, plugin, server, kind, key, expires_at)
        VALUES (p_prefix, p_plugin, p_server, 'dedup', p_key, statement_timestamp() + p_ttl * interval '1 second');
    UPDATE eph_tenants SET keys = keys + 1,
           next_expiry = least(next_expiry, statement_timestamp() + p_ttl * interval '1 second')
     WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server;
    RETURN 1;
END $$;

-- One hit of the sliding-window counter p_key (p_window s) in at most p_slots entries (maidcore_sqlmodel's
-- _Window): a hit opens an entry only when the newest began at least p_window / p_slots ago, fewer than
-- p_slots are kept and the tenant's entries are below p_budget; otherwise it joins the newest. The counter
-- expires p_window s after its last hit. p_now (tests only) replaces the server's clock for the entries.
-- Returns the count, or 0 for a new counter past the quota p_max.
CREATE OR REPLACE FUNCTION eph_counter(
    p_prefix text, p_plugin text, p_server text, p_key text, p_window integer, p_max integer, p_slots integer,
    p_budget bigint, p_now double precision)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_tenant eph_tenants := eph_enter(p_prefix, p_plugin, p_server);
    v_now double precision := coalesce(p_now, extract(epoch FROM statement_timestamp()));
    v_expiry timestamptz := statement_timestamp() + p_window * interval '1 second';
    v_starts double precision[];
    v_hits bigint[];
    v_total bigint;
    v_before integer;
    v_first integer := 1;
    v_n integer;
BEGIN
    SELECT starts, hits, total INTO v_starts, v_hits, v_total FROM eph_keys
     WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server AND kind = 'counter' AND key = p_key;
    IF NOT FOUND THEN
        IF v_tenant.keys >= p_max THEN
            RETURN 0;
        END IF;
        INSERT INTO eph_keys (prefix, plugin, server, kind, key, expires_at, starts, hits, total)
            VALUES (p_prefix, p_plugin, p_server, 'counter', p_key, v_expiry, '{}', '{}', 0);
        UPDATE eph_tenants SET keys = keys + 1, next_expiry = least(next_expiry, v_expiry)
         WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server;
        v_tenant.next_expiry := least(v_tenant.next_expiry, v_expiry);
        v_starts := '{}';
        v_hits := '{}';
        v_total := 0;
    END IF;
    v_before := coalesce(array_length(v_starts, 1), 0);
    WHILE v_first <= v_before AND v_starts[v_first] <= v_now - p_window LOOP  -- entries that left the window
        v_total := v_total - v_hits[v_first];
        v_first := v_first + 1;
    END LOOP;
    IF v_first > 1 THEN
        v_starts := v_starts[v_first:];
        v_hits := v_hits[v_first:];
    END IF;
    v_n := v_before - v_first + 1;
    IF v_n > 0 AND (v_tenant.entries >= p_budget OR v_now - v_starts[v_n] < p_window::double precision / p_slots
                    OR v_n >= p_slots) THEN
        v_hits[v_n] := v_hits[v_n] + 1;
    ELSE
        v_starts := v_starts || v_now;
        v_hits := v_hits || 1::bigint;
        v_n := v_n + 1;
    END IF;
    v_total := v_total + 1;
    UPDATE eph_keys SET starts = v_starts, hits = v_hits, total = v_total, expires_at = v_expiry
     WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server AND kind = 'counter' AND key = p_key;
    IF v_n <> v_before OR v_tenant.next_expiry IS NULL OR v_expiry < v_tenant.next_expiry THEN
        UPDATE eph_tenants SET entries = entries + (v_n - v_before), next_expiry = least(next_expiry, v_expiry)
         WHERE prefix = p_prefix AND plugin = p_plugin AND server = p_server;
    END IF;
    RETURN v_total;
END $$;

-- Purge up to p_limit tenants that may hold expired keys (locked in a fixed order: two nodes sweeping at
-- once cannot deadlock), and delete the rows of tenants left with no key. Returns the tenants purged.
CREATE OR REPLACE FUNCTION eph_sweep(p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_t record;
    v_row eph_tenants;
    v_n integer := 0;
BEGIN
    FOR v_t IN SELECT t.prefix, t.plugin, t.server FROM (
                   SELECT prefix, plugin, server FROM eph_tenants WHERE next_expiry <= statement_timestamp()
                    ORDER BY next_expiry LIMIT p_limit) t
                ORDER BY t.prefix, t.plugin, t.server LOOP
        v_row := eph_enter(v_t.prefix, v_t.plugin, v_t.server);
        IF v_row.keys = 0 THEN  -- (a row another call deleted meanwhile is created afresh by eph_enter)
            DELETE FROM eph_tenants WHERE prefix = v_t.prefix AND plugin = v_t.plugin AND server = v_t.server;
        END IF;
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END $$;
"""

_TENANT = "prefix = %s AND plugin = %s AND server = %s"


class PostgresEphemeral:
    """Ephemeral state shared by every node that points at the same PostgreSQL (``storage.ephemeral_url``).

    Same interface and semantics as ``RedisEphemeral``; see the module's docstring for how.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "maidcore:eph:",
        max_keys: int = DEFAULT_MAX_KEYS,
        counter_slots: int = DEFAULT_COUNTER_SLOTS,
        counter_entries: int = DEFAULT_COUNTER_ENTRIES,
        pool_size: int = 8,
    ) -> None:
        self.url = connection_url(url)
        self.prefix = prefix
        self.max_keys = max_keys
        self.counter_slots = counter_slots
        self.counter_entries = counter_entries
        self.pool_size = pool_size
        self._pool: AsyncConnectionPool | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pool = await open_pool(
            self.url,
            pool_size=self.pool_size,
            application_name="maidcore-ephemeral",
            what=f"the ephemeral store's PostgreSQL {where(self.url)} (storage.ephemeral_url)",
            # a change's commit does not wait for its WAL flush (ms): the tables are unlogged, so a crash
            # loses them whole anyway, and the order of commits (what another node sees) is unchanged
            server_options="-c synchronous_commit=off",
        )
        async with asyncio.timeout(CALL_TIMEOUT * 4):  # DDL may wait for another node's creation
            await ensure_schema(self._pool, lock=_SCHEMA_LOCK, table="eph_schema", version=SCHEMA_VERSION, ddl=_SCHEMA)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="maidcore-ephemeral-sweeper")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _one(self, query: str, params: Any) -> Any:
        """The first column of the first row of one statement, within ``CALL_TIMEOUT`` (None: no row)."""
        if self._pool is None:
            raise RuntimeError("the PostgreSQL ephemeral store is not started")
        async with asyncio.timeout(CALL_TIMEOUT), self._pool.connection() as conn:
            cur = await conn.execute(query, params)
            row = await cur.fetchone()
            return None if row is None else row[0]

    async def sweep(self) -> int:
        """Purge the tenants holding expired keys, ``SWEEP_BATCH`` a statement, at most ``SWEEP_STATEMENTS``
        statements (the next sweep goes on); returns how many."""
        purged = 0
        for _ in range(SWEEP_STATEMENTS):  # keys expiring as fast as they are swept cannot keep it going
            n = int(await self._one("SELECT eph_sweep(%s)", (SWEEP_BATCH,)) or 0)
            purged += n
            if n < SWEEP_BATCH:
                break
        return purged

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception as exc:  # the next sweep goes on; calls purge their own tenant meanwhile
                log.warning("ephemeral store: deleting expired keys failed: %s", exc)

    def _tenant(self, scope: Scope) -> tuple[str, str, str]:
        return (self.prefix, scope.plugin_id, scope.server_id)

    async def counter(self, scope: Scope, key: str, window_seconds: int, *, _now: float | None = None) -> int:
        check_key(key)
        window = clamp_ttl(window_seconds, "window_seconds")
        count = await self._one(
            "SELECT eph_counter(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (*self._tenant(scope), key, window, self.max_keys, self.counter_slots, self.counter_entries, _now),
        )
        if not count:
            raise _full(self.max_keys)
        return int(count)

    async def _set(self, kind: str, scope: Scope, key: str, ttl_seconds: Any) -> None:
        check_key(key)
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        if not await self._one(
            "SELECT eph_set(%s, %s, %s, %s, %s, %s, %s)", (*self._tenant(scope), kind, key, ttl, self.max_keys)
        ):
            raise _full(self.max_keys)

    async def _remaining(self, kind: str, scope: Scope, key: str) -> float:
        check_key(key)
        left = await self._one(
            "SELECT extract(epoch FROM expires_at - statement_timestamp()) FROM eph_keys "
            f"WHERE {_TENANT} AND kind = %s AND key = %s AND expires_at > statement_timestamp()",
            (*self._tenant(scope), kind, key),
        )
        return 0.0 if left is None else max(0.0, float(left))

    async def cooldown_set(self, scope: Scope, key: str, ttl_seconds: int) -> None:
        await self._set("cooldown", scope, key, ttl_seconds)

    async def cooldown_check(self, scope: Scope, key: str) -> tuple[bool, float]:
        remaining = await self._remaining("cooldown", scope, key)
        return (True, round(remaining, 3)) if remaining > 0 else (False, 0.0)

    async def dedup(self, scope: Scope, key: str, ttl_seconds: int) -> bool:
        check_key(key)
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        taken = await self._one(
            "SELECT eph_dedup(%s, %s, %s, %s, %s, %s)", (*self._tenant(scope), key, ttl, self.max_keys)
        )
        if taken < 0:
            raise _full(self.max_keys)
        return taken == 1

    async def flag_set(self, scope: Scope, key: str, ttl_seconds: int) -> None:
        await self._set("flag", scope, key, ttl_seconds)

    async def flag_check(self, scope: Scope, key: str) -> bool:
        return await self._remaining("flag", scope, key) > 0
