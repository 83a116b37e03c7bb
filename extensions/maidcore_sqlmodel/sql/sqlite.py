"""SQLite SQL sandbox: one database file per (plugin, server), guarded by an authorizer.

The file holds nothing but the plugin's own tables, so there is nothing else to
reach; the authorizer still refuses ATTACH/DETACH, PRAGMA, transactions,
temporary objects, triggers, views, virtual tables and dangerous functions
(``load_extension`` among them) in case a statement slipped past the checks.
``max_page_count`` enforces the storage quota, a progress handler the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from maidcore.errors import HostTimeout, RpcFailure
from maidcore.scope import Scope
from maidcore_sqlmodel.sql.statements import Statement, prepare
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


class SqliteSqlSandbox:
    """``ctx.sql`` on SQLite files under ``<data_dir>/sql/``."""

    dialect = "sqlite"

    def __init__(self, root: Path, *, timeout_seconds: float, quota_bytes: int, threads: int = 4) -> None:
        self.root = Path(root)
        self.timeout_seconds = timeout_seconds
        self.quota_bytes = quota_bytes
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._spaces: OrderedDict[Scope, _Space] = OrderedDict()
        self._lock = threading.Lock()

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="maidcore-sql")

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
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
        conn.set_authorizer(_authorize)
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

    async def _run(self, fn, *args):
        if self._executor is None:
            raise RuntimeError("the SQL sandbox is not started")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def execute(self, scope: Scope, sql: str, params: list[Any]) -> int:
        statement = prepare(sql, params, "sqlite")
        return await self._run(self._execute, scope, statement, None)

    async def query(self, scope: Scope, sql: str, params: list[Any], limit: int = 1000) -> tuple[list[dict], bool]:
        statement = prepare(sql, params, "sqlite")
        limit = max(1, min(1000, int(limit)))
        return await self._run(self._execute, scope, statement, limit)

    def _execute(self, scope: Scope, statement: Statement, limit: int | None):
        space = self._space(scope)
        params = bind_params(statement.params, "sqlite")
        with space.lock:
            space.deadline = time.monotonic() + self.timeout_seconds
            try:
                cur = space.conn.execute(statement.text, params)
                if limit is None:
                    for _row in cur:  # run the statement to the end (also a SELECT given to execute)
                        pass
                    return max(cur.rowcount, 0)
                rows = cur.fetchmany(limit + 1)
                names = [d[0] for d in cur.description or ()]
                cur.close()
            except sqlite3.Error as exc:
                raise _translate(exc, self.timeout_seconds) from None
            finally:
                space.deadline = 0.0
        truncated = len(rows) > limit
        return [dict(zip(names, map(to_json, row), strict=False)) for row in rows[:limit]], truncated


def _translate(exc: sqlite3.Error, timeout: float) -> Exception:
    text = str(exc)
    if "interrupted" in text:
        return HostTimeout("sql statement", timeout)
    if "database or disk is full" in text:
        return RpcFailure("sql storage limit reached for this plugin on this server; delete rows or drop tables")
    if "not authorized" in text:
        return RpcFailure("sql error: statement not authorized in the plugin sandbox")
    return RpcFailure(f"sql error: {text[:300]}")
