"""PostgreSQL SQL sandbox: a schema per (plugin, server), reached only through the plugin's own login role.

Each plugin gets a ``LOGIN`` role (``mcp_…``) that owns its schemas (``mcs_…``)
and nothing else; the platform revokes ``PUBLIC``'s rights on the ``public``
schema (where the platform's tables live) and on temporary tables. Plugin SQL
runs on connections *logged in as that role* — never a superuser session that
merely ``SET ROLE``d, which a smuggled ``RESET ROLE`` could undo. Per call the
transaction sets ``search_path`` to the scope's schema and a
``statement_timeout``. Role passwords and schema names are HMACs of the master
key: every node derives the same ones, nobody else can guess them.

A call's statements (one, or a script of several) run in one transaction. A
statement that can grow the schema is followed, inside that transaction, by a
measure of what the schema really holds on disk (tables, TOAST, indexes); over
the quota, the whole call is rolled back.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from maidcore.errors import HostTimeout, RpcFailure
from maidcore.scope import Scope
from maidcore_sqlmodel.database import Database
from maidcore_sqlmodel.migrate import SCHEMA_LOCK
from maidcore_sqlmodel.sql.bounds import Cancel, ResultBudget, SqlBounds
from maidcore_sqlmodel.sql.statements import Statement, prepare, prepare_script
from maidcore_sqlmodel.sql.values import bind_params, to_json

#: What a plugin's role may do: log in (its own connections) and own its schemas, nothing else.
PLUGIN_ROLE_OPTIONS = (
    "LOGIN NOSUPERUSER NOINHERIT NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 16"
)
#: Every plugin role's name starts with it (``role_for``); backups recreate these roles.
PLUGIN_ROLE_PREFIX = "mcp_"

_GROWING = {"INSERT", "UPDATE", "CREATE TABLE", "CREATE INDEX", "ALTER TABLE", "WITH"}
_SETUP_SQL = "SELECT set_config('search_path', %s, true), set_config('statement_timeout', %s, true)"
_CURSOR = "maidcore_sql"
FIRST_FETCH = 100  # rows read in the call's first round trip; more come a batch at a time
_SIZE_SQL = (
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'p')"
)


class _RolePools:
    """Idle connections per role, least recently used roles closed first once over ``max_total``."""

    def __init__(self, max_total: int) -> None:
        self.max_total = max_total
        self.idle: OrderedDict[str, list[Any]] = OrderedDict()
        self.total = 0
        self.lock = threading.Lock()

    def acquire(self, role: str, connect) -> Any:
        with self.lock:
            conns = self.idle.get(role)
            if conns:
                self.idle.move_to_end(role)
                return conns.pop()
            self.total += 1
            victims = self._evict()
        for victim in victims:
            with contextlib.suppress(Exception):
                victim.close()
        try:
            return connect()
        except BaseException:
            with self.lock:
                self.total -= 1
            raise

    def _evict(self) -> list[Any]:
        victims = []
        for role in list(self.idle):
            while self.total > self.max_total and self.idle[role]:
                victims.append(self.idle[role].pop())
                self.total -= 1
            if not self.idle[role]:
                del self.idle[role]
            if self.total <= self.max_total:
                break
        return victims

    def release(self, role: str, conn: Any) -> None:
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            with contextlib.suppress(Exception):
                conn.close()
            with self.lock:
                self.total -= 1
            return
        with self.lock:
            self.idle.setdefault(role, []).append(conn)
            self.idle.move_to_end(role)

    def close(self) -> None:
        with self.lock:
            conns = [c for cs in self.idle.values() for c in cs]
            self.idle.clear()
            self.total = 0
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()


class PostgresSqlSandbox:
    """``ctx.sql`` on PostgreSQL: see the module docstring for the isolation model."""

    dialect = "postgresql"

    def __init__(
        self,
        db: Database,
        master_key: bytes,
        *,
        timeout_seconds: float,
        quota_bytes: int,
        bounds: SqlBounds | None = None,
        max_connections: int = 8,
    ) -> None:
        assert db.url.conninfo is not None
        self.db = db
        self._key = master_key
        self.timeout_seconds = timeout_seconds
        self.quota_bytes = quota_bytes
        self.bounds = bounds or SqlBounds(timeout_seconds)
        self._pools = _RolePools(max(max_connections, self.bounds.threads))
        self._conninfo = conninfo_to_dict(db.url.conninfo)
        self._dbname = str(self._conninfo.get("dbname") or self._conninfo.get("user") or "")
        self._ready: set[Scope] = set()
        self._ready_roles: set[str] = set()
        self._sizes: dict[Scope, tuple[float, int]] = {}
        self._setup_lock = threading.Lock()

    # --- naming ------------------------------------------------------------------

    def _mac(self, *parts: str) -> str:
        return hmac.new(self._key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()

    def role_for(self, plugin_id: str) -> str:
        return PLUGIN_ROLE_PREFIX + self._mac("role", self._dbname, plugin_id)[:24]

    def schema_for(self, scope: Scope) -> str:
        return "mcs_" + self._mac("schema", scope.plugin_id, scope.server_id)[:24]

    def _password(self, role: str) -> str:
        return self._mac("password", role)

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self.bounds.start()
        await self.db.run(self._lock_down_database)

    def _lock_down_database(self, conn: Any) -> None:
        """Plugin roles get nothing by default: no use of ``public`` (platform tables), no temporary tables."""
        dbname = conn.info.dbname
        with conn.transaction():  # nodes starting together would otherwise collide on the same catalog rows
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            conn.execute(
                pgsql.SQL("REVOKE TEMPORARY, CREATE ON DATABASE {} FROM PUBLIC").format(pgsql.Identifier(dbname))
            )

    async def close(self) -> None:
        self.bounds.close()
        self._pools.close()

    # --- spaces ------------------------------------------------------------------

    def _ensure_space(self, scope: Scope) -> tuple[str, str]:
        role, schema = self.role_for(scope.plugin_id), self.schema_for(scope)
        if scope in self._ready:
            return role, schema
        with self._setup_lock, self.db.connect() as admin:
            for attempt in range(3):
                try:
                    with admin.transaction():
                        self._create(admin, scope, role, schema)
                    break
                except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                    if attempt == 2:  # another node kept creating the same role/schema: give up loudly
                        raise
        self._ready.add(scope)
        return role, schema

    def _create(self, admin: Any, scope: Scope, role: str, schema: str) -> None:
        ident, lit = pgsql.Identifier(role), pgsql.Literal(self._password(role))
        admin.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))  # one node at a time changes roles
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            admin.execute(pgsql.SQL("CREATE ROLE {} " + PLUGIN_ROLE_OPTIONS + " PASSWORD {}").format(ident, lit))
        elif role not in self._ready_roles:  # the master key may have changed since it was created
            admin.execute(pgsql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, lit))
        self._ready_roles.add(role)
        admin.execute(
            pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(pgsql.Identifier(schema), ident)
        )
        admin.execute(
            "INSERT INTO sql_spaces (plugin_id, server_id, name, role, created_at) VALUES (%s, %s, %s, %s, now()) "
            "ON CONFLICT (plugin_id, server_id) DO NOTHING",
            (scope.plugin_id, scope.server_id, schema, role),
        )

    def _connect_as(self, role: str) -> Any:
        info = {k: v for k, v in self._conninfo.items() if k not in {"user", "password"}}
        return psycopg.connect(make_conninfo(**info, user=role, password=self._password(role)), autocommit=True)

    # --- statements --------------------------------------------------------------

    async def execute(self, scope: Scope, sql: str, params: list[Any]) -> int:
        """One statement, or a script of several when no parameters are bound (all in one transaction)."""
        statements = prepare_script(sql, params, "postgresql")
        return await self.bounds.run(scope.plugin_id, self._execute, scope, statements, None)

    async def query(self, scope: Scope, sql: str, params: list[Any], limit: int = 1000) -> tuple[list[dict], bool]:
        statement = prepare(sql, params, "postgresql")
        limit = max(1, min(1000, int(limit)))
        return await self.bounds.run(scope.plugin_id, self._execute, scope, [statement], limit)

    def _execute(self, cancel: Cancel, scope: Scope, statements: list[Statement], limit: int | None):
        role, schema = self._ensure_space(scope)
        growing = any(s.kind in _GROWING for s in statements)
        conn = self._pools.acquire(role, lambda: self._connect_as(role))
        cancel.on_cancel(conn.cancel_safe if hasattr(conn, "cancel_safe") else conn.cancel)
        try:
            if growing:
                self._check_quota(conn, scope, schema)
            try:
                result = self._run(conn, scope, schema, statements, limit, growing)
            except psycopg.errors.FeatureNotSupported as exc:
                # DECLARE refuses a WITH that modifies data: run it on a plain cursor instead
                if limit is None or "DECLARE" not in str(exc).upper():
                    raise
                result = self._run(conn, scope, schema, statements, limit, growing, server_cursor=False)
            if any(s.writes for s in statements) and not growing:
                self._sizes.pop(scope, None)
            return result
        except _OverQuota as exc:
            self._reclaim(conn, schema)
            raise exc.error from None
        except psycopg.errors.QueryCanceled:
            raise HostTimeout("sql statement", self.timeout_seconds) from None
        except psycopg.Error as exc:
            detail = exc.diag.message_primary or str(exc)
            raise RpcFailure(f"sql error: {detail[:300]}") from None
        finally:
            cancel.on_cancel(None)
            self._pools.release(role, conn)

    def _run(
        self,
        conn: Any,
        scope: Scope,
        schema: str,
        statements: list[Statement],
        limit: int | None,
        growing: bool,
        *,
        server_cursor: bool = True,
    ):
        """The call's statements in one transaction, sent as one pipeline: usually one round trip.

        A query reads its rows through a server-side cursor (a huge result never leaves the
        server beyond what the caller may get): the first ``FIRST_FETCH`` rows come in the same
        pipeline, more (up to ``limit + 1``) with further fetches. A call that can grow the
        space measures what it stored before it commits.
        """
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute(_SETUP_SQL, (schema, f"{int(self.timeout_seconds * 1000)}ms"))
                if limit is None:
                    cursors = [conn.execute(s.text, bind_params(s.params, "postgresql")) for s in statements]
                    if not growing:
                        conn.execute("COMMIT")
                else:
                    (statement,) = statements
                    params = bind_params(statement.params, "postgresql")
                    first = min(limit + 1, FIRST_FETCH)
                    if statement.returns_rows and server_cursor:
                        conn.execute(f"DECLARE {_CURSOR} NO SCROLL CURSOR FOR {statement.text}", params)
                        cursor = conn.execute(f"FETCH FORWARD {first} FROM {_CURSOR}")
                        more = first < limit + 1
                    else:
                        cursor = conn.execute(statement.text, params)
                        more = False
                    if not growing and not more:
                        conn.execute("COMMIT")
            if limit is None:
                affected = sum(max(c.rowcount, 0) for c in cursors)
                result: Any = affected
            else:
                budget = self.bounds.result_budget()
                names = [d.name for d in cursor.description or ()]
                rows = _rows(cursor.fetchall() if cursor.description else [], names, limit, budget, [])
                if more and len(rows) == first:  # the first batch came full: there may be more rows
                    while len(rows) <= limit:
                        fetch = f"FETCH FORWARD {min(FIRST_FETCH, limit + 1 - len(rows))} FROM {_CURSOR}"
                        got = conn.execute(fetch).fetchall()
                        if not got:
                            break
                        _rows(got, names, limit, budget, rows)
                result = (rows[:limit], len(rows) > limit)
            if growing:
                self._check_stored(conn, scope, schema)
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("COMMIT")
            return result
        except BaseException:
            if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
            raise

    def _check_quota(self, conn: Any, scope: Scope, schema: str) -> None:
        """Before a statement that may grow the space: refuse when it is already full (size cached 2 s)."""
        cached = self._sizes.get(scope)
        if cached is None or time.monotonic() - cached[0] > 2.0:
            size = int(conn.execute(_SIZE_SQL, (schema,)).fetchone()[0])
            self._sizes[scope] = cached = (time.monotonic(), size)
        if cached[1] >= self.quota_bytes:
            raise _quota_error(cached[1], self.quota_bytes)

    def _check_stored(self, conn: Any, scope: Scope, schema: str) -> None:
        """After it, inside its transaction: what the schema now holds on disk; over the quota rolls it all back."""
        size = int(conn.execute(_SIZE_SQL, (schema,)).fetchone()[0])
        self._sizes[scope] = (time.monotonic(), size)
        if size > self.quota_bytes:
            self._sizes.pop(scope, None)  # rolled back: measure again next time
            raise _OverQuota(_quota_error(size, self.quota_bytes, undone=True))

    def _reclaim(self, conn: Any, schema: str) -> None:
        """After a call rolled back for its size: give the disk its rows took back (VACUUM cuts the empty end)."""
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            (schema,),
        ).fetchall()
        for (table,) in tables:
            with contextlib.suppress(psycopg.Error):
                conn.execute(pgsql.SQL("VACUUM {}.{}").format(pgsql.Identifier(schema), pgsql.Identifier(table)))


class _OverQuota(Exception):
    """Raised inside the call's transaction so that it rolls back; carries the plugin's error."""

    def __init__(self, error: RpcFailure) -> None:
        super().__init__(str(error))
        self.error = error


def _quota_error(size: int, quota: int, *, undone: bool = False) -> RpcFailure:
    what = "the call would store" if undone else "stored"
    tail = " (the call was undone)" if undone else ""
    return RpcFailure(
        f"sql storage limit reached for this plugin on this server ({what} {size} of {quota} bytes){tail}; "
        "delete rows or drop tables"
    )


def _rows(raw_rows: list[tuple], names: list[str], limit: int, budget: ResultBudget, rows: list[dict]) -> list[dict]:
    """Append ``raw_rows`` to ``rows`` as JSON-ready dicts (up to ``limit + 1``), within the byte budget."""
    for raw in raw_rows:
        if len(rows) > limit:
            break
        row = dict(zip(names, map(to_json, raw), strict=False))
        if len(rows) < limit:
            budget.add(row, len(rows))
        rows.append(row)
    return rows
