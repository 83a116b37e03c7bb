"""One database (SQLite file or PostgreSQL URL) and the threads that talk to it.

Blocking driver calls never run on the event loop: every store hands a plain
function to ``Database.run``, which runs it on a small thread pool whose threads
each keep one open driver connection (``sqlite3`` or ``psycopg``). Reusing a
connection per thread keeps the hot KV path close to the bare driver's speed;
the SQLAlchemy ``engine`` (for SQLModel sessions and Alembic) is a separate pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy
from sqlalchemy import event

T = TypeVar("T")

Dialect = Literal["sqlite", "postgresql"]
SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class DatabaseUrl:
    """Where the platform database lives, in the forms each client wants."""

    dialect: Dialect
    sqlalchemy_url: str
    sqlite_path: Path | None = None  # SQLite only
    conninfo: str | None = None  # PostgreSQL only: a libpq URL for psycopg

    @classmethod
    def resolve(cls, database_url: str | None, data_dir: Path) -> DatabaseUrl:
        """``None`` means ``<data_dir>/maidcore.db``; otherwise ``sqlite:///path`` or ``postgresql://...``."""
        if not database_url:
            path = Path(data_dir) / "maidcore.db"
            return cls("sqlite", f"sqlite:///{path}", sqlite_path=path)
        scheme, sep, rest = database_url.partition("://")
        if not sep:
            raise ValueError(f"storage.database_url must be a URL such as postgresql://..., got {database_url!r}")
        scheme = scheme.lower()
        if scheme == "sqlite":
            database = sqlalchemy.engine.make_url(database_url).database
            if not database or database == ":memory:":
                raise ValueError(
                    "storage.database_url must name a SQLite file (sqlite:///<path>); memory is not durable"
                )
            path = Path(database)
            return cls("sqlite", f"sqlite:///{path}", sqlite_path=path)
        if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
            return cls("postgresql", f"postgresql+psycopg://{rest}", conninfo=f"postgresql://{rest}")
        raise ValueError(
            f"storage.database_url scheme {scheme!r} is not supported; use sqlite:///<path> or postgresql://..."
        )


