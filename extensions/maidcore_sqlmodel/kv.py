"""``ctx.kv`` (contract §4.4): a JSON store per (server, plugin) in the ``kv_entries`` table.

Values are stored as compact JSON text, expiry as Unix seconds. Expired rows
are invisible to every read and to the key quota, and a sweeper deletes them.
Counters are atomic across threads, processes and nodes: SQLite serialises
writers with ``BEGIN IMMEDIATE``, PostgreSQL locks the row (``FOR UPDATE``)
and takes a per-scope advisory lock before counting keys for the quota. On
PostgreSQL a ``set`` of a live key, a plain integer ``increment`` of one and a
``delete`` are single ``UPDATE``/``DELETE`` statements, sent together with the
other callers' of the moment as one pipeline in one transaction (one round trip,
one commit: ``Database.pipelined``); everything else takes that transaction.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from maidcore.errors import InvalidArgument, KvQuotaExceeded, RpcFailure
from maidcore.scope import Scope
from maidcore_sqlmodel.database import Database, ReadElsewhere

MAX_KEYS = 10_000
MAX_VALUE_BYTES = 64 * 1024
MAX_KEY_CHARS = 256
MAX_LIST = 100
MAX_GET_MANY = 50
MAX_PUT_MANY = 25
_GET_BATCH = 100  # gets answered by one statement

JSON = Any
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_SCOPE = "server_id = ? AND plugin_id = ?"
_INT64 = 2**63  # sums inside ±2**63 are written as str(n): as short as any value can be, far below 64 KB
_INT62 = 2**62  # PostgreSQL adds amounts inside ±2**62 in SQL (see SqlKvStore._add_sql)


# --- validation ----------------------------------------------------------------------


def check_key(key: Any, field: str = "key") -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS or "\x00" in key:
        raise InvalidArgument(field, f"a non-empty string of at most {MAX_KEY_CHARS} characters without NUL bytes")
    return key


def encode_value(value: JSON) -> str:
    """Compact UTF-8 JSON, at most 64 KB."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument("value", "JSON-serialisable (finite numbers, strings, lists, objects)") from exc
    size = len(text.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise KvQuotaExceeded(f"value is {size} bytes of compact JSON; the limit is {MAX_VALUE_BYTES} bytes")
    return text


_scan_json = json.JSONDecoder().scan_once  # the C scanner json.loads ends up in


def decode_value(text: str) -> JSON:
    """A stored value (compact JSON written by ``encode_value``), read back.

    Straight through the C scanner: ``json.loads`` spends about 1 µs of Python around
    it per call, a quarter of a SQLite point read. Anything the scanner does not take
    whole goes through ``json.loads`` (same result, or its usual error).
    """
    try:
        value, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_amount(amount: Any) -> int | float:
    if not _is_number(amount) or (isinstance(amount, float) and not math.isfinite(amount)):
        raise InvalidArgument("amount", "a finite number")
    return amount


def _check_ttl(ttl_seconds: Any) -> int:
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds < 0:
        raise InvalidArgument("ttl_seconds", "an integer >= 0 (0 = no expiry)")
    return ttl_seconds


def _check_prefix(prefix: Any) -> str:
    if prefix is None:
        return ""
    if not isinstance(prefix, str) or len(prefix) > MAX_KEY_CHARS or "\x00" in prefix:
        raise InvalidArgument("prefix", f"a string of at most {MAX_KEY_CHARS} characters without NUL bytes")
    return prefix


def _split_path(path: Any) -> list[str]:
    if path is None or path == "":
        return []
    if not isinstance(path, str) or len(path) > MAX_KEY_CHARS or any(not p for p in path.split(".")):
        raise InvalidArgument("path", "a dotted path of non-empty names, such as 'stats.wins'")
    return path.split(".")


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound)."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if code == 0xD800:  # surrogates cannot be stored; skip to the next encodable point
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


