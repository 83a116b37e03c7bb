"""``Coordinator`` on PostgreSQL alone: for operators who run a database and no Redis.

Same semantics as ``RedisCoordinator`` (the protocol in ``maidcore.cluster.coordinator``);
what Redis does in a Lua script happens here in one statement, or in one
PL/pgSQL function call holding row locks, so each step stays atomic and costs
one round trip. Every expiry is compared with the database server's clock
(``statement_timestamp()``), never a node's, so nodes with skewed clocks still
agree on who holds a shard.

Schema: created by the coordinator itself (``CREATE … IF NOT EXISTS`` under an
advisory lock, at ``start``, skipped when ``coord_schema`` holds ``SCHEMA_VERSION``),
not by the storage extension's Alembic migrations, because the coordinator is core (``maidcore.cluster``) and must
work whatever storage layer is chosen, it is reached before storage opens
(layers' sweeps already use its once-gate), and its URL may name another
database than storage's. Tables (every row keyed by ``cluster``, the
``cluster.key_prefix``, so clusters can share a database as they share a Redis):

- ``coord_nodes``: heartbeats (expire). ``coord_leases``: one row per shard ever
  held: holder, fencing token (only grows: the row outlives its holders), expiry.
- ``coord_seen``: the newest ``SEEN_KEPT`` source keys per shard (and up to about
  ``SEEN_TRIM`` more: trimmed in the append every so often, by ``coord_seen_seq`` order).
  ``coord_events``: the shard logs; a row is new (no consumer), handed out
  (consumer + deliveries), or gone (acked).
- ``coord_once``, ``coord_state``, ``coord_budget`` (expire), ``coord_identify``
  (one row per bucket), ``coord_due`` (members by due time).

Expired rows are deleted by ``sweep``, which ``heartbeat`` runs every
``SWEEP_SECONDS`` (each node's renew loop beats): the tables stay bounded by
what is live.

Waiting for new events (``read_new``'s ``block``): the only node that can append
to a shard's log is its lease holder, which is also the node reading it, so an
append wakes this process's readers of that shard directly; a short poll
(``POLL_SECONDS``) covers appends by another process. LISTEN/NOTIFY would add a
dedicated connection per node and a NOTIFY per append, and PostgreSQL
serialises the commits of notifying transactions on one lock, for a wake-up
that in practice is always local.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from maidcore.cluster.coordinator import Lease, LeaseLost, LoggedEvent, ShardState

T = TypeVar("T")
log = logging.getLogger("maidcore.cluster")

# The newest source keys kept per shard, as ``redis_coordinator.SEEN_KEPT`` (a replay covers only the events
# recorded since the last resume point, written every 0.5 s).
SEEN_KEPT = 10_000
# A shard's keys past the newest SEEN_KEPT are deleted about every SEEN_TRIM-th keyed append (finding where the
# newest SEEN_KEPT end walks that many index entries: too much for every append, nothing every 256th)
SEEN_TRIM = 256
SWEEP_SECONDS = 30.0  # how often a node deletes expired rows (from its heartbeat)
SWEEP_BATCH = 5_000  # rows per table per sweep statement (short statements; the next sweep goes on)
POLL_SECONDS = 0.25  # read_new looks at the table this often while it blocks (appends here wake it at once)
CALL_TIMEOUT = 5.0  # seconds: a node cut off from PostgreSQL must notice within a lease, not hang in a call
PUT_CHUNK = 5_000  # keys per state_put_many statement

_SCHEMA_LOCK = 0x6D61_6964_636F_7264  # advisory lock key ("maidcord") serialising schema creation

# Bump when _SCHEMA changes: a node finding an older version re-runs it (every statement is idempotent).
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS coord_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS coord_nodes (
    cluster text NOT NULL, node text NOT NULL, expires_at timestamptz NOT NULL,
    PRIMARY KEY (cluster, node));
CREATE TABLE IF NOT EXISTS coord_leases (
    cluster text NOT NULL, shard integer NOT NULL, node text, token bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (cluster, shard)) WITH (fillfactor = 50);
CREATE TABLE IF NOT EXISTS coord_seen (
    cluster text NOT NULL, shard integer NOT NULL, key text NOT NULL, seq bigint NOT NULL,
    PRIMARY KEY (cluster, shard, key));
CREATE INDEX IF NOT EXISTS coord_seen_by_seq ON coord_seen (cluster, shard, seq);
CREATE SEQUENCE IF NOT EXISTS coord_seen_seq;
CREATE TABLE IF NOT EXISTS coord_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, cluster text NOT NULL, shard integer NOT NULL,
    record text NOT NULL, consumer text, deliveries integer NOT NULL DEFAULT 0) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS coord_events_by_shard ON coord_events (cluster, shard, id);
CREATE TABLE IF NOT EXISTS coord_once (
    cluster text NOT NULL, key text NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (cluster, key));
CREATE INDEX IF NOT EXISTS coord_once_by_expiry ON coord_once (expires_at);
CREATE TABLE IF NOT EXISTS coord_identify (
    cluster text NOT NULL, bucket text NOT NULL, next_at double precision NOT NULL, PRIMARY KEY (cluster, bucket));
CREATE TABLE IF NOT EXISTS coord_state (
    cluster text NOT NULL, key text NOT NULL, value text NOT NULL, expires_at timestamptz NOT NULL,
    PRIMARY KEY (cluster, key));
CREATE INDEX IF NOT EXISTS coord_state_by_expiry ON coord_state (expires_at);
CREATE TABLE IF NOT EXISTS coord_budget (
    cluster text NOT NULL, key text NOT NULL, count bigint NOT NULL, expires_at timestamptz NOT NULL,
    PRIMARY KEY (cluster, key));
CREATE INDEX IF NOT EXISTS coord_budget_by_expiry ON coord_budget (expires_at);
CREATE TABLE IF NOT EXISTS coord_due (
    cluster text NOT NULL, queue text NOT NULL, member text NOT NULL, at double precision NOT NULL,
    PRIMARY KEY (cluster, queue, member));
CREATE INDEX IF NOT EXISTS coord_due_by_time ON coord_due (cluster, queue, at);

-- Append one event to a shard's log if (cluster, shard) is held by (node, token) and unexpired; with a
-- source key, only if the key is not among the shard's newest p_kept. The lease row stays share-locked to
-- the end: appends run side by side (their commits are flushed together), while a renewal, release or
-- takeover (an UPDATE of that row) waits for them or happens before them (fencing).
-- Returns the entry id, 0 for a replay already logged, NULL when fenced off.
CREATE OR REPLACE FUNCTION coord_append(
    p_cluster text, p_shard integer, p_node text, p_token bigint, p_record text, p_key text, p_kept integer,
    p_trim integer)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_entry bigint;
BEGIN
    PERFORM 1 FROM coord_leases
     WHERE cluster = p_cluster AND shard = p_shard AND node = p_node AND token = p_token
       AND expires_at > statement_timestamp()
       FOR SHARE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_key IS NOT NULL THEN
        v_seq := nextval('coord_seen_seq');
        INSERT INTO coord_seen (cluster, shard, key, seq) VALUES (p_cluster, p_shard, p_key, v_seq)
            ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        -- about every p_trim-th keyed append of a shard drops what lies past its newest p_kept keys
        -- (an index walk of p_kept rows, so not on every append): about p_kept + p_trim are kept
        IF v_seq % p_trim = 0 THEN
            DELETE FROM coord_seen WHERE cluster = p_cluster AND shard = p_shard AND seq <= (
                SELECT s.seq FROM coord_seen s WHERE s.cluster = p_cluster AND s.shard = p_shard
                 ORDER BY s.seq DESC OFFSET p_kept LIMIT 1);
        END IF;
    END IF;
    INSERT INTO coord_events (cluster, shard, record) VALUES (p_cluster, p_shard, p_record) RETURNING id INTO v_entry;
    RETURN v_entry;
END $$;

-- Add p_amount to counter p_key unless that takes it past p_limit. Returns the new count, or -1 (nothing
-- counted) past the limit; a give-back (p_amount < 0) is never refused and never creates a counter. A new
-- counter (or one whose time ran out) expires p_ttl seconds after this first spend.
CREATE OR REPLACE FUNCTION coord_spend(
    p_cluster text, p_key text, p_amount bigint, p_limit bigint, p_ttl double precision)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_held bigint;
    v_live boolean;
    v_result bigint;
BEGIN
    LOOP
        SELECT count, expires_at > statement_timestamp() INTO v_held, v_live FROM coord_budget
         WHERE cluster = p_cluster AND key = p_key FOR UPDATE;
        IF FOUND AND v_live THEN
            IF p_amount > 0 AND v_held + p_amount > p_limit THEN
                RETURN -1;
            END IF;
            IF p_amount < 0 AND v_held = 0 THEN
                RETURN 0;
            END IF;
            UPDATE coord_budget SET count = count + p_amount WHERE cluster = p_cluster AND key = p_key
                RETURNING count INTO v_result;
            RETURN v_result;
        END IF;
        IF p_amount > p_limit THEN
            RETURN -1;
        END IF;
        IF p_amount <= 0 THEN
            RETURN 0;
        END IF;
        IF FOUND THEN  -- expired: starts over
            UPDATE coord_budget SET count = p_amount,
                   expires_at = statement_timestamp() + p_ttl * interval '1 second'
             WHERE cluster = p_cluster AND key = p_key;
            RETURN p_amount;
        END IF;
        INSERT INTO coord_budget (cluster, key, count, expires_at)
            VALUES (p_cluster, p_key, p_amount, statement_timestamp() + p_ttl * interval '1 second')
            ON CONFLICT DO NOTHING;
        IF FOUND THEN
            RETURN p_amount;
        END IF;
        -- another spend created it between our look and our insert: look again (its row lock orders us)
    END LOOP;
END $$;
"""

