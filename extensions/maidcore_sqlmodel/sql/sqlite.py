"""SQLite SQL sandbox: one database file per (plugin, server), guarded by an authorizer.

The file holds nothing but the plugin's own tables, so there is nothing else to
reach; the authorizer still refuses ATTACH/DETACH, PRAGMA, transactions,
temporary objects, triggers, views, virtual tables and dangerous functions
(``load_extension`` among them) in case a statement slipped past the checks.
``max_page_count`` enforces the storage quota, a progress handler the timeout (and
``interrupt`` from outside, see ``bounds``). A script of several statements runs in
one transaction that the host opens and closes (the authorizer lets only the host
do that).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from maidcore.errors import HostTimeout, RpcFailure
from maidcore.scope import Scope
from maidcore_sqlmodel.sql.bounds import Cancel, SqlBounds
from maidcore_sqlmodel.sql.statements import Statement, prepare, prepare_script
from maidcore_sqlmodel.sql.values import bind_params, to_json

_A = sqlite3
_ALWAYS = {_A.SQLITE_SELECT, _A.SQLITE_RECURSIVE}
_IN_MAIN = {
    _A.SQLITE_CREATE_TABLE,
    _A.SQLITE_CREATE_INDEX,
    _A.SQLITE_DROP_TABLE,
    _A.SQLITE_DROP_INDEX,
    _A.SQLITE_INSERT,
    _A.SQLITE_DELETE,
    _A.SQLITE_REINDEX,  # CREATE INDEX fills the new index through it
}
_IN_MAIN_OR_TEMP = {_A.SQLITE_READ, _A.SQLITE_UPDATE}  # ALTER TABLE RENAME also rewrites the (empty) temp schema
_DENIED_FUNCTIONS = {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit", "sqlite_offset"}
_MAX_CONNECTIONS = 64


def _authorize(action: int, arg1: str | None, arg2: str | None, dbname: str | None, _source: str | None) -> int:
    """What a plugin's statement may do (see the module docstring)."""
    if action in _ALWAYS:
        return sqlite3.SQLITE_OK
    if action in _IN_MAIN and dbname == "main":
        return sqlite3.SQLITE_OK
    if action in _IN_MAIN_OR_TEMP and dbname in {"main", "temp"}:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_READ and dbname is None:  # a CTE or subquery column, not a stored table
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_ALTER_TABLE and arg1 == "main":  # (its database name comes first)
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() not in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _safe(part: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", part)[:40].strip(".") or "x"
    return f"{readable}-{hashlib.sha256(part.encode()).hexdigest()[:10]}"


class _Space:
    """One open sandbox database and the lock that serialises its use."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.deadline = 0.0
        self.host_control = False  # the host itself is opening or closing a script's transaction

    def authorize(self, action: int, arg1: str | None, arg2: str | None, dbname: str | None, source: str | None) -> int:
        if action == sqlite3.SQLITE_TRANSACTION and self.host_control:
            return sqlite3.SQLITE_OK
        return _authorize(action, arg1, arg2, dbname, source)

    def control(self, sql: str) -> None:
        """Run the host's own BEGIN/COMMIT/ROLLBACK past the authorizer."""
        self.host_control = True
        try:
            self.conn.execute(sql)
        finally:
            self.host_control = False


class SqliteSqlSandbox:
    """``ctx.sql`` on SQLite files under ``<data_dir>/sql/``."""

    dialect = "sqlite"

    def __init__(
        self, root: Path, *, timeout_seconds: float, quota_bytes: int, bounds: SqlBounds | None = None
    ) -> None:
        self.root = Path(root)
        self.timeout_seconds = timeout_seconds
        self.quota_bytes = quota_bytes
        self.bounds = bounds or SqlBounds(timeout_seconds)
        self._spaces: OrderedDict[Scope, _Space] = OrderedDict()
        self._lock = threading.Lock()

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.bounds.start()

    async def close(self) -> None:
        self.bounds.close()
        with self._lock:
            for space in self._spaces.values():
                with contextlib.suppress(Exception):
                    space.conn.close()
            self._spaces.clear()

    def path_for(self, scope: Scope) -> Path:
        return self.root / _safe(scope.plugin_id) / f"{_safe(scope.server_id)}.db"

    def _open(self, scope: Scope) -> _Space:
        path = self.path_for(scope)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=self.timeout_seconds)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA trusted_schema=OFF")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={max(16, self.quota_bytes // page_size)}")
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 16 * 1024 * 1024)
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 1024 * 1024)
        space = _Space(conn)
        conn.set_authorizer(space.authorize)
        conn.set_progress_handler(lambda: 1 if time.monotonic() > space.deadline else 0, 10_000)
        return space

    def _space(self, scope: Scope) -> _Space:
        with self._lock:
            space = self._spaces.get(scope)
            if space is not None:
                self._spaces.move_to_end(scope)
                return space
            space = self._spaces[scope] = self._open(scope)
            while len(self._spaces) > _MAX_CONNECTIONS:
                _old_scope, old = self._spaces.popitem(last=False)
                with old.lock:  # wait for a running statement before closing
                    old.conn.close()
            return space

    async def execute(self, scope: Scope, sql: str, params: list[Any]) -> int:
        """One statement, or a script of several when no parameters are bound (all in one transaction)."""
        statements = prepare_script(sql, params, "sqlite")
        return await self.bounds.run(scope.plugin_id, self._execute, scope, statements, None)

    async def query(self, scope: Scope, sql: str, params: list[Any], limit: int = 1000) -> tuple[list[dict], bool]:
        statement = prepare(sql, params, "sqlite")
        limit = max(1, min(1000, int(limit)))
        return await self.bounds.run(scope.plugin_id, self._execute, scope, [statement], limit)

    def _execute(self, cancel: Cancel, scope: Scope, statements: list[Statement], limit: int | None):
        space = self._space(scope)
        if not space.lock.acquire(timeout=self.timeout_seconds):  # this scope's earlier statement still runs
            raise HostTimeout("sql statement (waiting for this plugin's earlier statement)", self.timeout_seconds)
        cancel.on_cancel(space.conn.interrupt)
        try:
            space.deadline = time.monotonic() + self.timeout_seconds
            try:
                if limit is None:
                    return self._run_script(space, statements)
                (statement,) = statements
                cur = space.conn.execute(statement.text, bind_params(statement.params, "sqlite"))
                names = [d[0] for d in cur.description or ()]
                budget = self.bounds.result_budget()
                rows: list[dict] = []
                while len(rows) <= limit:
                    batch = cur.fetchmany(min(100, limit + 1 - len(rows)))
                    if not batch:
                        break
                    for raw in batch:
                        row = dict(zip(names, map(to_json, raw), strict=False))
                        if len(rows) < limit:
                            budget.add(row, len(rows))
                        rows.append(row)
                cur.close()
            except sqlite3.Error as exc:
                raise _translate(exc, self.timeout_seconds) from None
            finally:
                space.deadline = 0.0
        finally:
            cancel.on_cancel(None)
            space.lock.release()
        return rows[:limit], len(rows) > limit

    def _run_script(self, space: _Space, statements: list[Statement]) -> int:
        script = len(statements) > 1
        if script:
            space.control("BEGIN IMMEDIATE")
        try:
            affected = 0
            for statement in statements:
                cur = space.conn.execute(statement.text, bind_params(statement.params, "sqlite"))
                for _row in cur:  # run the statement to the end (also a SELECT given to execute)
                    pass
                affected += max(cur.rowcount, 0)
        except BaseException:
            if script and space.conn.in_transaction:
                space.control("ROLLBACK")
            raise
        if script:
            space.control("COMMIT")
        return affected


def _translate(exc: sqlite3.Error, timeout: float) -> Exception:
    text = str(exc)
    if "interrupted" in text:
        return HostTimeout("sql statement", timeout)
    if "database or disk is full" in text:
        return RpcFailure("sql storage limit reached for this plugin on this server; delete rows or drop tables")
    if "not authorized" in text:
        return RpcFailure("sql error: statement not authorized in the plugin sandbox")
    return RpcFailure(f"sql error: {text[:300]}")