def apply_increment(current: JSON | None, path: list[str], amount: int | float) -> tuple[JSON, int | float]:
    """The new stored value and the new number, or InvalidArgument when the target is not a number."""
    if not path:
        base = 0 if current is None else current
        if not _is_number(base):
            raise InvalidArgument("value", f"a number to increment (the stored value is {_type_name(base)})")
        new = base + amount
        return new, new
    root = {} if current is None else current
    if not isinstance(root, dict):
        raise InvalidArgument(
            "value", f"a JSON object to increment a path inside (the stored value is {_type_name(root)})"
        )
    root = json.loads(json.dumps(root))  # never mutate the caller's object
    node = root
    for i, name in enumerate(path[:-1]):
        child = node.get(name)
        if child is None:
            child = node[name] = {}
        elif not isinstance(child, dict):
            where = ".".join(path[: i + 1])
            raise InvalidArgument("path", f"a path through objects ({where} is {_type_name(child)})")
        node = child
    leaf = node.get(path[-1], 0)
    if leaf is None:
        leaf = 0
    if not _is_number(leaf):
        raise InvalidArgument("value", f"a number at the path to increment (found {_type_name(leaf)})")
    new = leaf + amount
    node[path[-1]] = new
    return root, new


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# --- the store ---------------------------------------------------------------------------