_ACQUIRE = """
INSERT INTO coord_leases AS l (cluster, shard, node, token, expires_at)
VALUES (%s, %s, %s, 1, statement_timestamp() + %s * interval '1 second')
ON CONFLICT (cluster, shard) DO UPDATE
   SET node = excluded.node, token = l.token + 1, expires_at = excluded.expires_at
 WHERE l.node IS NULL OR l.expires_at <= statement_timestamp()
RETURNING token
"""
_RENEW = """
UPDATE coord_leases SET expires_at = statement_timestamp() + %s * interval '1 second'
 WHERE cluster = %s AND shard = %s AND node = %s AND token = %s AND expires_at > statement_timestamp()
"""
_RELEASE = """
UPDATE coord_leases SET node = NULL, expires_at = statement_timestamp()
 WHERE cluster = %s AND shard = %s AND node = %s AND token = %s
"""
_HOLDERS = """
SELECT shard, node, token FROM coord_leases
 WHERE cluster = %s AND shard >= 0 AND shard < %s AND node IS NOT NULL AND expires_at > statement_timestamp()
"""
_SHARD_STATES = """
SELECT s.shard, l.node, l.token, extract(epoch FROM l.expires_at - statement_timestamp()),
       (SELECT count(*) FROM coord_events e WHERE e.cluster = %(c)s AND e.shard = s.shard),
       (SELECT count(*) FROM coord_events e WHERE e.cluster = %(c)s AND e.shard = s.shard AND e.consumer IS NOT NULL)
  FROM unnest(%(s)s::integer[]) WITH ORDINALITY AS s(shard, n)
  LEFT JOIN coord_leases l ON l.cluster = %(c)s AND l.shard = s.shard AND l.node IS NOT NULL
                          AND l.expires_at > statement_timestamp()
 ORDER BY s.n
"""
_IDENTIFY = """
INSERT INTO coord_identify AS i (cluster, bucket, next_at)
VALUES (%(c)s, %(b)s, extract(epoch FROM statement_timestamp()) + %(iv)s)
ON CONFLICT (cluster, bucket) DO UPDATE SET next_at = greatest(excluded.next_at, i.next_at + %(iv)s)
RETURNING next_at - %(iv)s - extract(epoch FROM statement_timestamp())
"""
_ONCE = """
INSERT INTO coord_once AS o (cluster, key, expires_at) VALUES (%s, %s, statement_timestamp() + %s * interval '1 second')
ON CONFLICT (cluster, key) DO UPDATE SET expires_at = excluded.expires_at WHERE o.expires_at <= statement_timestamp()
RETURNING 1
"""
_HEARTBEAT = """
INSERT INTO coord_nodes (cluster, node, expires_at) VALUES (%s, %s, statement_timestamp() + %s * interval '1 second')
ON CONFLICT (cluster, node) DO UPDATE SET expires_at = excluded.expires_at
"""
_STATE_PUT_MANY = """
INSERT INTO coord_state (cluster, key, value, expires_at)
SELECT %s, k, v, statement_timestamp() + %s * interval '1 second' FROM unnest(%s::text[], %s::text[]) AS t(k, v)
ON CONFLICT (cluster, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
"""
_DUE_TAKE = """
DELETE FROM coord_due d
 USING (SELECT member FROM coord_due WHERE cluster = %(c)s AND queue = %(q)s AND at <= %(now)s
         ORDER BY at LIMIT %(n)s FOR UPDATE SKIP LOCKED) due
 WHERE d.cluster = %(c)s AND d.queue = %(q)s AND d.member = due.member
RETURNING d.member, d.at
"""
# hands out rows nobody holds a lock on: two readers of one shard never get the same event
_READ_NEW = """
UPDATE coord_events e SET consumer = %(who)s, deliveries = 1
  FROM (SELECT id FROM coord_events WHERE cluster = %(c)s AND shard = %(s)s AND consumer IS NULL
         ORDER BY id LIMIT %(n)s FOR UPDATE SKIP LOCKED) new
 WHERE e.id = new.id
RETURNING e.id, e.record, e.deliveries
"""
_CLAIM = """
UPDATE coord_events e SET consumer = %(who)s, deliveries = e.deliveries + 1
  FROM (SELECT id FROM coord_events WHERE cluster = %(c)s AND shard = %(s)s AND consumer IS NOT NULL
           AND id > %(after)s ORDER BY id LIMIT %(n)s FOR UPDATE) old
 WHERE e.id = old.id
RETURNING e.id, e.record, e.deliveries
"""
# (table, the condition that makes a row dead); each statement deletes at most SWEEP_BATCH rows
_SWEEPS = (
    ("coord_once", "expires_at <= statement_timestamp()"),
    ("coord_state", "expires_at <= statement_timestamp()"),
    ("coord_budget", "expires_at <= statement_timestamp()"),
    ("coord_nodes", "expires_at <= statement_timestamp() - interval '1 hour'"),
    ("coord_identify", "next_at < extract(epoch FROM statement_timestamp()) - 3600"),
)