def connect_sqlite(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit ``BEGIN IMMEDIATE``), WAL, busy timeout."""
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def connect_postgres(conninfo: str, **kwargs: Any):
    import psycopg

    return psycopg.connect(conninfo, autocommit=True, **kwargs)


class Database:
    """The platform database: a driver connection per worker thread, plus a SQLAlchemy engine."""

    def __init__(self, url: DatabaseUrl, *, threads: int = 4, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = url
        self.dialect: Dialect = url.dialect
        self.sqlite_synchronous = sqlite_synchronous
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()
        self._reads: list[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]]] = []
        self._writes: list[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]]] = []
        self.engine = self._make_engine()

    # --- lifecycle ----------------------------------------------------------------

    def _make_engine(self) -> sqlalchemy.Engine:
        if self.dialect == "sqlite":
            assert self.url.sqlite_path is not None
            self.url.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            engine = sqlalchemy.create_engine(self.url.sqlalchemy_url, connect_args={"timeout": 30})
            synchronous = self.sqlite_synchronous

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised through every test
                dbapi_conn.isolation_level = None  # let the "begin" hook below decide
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous}")
                cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn):  # pragma: no cover
                # Take the write lock up front: a deferred transaction that reads and then
                # writes fails at once (SQLITE_BUSY) when another writer got in between.
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        return sqlalchemy.create_engine(self.url.sqlalchemy_url, pool_pre_ping=True, pool_size=2, max_overflow=4)

    def start(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="maidcore-db")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()
        self.engine.dispose()

    # --- running work -------------------------------------------------------------

    def connect(self) -> Any:
        """A new driver connection to the platform database (caller closes it)."""
        if self.dialect == "sqlite":
            assert self.url.sqlite_path is not None
            return connect_sqlite(self.url.sqlite_path, synchronous=self.sqlite_synchronous)
        assert self.url.conninfo is not None
        return connect_postgres(self.url.conninfo)

    def _thread_connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def _drop_thread_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                if conn in self._opened:
                    self._opened.remove(conn)
            with contextlib.suppress(Exception):
                conn.close()

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._thread_connection()
        if self.dialect == "postgresql" and conn.closed:
            self._drop_thread_connection()
            conn = self._thread_connection()
        try:
            return fn(conn, *args)
        except Exception as exc:
            if self.dialect == "postgresql" and _connection_lost(exc, conn):
                # the server restarted or dropped us: one retry on a fresh connection
                self._drop_thread_connection()
                return fn(self._thread_connection(), *args)
            raise

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(connection, *args)`` on a database thread and wait for it without blocking the loop."""
        if self._executor is None:
            raise RuntimeError("the storage layer is not started; call `await storage.start()` first")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args)

    def batched(self, fn: Callable[..., T], *args: Any, write: bool = False) -> asyncio.Future[T]:
        """Like ``run``, but calls queued in the same loop iteration share one trip to a database thread.

        On SQLite the writes among them also share one transaction (group commit):
        each runs inside its own savepoint, so one that fails is undone alone, and
        every caller is answered only after the COMMIT. On PostgreSQL the round
        trip dominates and connections work in parallel, so this is plain ``run``.
        """
        if self.dialect != "sqlite":
            return asyncio.ensure_future(self.run(fn, *args))
        if self._executor is None:
            raise RuntimeError("the storage layer is not started; call `await storage.start()` first")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        queue = self._writes if write else self._reads
        queue.append((fn, args, future))
        if len(queue) == 1:
            loop.call_soon(self._flush, loop, write)
        return future

    def _flush(self, loop: asyncio.AbstractEventLoop, write: bool) -> None:
        if write:
            batch, self._writes = self._writes, []
        else:
            batch, self._reads = self._reads, []
        try:
            if self._executor is None:
                raise RuntimeError("the storage layer is closed")
            self._executor.submit(self._run_batch, loop, batch, write)
        except RuntimeError as exc:  # closed (or shutting down): answer now rather than never
            _settle([(future, None, exc) for _fn, _args, future in batch])

    def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: list, write: bool) -> None:
        results: list[tuple[asyncio.Future, Any, BaseException | None]] = []
        conn = self._thread_connection()
        group = write and len(batch) > 1
        try:
            if group:
                conn.execute("BEGIN IMMEDIATE")
                self._local.group = True
            for fn, args, future in batch:
                try:
                    results.append((future, fn(conn, *args), None))
                except Exception as exc:
                    results.append((future, None, exc))
            if group:
                self._local.group = False
                conn.execute("COMMIT")
        except Exception as exc:  # BEGIN or COMMIT failed: nobody's write is acknowledged
            self._local.group = False
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            results = [(future, None, exc) for _fn, _args, future in batch]
        loop.call_soon_threadsafe(_settle, results)

    def run_batch(self, fn: Callable[[Any, list], list], batch: list) -> None:
        """Run ``fn(connection, batch)`` on a database thread; it returns ``(future, value, error)`` per caller.

        The futures are settled on the loop in one go. For callers that merge
        many small requests into one statement (see ``SqlKvStore.get``).
        """
        try:
            if self._executor is None:
                raise RuntimeError("the storage layer is not started; call `await storage.start()` first")
            self._executor.submit(self._call_batch, asyncio.get_running_loop(), fn, batch)
        except RuntimeError as exc:  # closed (or shutting down): answer now rather than never
            _settle([(item[-1], None, exc) for item in batch])

    def _call_batch(self, loop: asyncio.AbstractEventLoop, fn: Callable[[Any, list], list], batch: list) -> None:
        try:
            conn = self._thread_connection()
            if self.dialect == "postgresql" and conn.closed:
                self._drop_thread_connection()
                conn = self._thread_connection()
            results = fn(conn, batch)
        except Exception as exc:
            if self.dialect == "postgresql":
                self._drop_thread_connection()
            results = [(item[-1], None, exc) for item in batch]
        loop.call_soon_threadsafe(_settle, results)

    async def run_plain(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` (no connection) on a database thread."""
        if self._executor is None:
            raise RuntimeError("the storage layer is not started; call `await storage.start()` first")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args))

    # --- SQL helpers shared by the stores -------------------------------------------

    def sql(self, text: str) -> str:
        """Our own statements are written with ``?``; psycopg wants ``%s``."""
        return text if self.dialect == "sqlite" else text.replace("?", "%s")

    @contextlib.contextmanager
    def write(self, conn: Any) -> Iterator[Any]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite (no lock upgrade deadlocks), a plain one on PostgreSQL."""
        if self.dialect == "sqlite" and getattr(self._local, "group", False):
            # inside a group commit: this write alone can be undone, the batch commits once
            conn.execute("SAVEPOINT op")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                raise
            conn.execute("RELEASE op")
        elif self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            with conn.transaction():
                yield conn


def _settle(results: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    for future, value, exc in results:
        if future.cancelled():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)


def _connection_lost(exc: Exception, conn: Any) -> bool:
    import psycopg

    return isinstance(exc, psycopg.OperationalError) and bool(getattr(conn, "closed", False))