class SqlKvStore:
    """KV over the platform database.

    Writes run on a database thread. On SQLite (WAL) reads run on the event loop
    thread first (``Database.read_here``: a few µs, sees every acknowledged write)
    and go to a database thread only when the database is busy or the read is long.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pg = db.dialect == "postgresql"
        q = db.sql
        lock = " FOR UPDATE" if self._pg else ""
        self._get_sql = q(f"SELECT value FROM kv_entries WHERE {_SCOPE} AND key = ? AND {_LIVE}")
        self._lock_sql = q(f"SELECT value, expires_at FROM kv_entries WHERE {_SCOPE} AND key = ?{lock}")
        self._update_sql = q(f"UPDATE kv_entries SET value = ?, expires_at = ? WHERE {_SCOPE} AND key = ? AND {_LIVE}")
        self._update_value_sql = q(f"UPDATE kv_entries SET value = ? WHERE {_SCOPE} AND key = ?")
        # Insert a new key, or take over an expired row; a live row (a concurrent insert) is left alone.
        self._insert_sql = q(
            "INSERT INTO kv_entries (server_id, plugin_id, key, value, expires_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (server_id, plugin_id, key) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at "
            "WHERE kv_entries.expires_at IS NOT NULL AND kv_entries.expires_at <= ?"
        )
        self._delete_sql = q(f"DELETE FROM kv_entries WHERE {_SCOPE} AND key = ?")
        self._count_sql = q(f"SELECT count(*) FROM kv_entries WHERE {_SCOPE} AND {_LIVE}")
        self._sweep_sql = q("DELETE FROM kv_entries WHERE expires_at IS NOT NULL AND expires_at <= ?")
        # PostgreSQL: a plain integer increment of a live key as one autocommit statement (one round
        # trip). The row lock and the re-check of the WHERE on the newest row version make it atomic;
        # at most 18 digits plus an amount inside ±2**62 cannot leave bigint. Keeps the TTL.
        self._add_sql = q(
            "UPDATE kv_entries SET value = (value::bigint + ?::bigint)::text "
            f"WHERE {_SCOPE} AND key = ? AND {_LIVE} AND value ~ '^-{{0,1}}(0|[1-9][0-9]{{0,17}})$' RETURNING value"
        )
        self._pending_gets: list[tuple[str, str, str, asyncio.Future]] = []

    # --- reads -------------------------------------------------------------------

    async def get(self, scope: Scope, key: str) -> JSON | None:
        """On the loop when it can be (SQLite); otherwise gets arriving in the same loop iteration
        are answered by one statement on one database thread."""
        check_key(key)
        try:
            value = self.db.read_here(self._get_one, scope.server_id, scope.plugin_id, key)
        except ReadElsewhere:
            pass
        else:
            if self.db.yield_now():
                await asyncio.sleep(0)
            return value
        loop = asyncio.get_running_loop()
        future: asyncio.Future[JSON | None] = loop.create_future()
        self._pending_gets.append((scope.server_id, scope.plugin_id, key, future))
        if len(self._pending_gets) == 1:
            loop.call_soon(self._flush_gets)
        return await future

    def _get_one(self, conn: Any, server_id: str, plugin_id: str, key: str) -> JSON | None:
        found = conn.execute(self._get_sql, (server_id, plugin_id, key, time.time())).fetchall()
        return decode_value(found[0][0]) if found else None

    async def _read(self, fn: Any, *args: Any) -> Any:
        """``fn(conn, *args)`` on the loop when the database allows it, else on a database thread."""
        try:
            value = self.db.read_here(fn, *args)
        except ReadElsewhere:
            return await self.db.run(fn, *args)
        if self.db.yield_now():
            await asyncio.sleep(0)
        return value

    def _flush_gets(self) -> None:
        batch, self._pending_gets = self._pending_gets, []
        for start in range(0, len(batch), _GET_BATCH):
            self.db.run_batch(self._get_batch, batch[start : start + _GET_BATCH])

    def _get_batch(self, conn: Any, batch: list[tuple[str, str, str, asyncio.Future]]) -> list[tuple]:
        wanted = list(dict.fromkeys((s, p, k) for s, p, k, _f in batch))
        if len(wanted) == 1:
            sql, args = self._get_sql, [*wanted[0], time.time()]
        else:
            rows = ", ".join("(?, ?, ?)" for _ in wanted)
            sql = self.db.sql(
                "SELECT server_id, plugin_id, key, value FROM kv_entries "
                f"WHERE (server_id, plugin_id, key) IN (VALUES {rows}) AND {_LIVE}"
            )
            args = [part for ids in wanted for part in ids]
            args.append(time.time())
        found = conn.execute(sql, args).fetchall()
        if len(wanted) == 1:
            values = {wanted[0]: found[0][0]} if found else {}
        else:
            values = {(s, p, k): v for s, p, k, v in found}
        out = []
        for s, p, k, future in batch:
            text = values.get((s, p, k))
            out.append((future, None if text is None else decode_value(text), None))
        return out

    async def get_many(self, scope: Scope, keys: Sequence[str]) -> dict[str, JSON]:
        if isinstance(keys, str | bytes) or not isinstance(keys, Sequence) or len(keys) > MAX_GET_MANY:
            raise InvalidArgument("keys", f"a list of at most {MAX_GET_MANY} keys")
        wanted = list(dict.fromkeys(check_key(k, "keys") for k in keys))
        if not wanted:
            return {}
        return await self._read(self._get_many, scope, wanted)

    def _get_many(self, conn: Any, scope: Scope, keys: list[str]) -> dict[str, JSON]:
        marks = ", ".join("?" for _ in keys)
        sql = self.db.sql(f"SELECT key, value FROM kv_entries WHERE {_SCOPE} AND key IN ({marks}) AND {_LIVE}")
        found = dict(conn.execute(sql, (scope.server_id, scope.plugin_id, *keys, time.time())).fetchall())
        return {k: decode_value(found[k]) for k in keys if k in found}

    async def list_keys(self, scope: Scope, prefix: str, limit: int, start_after: str | None = None) -> list[str]:
        rows = await self._read(self._list, scope, *self._list_args(prefix, limit, start_after), False)
        return [r[0] for r in rows]

    async def list_values(
        self, scope: Scope, prefix: str, limit: int, start_after: str | None = None
    ) -> dict[str, JSON]:
        rows = await self._read(self._list, scope, *self._list_args(prefix, limit, start_after), True)
        return {k: decode_value(v) for k, v in rows}

    @staticmethod
    def _list_args(prefix: Any, limit: Any, start_after: Any) -> tuple[str, int, str | None]:
        prefix = _check_prefix(prefix)
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidArgument("limit", "an integer (clamped to 1-100)")
        if start_after is not None and (not isinstance(start_after, str) or "\x00" in start_after):
            raise InvalidArgument("start_after", "a key (string) or null")
        return prefix, max(1, min(MAX_LIST, limit)), start_after or None

    def _where_prefix(self, prefix: str, start_after: str | None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if prefix:
            clauses.append("key >= ?")
            args.append(prefix)
            upper = prefix_upper_bound(prefix)
            if upper is not None:
                clauses.append("key < ?")
                args.append(upper)
        if start_after is not None:
            clauses.append("key > ?")
            args.append(start_after)
        return "".join(f" AND {c}" for c in clauses), args

    def _list(
        self, conn: Any, scope: Scope, prefix: str, limit: int, start_after: str | None, values: bool
    ) -> list[tuple]:
        where, args = self._where_prefix(prefix, start_after)
        cols = "key, value" if values else "key"
        sql = self.db.sql(
            f"SELECT {cols} FROM kv_entries WHERE {_SCOPE}{where} AND {_LIVE} ORDER BY key LIMIT {int(limit)}"
        )
        return conn.execute(sql, (scope.server_id, scope.plugin_id, *args, time.time())).fetchall()

    async def count(self, scope: Scope, prefix: str) -> int:
        return await self._read(self._count, scope, _check_prefix(prefix))

    def _count(self, conn: Any, scope: Scope, prefix: str) -> int:
        where, args = self._where_prefix(prefix, None)
        sql = self.db.sql(f"SELECT count(*) FROM kv_entries WHERE {_SCOPE}{where} AND {_LIVE}")
        return int(conn.execute(sql, (scope.server_id, scope.plugin_id, *args, time.time())).fetchall()[0][0])

    # --- writes ------------------------------------------------------------------

    async def put(self, scope: Scope, key: str, value: JSON, ttl_seconds: int = 0) -> None:
        check_key(key)
        ttl = _check_ttl(ttl_seconds)
        if value is None:  # the contract's set(key, None) deletes
            await self.delete(scope, key)
            return
        text = encode_value(value)
        if self._pg:
            # A live key: one UPDATE, sent with the other callers' single-statement writes of this
            # moment as one pipeline (one round trip, one commit); it adds no key, so the quota has
            # nothing to check. A new or expired key: its own transaction, below.
            now = time.time()
            args = (text, now + ttl if ttl else None, scope.server_id, scope.plugin_id, key, now)
            updated, _row = await self.db.pipelined(self._update_sql, args, (scope.server_id, scope.plugin_id, key))
            if not updated:
                await self.db.run(self._put, scope, key, text, ttl)
            return
        await self.db.batched(self._put, scope, key, text, ttl, write=True)

    def _put(self, conn: Any, scope: Scope, key: str, text: str, ttl: int) -> None:
        now = time.time()
        expires = now + ttl if ttl else None
        with self.db.write(conn, single=True):  # one key: one UPDATE or one INSERT changes data
            self._upsert(conn, scope, [(key, text)], expires, now)

    def _upsert(
        self, conn: Any, scope: Scope, entries: list[tuple[str, str]], expires: float | None, now: float
    ) -> None:
        """Inside a write transaction: update live keys, then insert the new ones within the quota."""
        fresh = []
        for key, text in entries:
            cur = conn.execute(self._update_sql, (text, expires, scope.server_id, scope.plugin_id, key, now))
            if cur.rowcount == 0:
                fresh.append((key, text))
        if not fresh:
            return
        self._reserve(conn, scope, len(fresh), now)
        for key, text in fresh:
            cur = conn.execute(self._insert_sql, (scope.server_id, scope.plugin_id, key, text, expires, now))
            if cur.rowcount == 0:  # a concurrent writer created it live since our update: overwrite it
                conn.execute(self._update_sql, (text, expires, scope.server_id, scope.plugin_id, key, now))

    def _reserve(self, conn: Any, scope: Scope, new_keys: int, now: float) -> None:
        """Refuse ``new_keys`` more keys when they would pass the 10,000-key quota."""
        self.db.lock_scope(conn, "kv", scope.server_id, scope.plugin_id)  # one quota check at a time, every node
        used = conn.execute(self._count_sql, (scope.server_id, scope.plugin_id, now)).fetchone()[0]
        if used + new_keys > MAX_KEYS:
            raise KvQuotaExceeded(
                f"{used} of {MAX_KEYS} keys are stored for this plugin on this server; "
                f"delete keys or let them expire before adding {new_keys} more"
            )

    async def put_many(self, scope: Scope, entries: Mapping[str, JSON]) -> None:
        if not isinstance(entries, Mapping) or len(entries) > MAX_PUT_MANY:
            raise InvalidArgument("entries", f"an object of at most {MAX_PUT_MANY} key/value pairs")
        # in key order: every writer takes its row locks in the same order (no deadlock with a batch)
        encoded = sorted((check_key(k, "entries"), None if v is None else encode_value(v)) for k, v in entries.items())
        if encoded:
            await self.db.run(self._put_many, scope, encoded)

    def _put_many(self, conn: Any, scope: Scope, encoded: list[tuple[str, str | None]]) -> None:
        now = time.time()
        with self.db.write(conn):
            for key, text in encoded:
                if text is None:
                    conn.execute(self._delete_sql, (scope.server_id, scope.plugin_id, key))
            self._upsert(conn, scope, [(k, t) for k, t in encoded if t is not None], None, now)

    async def delete(self, scope: Scope, key: str) -> None:
        check_key(key)
        if self._pg:
            ids = (scope.server_id, scope.plugin_id, key)
            await self.db.pipelined(self._delete_sql, ids, ids)
            return
        await self.db.batched(self._delete, scope, key, write=True)

    def _delete(self, conn: Any, scope: Scope, key: str) -> None:
        conn.execute(self._delete_sql, (scope.server_id, scope.plugin_id, key))

    async def increment(self, scope: Scope, key: str, amount: int | float = 1, path: str = "") -> int | float:
        check_key(key)
        return await self._add(scope, key, _check_amount(amount), _split_path(path))

    async def decrement(self, scope: Scope, key: str, amount: int | float = 1) -> int | float:
        """``kv.decr``: a missing key becomes ``-amount``."""
        check_key(key)
        return await self._add(scope, key, -_check_amount(amount), [])

    async def _add(self, scope: Scope, key: str, amount: int | float, path: list[str]) -> int | float:
        if not self._pg:
            return await self.db.batched(self._increment, scope, key, amount, path, write=True)
        if not path and type(amount) is int and -_INT62 <= amount <= _INT62:
            # a plain integer of a live key: one UPDATE ... RETURNING in the moment's pipeline (see put)
            ids = (scope.server_id, scope.plugin_id, key)
            _count, row = await self.db.pipelined(self._add_sql, (amount, *ids, time.time()), ids)
            if row is not None:
                return int(row[0])
            # missing, expired, not a plain integer, or too large: the general way
        return await self.db.run(self._increment, scope, key, amount, path)

    def _increment(self, conn: Any, scope: Scope, key: str, amount: int | float, path: list[str]) -> int | float:
        ids = (scope.server_id, scope.plugin_id, key)
        for _attempt in range(5):
            # Every way through changes data with one statement, as its last step. Inside a
            # group commit that needs no savepoint (and no context manager: this is the hot path).
            if self.db.in_group():
                number = self._increment_here(conn, scope, ids, amount, path)
            else:
                with self.db.write(conn, single=True):
                    number = self._increment_here(conn, scope, ids, amount, path)
            if number is not None:
                return number
            # another node created the key between our read and insert: count again on its value
        raise RpcFailure("kv increment kept conflicting with concurrent writers of the same key; retry")

    def _increment_here(
        self, conn: Any, scope: Scope, ids: tuple[str, str, str], amount: int | float, path: list[str]
    ) -> int | float | None:
        """Inside a write transaction: the new number, or None when a concurrent insert won (retry)."""
        now = time.time()
        row = conn.execute(self._lock_sql, ids).fetchone()
        live = row is not None and (row[1] is None or row[1] > now)
        current = decode_value(row[0]) if live else None
        if not path and type(current) is int and type(amount) is int and -_INT64 <= current + amount < _INT64:
            number = current + amount
            text = str(number)  # what encode_value writes for it, without the trip through json.dumps
        else:
            stored, number = apply_increment(current, path, amount)
            text = encode_value(stored)
        if live:
            conn.execute(self._update_value_sql, (text, *ids))  # keeps the TTL
            return number
        self._reserve(conn, scope, 1, now)
        cur = conn.execute(self._insert_sql, (*ids, text, None, now))
        return number if cur.rowcount else None

    # --- housekeeping ---------------------------------------------------------------

    async def sweep(self) -> int:
        """Delete expired entries; returns how many."""
        return await self.db.run(self._sweep)

    def _sweep(self, conn: Any) -> int:
        with self.db.write(conn):
            return conn.execute(self._sweep_sql, (time.time(),)).rowcount