def connection_url(url: str) -> str:
    """The libpq spelling of a coordinator URL (SQLAlchemy's ``postgresql+psycopg://`` accepted too)."""
    if url.startswith("postgresql+psycopg://"):
        return "postgresql://" + url[len("postgresql+psycopg://") :]
    return url


class PostgresCoordinator:
    """A ``Coordinator`` on PostgreSQL (contract: ``maidcore.cluster.coordinator``)."""

    def __init__(self, url: str, prefix: str = "maidcore", *, pool_size: int = 8) -> None:
        self.url = connection_url(url)
        self.prefix = prefix
        self.pool_size = pool_size
        self._pool: AsyncConnectionPool | None = None
        self._appended: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self._next_sweep = 0.0

    @property
    def where(self) -> str:
        """``host:port/database`` of the coordinator's URL, without its credentials (for messages)."""
        return where(self.url)

    @property
    def pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise RuntimeError("the PostgreSQL coordinator is not started")
        return self._pool

    async def start(self) -> None:
        self._pool = await open_pool(
            self.url,
            pool_size=self.pool_size,
            application_name="maidcore-coordinator",
            what=f"the cluster's PostgreSQL coordinator {self.where} (cluster.coordinator_url)",
        )
        await self._call(self._create_schema)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _create_schema(self) -> None:
        await ensure_schema(self.pool, lock=_SCHEMA_LOCK, table="coord_schema", version=SCHEMA_VERSION, ddl=_SCHEMA)

    async def _call(self, step: Callable[[], Awaitable[T]]) -> T:
        """Run ``step`` within ``CALL_TIMEOUT``: a partitioned node gets an error, like Redis's socket timeout."""
        async with asyncio.timeout(CALL_TIMEOUT):
            return await step()

    async def _rows(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        async def step() -> list[tuple[Any, ...]]:
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, params)
                return await cur.fetchall() if cur.description is not None else []

        return await self._call(step)

    async def _count(self, query: str, params: Any) -> int:
        async def step() -> int:
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, params)
                return cur.rowcount

        return await self._call(step)

    # --- membership --------------------------------------------------------------------

    async def heartbeat(self, node: str, ttl: float) -> None:
        await self._count(_HEARTBEAT, (self.prefix, node, ttl))
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
            try:
                await self.sweep()
            except Exception as exc:  # the beat counted; expired rows wait for the next sweep
                log.warning("cluster coordinator: deleting expired rows failed: %s", exc)

    async def live_nodes(self) -> list[str]:
        rows = await self._rows(
            "SELECT node FROM coord_nodes WHERE cluster = %s AND expires_at > statement_timestamp()", (self.prefix,)
        )
        return sorted(row[0] for row in rows)  # by code point, as on Redis (SQL's ORDER BY follows the collation)

    async def sweep(self) -> int:
        """Delete expired rows of this cluster (every table stays bounded by what is live); returns how many."""
        gone = 0
        for table, dead in _SWEEPS:
            gone += await self._count(
                f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("  # table names and conditions are constants
                f"SELECT ctid FROM {table} WHERE cluster = %s AND {dead} LIMIT {SWEEP_BATCH}))",
                (self.prefix,),
            )
        return gone

    # --- leases ----------------------------------------------------------------------------

    async def acquire(self, shard: int, node: str, ttl: float) -> Lease | None:
        rows = await self._rows(_ACQUIRE, (self.prefix, shard, node, ttl))
        return Lease(shard, node, int(rows[0][0])) if rows else None

    async def renew(self, lease: Lease, ttl: float) -> bool:
        return await self._count(_RENEW, (ttl, self.prefix, lease.shard, lease.node, lease.token)) == 1

    async def release(self, lease: Lease) -> None:
        await self._count(_RELEASE, (self.prefix, lease.shard, lease.node, lease.token))

    async def holders(self, shard_count: int) -> dict[int, Lease]:
        if shard_count <= 0:
            return {}
        rows = await self._rows(_HOLDERS, (self.prefix, shard_count))
        return {shard: Lease(shard, node, int(token)) for shard, node, token in rows}

    async def shard_count_seen(self) -> int:
        query = "SELECT coalesce(max(shard) + 1, 0) FROM coord_leases WHERE cluster = %s"
        rows = await self._rows(query, (self.prefix,))
        return int(rows[0][0])

    async def shard_states(self, shards: list[int]) -> list[ShardState]:
        if not shards:
            return []
        rows = await self._rows(_SHARD_STATES, {"c": self.prefix, "s": list(shards)})
        return [
            ShardState(
                shard,
                Lease(shard, node, int(token)) if node is not None else None,
                max(0.0, float(left)) if node is not None else None,
                int(unacked),
                int(handed_out),
            )
            for shard, node, token, left, unacked, handed_out in rows
        ]

    async def identify_slot(self, bucket: str, interval: float) -> float:
        rows = await self._rows(_IDENTIFY, {"c": self.prefix, "b": bucket, "iv": interval})
        return max(0.0, round(float(rows[0][0]), 3))

    # --- once ---------------------------------------------------------------------------------

    async def once(self, key: str, ttl: float) -> bool:
        return bool(await self._rows(_ONCE, (self.prefix, key, max(0.001, ttl))))

    # --- shared state ---------------------------------------------------------------------------

    async def state_get(self, key: str) -> Any | None:
        rows = await self._rows(
            "SELECT value FROM coord_state WHERE cluster = %s AND key = %s AND expires_at > statement_timestamp()",
            (self.prefix, key),
        )
        return json.loads(rows[0][0]) if rows else None

    async def state_put(self, key: str, value: Any, ttl: float) -> None:
        await self.state_put_many({key: value}, ttl)

    async def state_put_many(self, values: dict[str, Any], ttl: float) -> None:
        # keys in one order on every node: two overlapping upserts lock rows in the same order (no deadlock)
        items = sorted(values.items())
        ttl = max(0.001, ttl)
        for start in range(0, len(items), PUT_CHUNK):
            chunk = items[start : start + PUT_CHUNK]
            keys = [key for key, _ in chunk]
            dumped = [json.dumps(value) for _, value in chunk]
            await self._count(_STATE_PUT_MANY, (self.prefix, ttl, keys, dumped))

    async def spend(self, key: str, amount: int, limit: int, ttl: float) -> int | None:
        rows = await self._rows(
            "SELECT coord_spend(%s, %s, %s, %s, %s)", (self.prefix, key, int(amount), int(limit), max(0.001, ttl))
        )
        n = int(rows[0][0])
        return None if n < 0 else n

    async def due_add(self, queue: str, member: str, at: float) -> None:
        await self._count(
            "INSERT INTO coord_due (cluster, queue, member, at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (cluster, queue, member) DO UPDATE SET at = excluded.at",
            (self.prefix, queue, member, float(at)),
        )

    async def due_take(self, queue: str, now: float, limit: int) -> list[str]:
        if limit <= 0:
            return []
        rows = await self._rows(_DUE_TAKE, {"c": self.prefix, "q": queue, "now": float(now), "n": limit})
        return [member for member, _ in sorted(rows, key=lambda row: (row[1], row[0]))]

    # --- event log ----------------------------------------------------------------------------

    async def append(self, lease: Lease, record: dict[str, Any], *, source_key: str | None = None) -> str | None:
        rows = await self._rows(
            "SELECT coord_append(%s, %s, %s, %s, %s, %s, %s, %s)",
            (self.prefix, lease.shard, lease.node, lease.token, json.dumps(record), source_key, SEEN_KEPT, SEEN_TRIM),
        )
        entry = rows[0][0]
        if entry is None:
            raise LeaseLost(f"shard {lease.shard}: lease token {lease.token} of {lease.node} is no longer current")
        if entry == 0:
            return None
        self._appended[lease.shard].set()
        return str(entry)

    async def read_new(self, lease: Lease, consumer: str, count: int, block: float) -> list[LoggedEvent]:
        deadline = time.monotonic() + block
        wake = self._appended[lease.shard]
        while True:
            wake.clear()  # before reading: an append after this read sets it again
            rows = await self._rows(_READ_NEW, {"who": consumer, "c": self.prefix, "s": lease.shard, "n": count})
            left = deadline - time.monotonic()
            if rows or left <= 0:
                return _events(rows)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=min(left, POLL_SECONDS))

    async def claim_pending(self, lease: Lease, consumer: str, count: int) -> list[LoggedEvent]:
        events: list[LoggedEvent] = []
        after = 0
        while True:
            rows = await self._rows(
                _CLAIM, {"who": consumer, "c": self.prefix, "s": lease.shard, "after": after, "n": count}
            )
            page = _events(rows)
            events.extend(page)
            if len(page) < count:
                return events
            after = int(page[-1].entry_id)

    async def ack(self, shard: int, entry_ids: list[str]) -> None:
        if not entry_ids:
            return
        await self._count(
            "DELETE FROM coord_events WHERE cluster = %s AND shard = %s AND id = ANY(%s)",
            (self.prefix, shard, [int(entry) for entry in entry_ids]),
        )

    async def pending(self, shard: int) -> int:
        rows = await self._rows(
            "SELECT count(*) FROM coord_events WHERE cluster = %s AND shard = %s AND consumer IS NOT NULL",
            (self.prefix, shard),
        )
        return int(rows[0][0])

    async def log_length(self, shard: int) -> int:
        """Events in the shard's log, handed out or not (acked ones are gone)."""
        rows = await self._rows(
            "SELECT count(*) FROM coord_events WHERE cluster = %s AND shard = %s", (self.prefix, shard)
        )
        return int(rows[0][0])


def where(url: str) -> str:
    """``host:port/database`` of a libpq URL, without its credentials (for messages)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable URL)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


async def open_pool(
    url: str, *, pool_size: int, application_name: str, what: str, server_options: str | None = None
) -> AsyncConnectionPool:
    """An open pool of autocommit connections to ``url`` whose errors say what failed (``what``: the setting).

    Shared by the stores that keep a cluster's state on PostgreSQL (this coordinator, ``PostgresEphemeral``):
    each call gets an error within ``CALL_TIMEOUT`` and a dead peer shows within seconds (TCP keepalives).
    ``server_options``: settings for the connections' server sessions (libpq ``options``, ``-c name=value``).
    """
    options: dict[str, Any] = {
        "autocommit": True,
        "connect_timeout": 2,
        "application_name": application_name,
        # a dead peer (partition) shows as an error within seconds, not after the kernel's 2 hours
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
    }
    if server_options:
        options["options"] = server_options
    try:  # one connection first: its error says why (refused, password, no database), the pool's would not
        probe = await psycopg.AsyncConnection.connect(url, **options)
    except psycopg.Error as exc:
        raise ConnectionError(f"cannot reach {what}: {str(exc).strip()}") from exc
    await probe.close()
    pool = AsyncConnectionPool(url, min_size=1, max_size=pool_size, open=False, timeout=CALL_TIMEOUT, kwargs=options)
    try:
        await pool.open(wait=True, timeout=CALL_TIMEOUT)
    except Exception as exc:
        await pool.close()
        raise ConnectionError(f"cannot reach {what}: {exc}") from exc
    return pool


async def ensure_schema(pool: AsyncConnectionPool, *, lock: int, table: str, version: int, ddl: str) -> None:
    """Run ``ddl`` (idempotent statements) unless ``table`` records ``version``; then record it.

    Checked first without the lock: nodes of a running cluster (or a database user without the CREATE
    privilege, once an operator created the schema) start with one SELECT and no DDL. The advisory lock
    ``lock`` serialises nodes starting together (concurrent ``CREATE … IF NOT EXISTS`` can still collide).
    ``ddl`` must create ``table`` (one ``version integer`` column).
    """
    async with pool.connection() as conn:
        if await _schema_version(conn, table) == version:
            return
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            if await _schema_version(conn, table) == version:
                return  # another node created it while this one waited for the lock
            await conn.execute(ddl)
            await conn.execute(f"DELETE FROM {table}")  # table names are the callers' constants
            await conn.execute(f"INSERT INTO {table} (version) VALUES (%s)", (version,))


async def _schema_version(conn: Any, table: str) -> int | None:
    """The version ``table`` records, or None before the schema's first creation on this database."""
    cur = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    row = await cur.fetchone()
    if not row or not row[0]:
        return None
    cur = await conn.execute(f"SELECT max(version) FROM {table}")
    row = await cur.fetchone()
    return row[0] if row else None


def _events(rows: list[tuple[Any, ...]]) -> list[LoggedEvent]:
    """Rows of ``coord_events`` as log entries in log order (``RETURNING`` keeps no order)."""
    return [
        LoggedEvent(str(entry), json.loads(record), int(deliveries))
        for entry, record, deliveries in sorted(rows, key=lambda row: row[0])
    ]
