"""One database (SQLite file or PostgreSQL URL) and the threads that talk to it.

Blocking driver calls never run on the event loop: every store hands a plain
function to ``Database.run``, which runs it on a small thread pool whose threads
each keep one open driver connection (``sqlite3`` or ``psycopg``). Reusing a
connection per thread keeps the hot KV path close to the bare driver's speed;
the SQLAlchemy ``engine`` (for SQLModel sessions and Alembic) is a separate pool.
On SQLite, batched writes (``Database.batched``) go to one writer thread of their
own instead, which commits everything queued since its last turn together. On
PostgreSQL, single-statement writes queued together (``Database.pipelined``) go to
the server as one pipeline in one transaction: one round trip, one commit.

The one exception is short reads on SQLite (``Database.read_here``): a point read
takes a few µs, the trip to a database thread and back tens of µs. In WAL mode a
reader neither waits for writers nor holds them up, so such reads run right on
the calling (event loop) thread, on a read-only connection of that thread's own
with no busy timeout. Each statement is its own read transaction, started after
the call: it sees every transaction committed before it, so every write that was
acknowledged. A read that would wait (``SQLITE_BUSY``, e.g. during a checkpoint
that resets the WAL) or that runs past a small instruction budget (a long scan) is
abandoned and goes to the thread pool instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
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
# Reads on the calling thread stop after about this many SQLite VM instructions (~20 ns each:
# a point read takes under 100, a 100-key page about 1,000, a count of 10,000 keys 70,000)
# and run again on the thread pool, so one never holds the event loop for more than ~0.2 ms.
LOOP_READ_BUDGET = 10_000
_PROGRESS_STEP = 1_000
# A read answered on the loop never suspends its caller; every this many, the caller yields once
# (``Database.yield_now``) so a task reading in a tight loop cannot starve the others.
LOOP_READS_PER_YIELD = 16
# PostgreSQL: at most this many statements share one pipeline (one transaction, one commit)
PIPELINE_MAX = 64


class ReadElsewhere(Exception):
    """``Database.read_here`` could not answer on this thread; run the read on the pool instead."""


@dataclass(frozen=True)
class DatabaseUrl:
    """Where the platform database lives, in the forms each client wants."""

    dialect: Dialect
    sqlalchemy_url: str
    sqlite_path: Path | None = None  # SQLite only
    conninfo: str | None = None  # PostgreSQL only: a libpq URL for psycopg

    @classmethod
    def resolve(cls, database_url: str, data_dir: Path) -> DatabaseUrl:
        """``sqlite:///path`` (``sqlite://`` alone: ``<data_dir>/maidcore.db``) or ``postgresql://...``."""
        scheme, sep, rest = database_url.partition("://")
        if not sep:
            raise ValueError(
                "storage.database_url must be a URL such as postgresql://user:password@host/db or sqlite://"
            )
        scheme = scheme.lower()
        if scheme == "sqlite" and not rest:
            path = Path(data_dir) / "maidcore.db"
            return cls("sqlite", f"sqlite:///{path}", sqlite_path=path)
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
        # SQLite: batched writes go to one writer thread, which commits what has queued up together
        self._write_queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, list] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()
        self._reads: list[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]]] = []
        self._writes: list[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]]] = []
        self._pipeline: list[tuple[Any, str, tuple[Any, ...], asyncio.Future[Any]]] = []  # PostgreSQL group commit
        # reads on the calling thread (SQLite in WAL mode only); see read_here
        self.read_here_enabled = self.dialect == "sqlite"
        self.loop_read_budget = LOOP_READ_BUDGET
        self.reads_here = 0  # answered on the calling thread
        self.reads_handed_off = 0  # tried there, then sent to the pool (busy, long, or failed)
        self._readers = threading.local()
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
        if self.dialect == "sqlite" and self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="maidcore-db-writer", daemon=True)
            self._writer.start()

    def close(self) -> None:
        if self._writer is not None:  # it answers everything queued before it stops
            self._write_queue.put(None)
            self._writer.join()
            self._writer = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()
        self._readers = threading.local()
        self.engine.dispose()

    # --- reads on the calling thread (SQLite WAL) -------------------------------------

    def read_here(self, fn: Callable[..., T], *args: Any) -> T:
        """Run the short read ``fn(connection, *args)`` now, on this thread's read-only connection.

        ``fn`` must fetch every row it reads (``fetchall``), so that no statement stays
        open and keeps an old snapshot. Raises ``ReadElsewhere`` when the read has to
        go to the pool (``Database.run``): not SQLite in WAL mode, the database is busy
        (no waiting here: the busy timeout of this connection is 0), or the read ran
        past ``loop_read_budget`` VM instructions.
        """
        if self._executor is None:
            raise RuntimeError("the storage layer is not started; call `await storage.start()` first")
        reader = getattr(self._readers, "reader", None)
        if reader is None:
            if not self.read_here_enabled:
                raise ReadElsewhere
            reader = self._open_reader()
        if reader is False:
            raise ReadElsewhere
        reader.ticks = 0
        try:
            result = fn(reader.conn, *args)
        except sqlite3.OperationalError as exc:  # busy, interrupted (too long), or a real error the pool repeats
            self.reads_handed_off += 1
            raise ReadElsewhere from exc
        self.reads_here += 1
        return result

    def yield_now(self) -> bool:
        """After a ``read_here``: whether the caller should ``await asyncio.sleep(0)`` before going on."""
        return self.reads_here % LOOP_READS_PER_YIELD == 0

    def _open_reader(self) -> _Reader | bool:
        assert self.url.sqlite_path is not None
        try:
            conn = sqlite3.connect(self.url.sqlite_path, timeout=0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ReadElsewhere from exc
        try:
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA query_only=ON")
            wal = conn.execute("PRAGMA journal_mode").fetchall()[0][0].lower() == "wal"
        except sqlite3.Error as exc:  # busy while opening: try again next time
            conn.close()
            raise ReadElsewhere from exc
        if not wal:  # a rollback journal: readers and writers block each other, keep reads on the pool
            conn.close()
            self._readers.reader = False
            return False
        reader = _Reader(self, conn)
        self._readers.reader = reader
        with self._lock:
            self._opened.append(conn)
        return reader

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
        each runs inside its own savepoint (none is needed for one that changes data
        with a single statement, see ``write``), so one that fails is undone alone, and
        every caller is answered only after the COMMIT. They go to one writer thread,
        which takes every batch queued since its last turn into that transaction: no
        two database threads wait on each other for SQLite's write lock, and a busy
        loop gets bigger group commits. On PostgreSQL the round
        trip dominates and connections work in parallel, so this is plain ``run``.
        """
        if self.dialect != "sqlite":
            return asyncio.ensure_future(self.run(fn, *args))
        if self._executor is None:
            raise RuntimeError("the storage layer is not started; call `await storage.start()` first")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        pending = self._writes if write else self._reads
        pending.append((fn, args, future))
        if len(pending) == 1:
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
            if write and self._writer is not None:
                self._write_queue.put((loop, batch))
            else:
                self._executor.submit(self._run_batch, loop, batch, write)
        except RuntimeError as exc:  # closed (or shutting down): answer now rather than never
            _settle([(future, None, exc) for _fn, _args, future in batch])

    def _write_loop(self) -> None:
        """The SQLite writer thread: each turn runs every batch queued so far as one group commit."""
        while True:
            item = self._write_queue.get()
            if item is None:
                break
            loop, batch = item
            stop = False
            while True:
                try:
                    item = self._write_queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if item[0] is not loop:  # another event loop: its own commit
                    self._write_turn(loop, batch)
                    loop, batch = item[0], []
                batch = batch + item[1]
            self._write_turn(loop, batch)
            if stop:
                break

    def _write_turn(self, loop: asyncio.AbstractEventLoop, batch: list) -> None:
        try:
            self._run_batch(loop, batch, True)
        except Exception as exc:  # no connection, or the loop is gone: the writer itself must live on
            self._local.group = False
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, [(future, None, exc) for _fn, _args, future in batch])

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
                    if group and not conn.in_transaction:
                        # SQLite rolled the whole transaction back (disk full, I/O error...):
                        # the writes before this one are gone too, so nobody's is acknowledged
                        raise
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

    def pipelined(self, sql: str, args: tuple[Any, ...], order: Any = "") -> asyncio.Future[tuple[int, Any]]:
        """PostgreSQL: one autocommit statement; its outcome is ``(rowcount, first row or None)``.

        Statements queued in the same loop iteration go to one database thread and on to
        the server as one pipeline in one transaction: one round trip and one commit for
        all of them (group commit). They run in ``order`` (stable, so two statements with
        the same order keep theirs): every batch takes its row locks in the same order,
        so batches on different connections or nodes cannot deadlock. If any statement
        fails, the transaction commits nothing and each statement runs again alone, so
        every caller gets its own statement's outcome and nothing is applied twice.
        """
        if self._executor is None:
            raise RuntimeError("the storage layer is not started; call `await storage.start()` first")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, Any]] = loop.create_future()
        self._pipeline.append((order, sql, args, future))
        if len(self._pipeline) == 1:
            loop.call_soon(self._flush_pipeline, loop)
        return future

    def _flush_pipeline(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._pipeline = self._pipeline, []
        for start in range(0, len(batch), PIPELINE_MAX):
            part = batch[start : start + PIPELINE_MAX]
            try:
                if self._executor is None:
                    raise RuntimeError("the storage layer is closed")
                self._executor.submit(self._run_pipeline, loop, part)
            except RuntimeError as exc:  # closed (or shutting down): answer now rather than never
                _settle([(future, None, exc) for *_rest, future in part])

    def _run_pipeline(self, loop: asyncio.AbstractEventLoop, batch: list) -> None:
        import psycopg

        results: list[tuple[asyncio.Future, Any, BaseException | None]] = []
        try:
            conn = self._thread_connection()
            if conn.closed:
                self._drop_thread_connection()
                conn = self._thread_connection()
            if len(batch) > 1:
                ordered = sorted(batch, key=lambda item: item[0])
                try:
                    with conn.pipeline():
                        cursors = [conn.execute(sql, args) for _order, sql, args, _future in ordered]
                    for cursor, (*_rest, future) in zip(cursors, ordered, strict=True):
                        results.append(
                            (future, (cursor.rowcount, cursor.fetchone() if cursor.description else None), None)
                        )
                except psycopg.Error:
                    # nothing of the batch was committed: each statement again, alone, below
                    results = []
                    if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        self._drop_thread_connection()
                        conn = self._thread_connection()
            if not results:
                for _order, sql, args, future in batch:
                    try:
                        cursor = conn.execute(sql, args)
                        results.append(
                            (future, (cursor.rowcount, cursor.fetchone() if cursor.description else None), None)
                        )
                    except Exception as exc:
                        results.append((future, None, exc))
                        if conn.closed:
                            self._drop_thread_connection()
                            conn = self._thread_connection()
        except Exception as exc:  # no connection at all
            self._drop_thread_connection()
            done = {id(f) for f, _v, _e in results}
            results += [(future, None, exc) for *_rest, future in batch if id(future) not in done]
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

    def lock_scope(self, conn: Any, topic: str, server_id: str, plugin_id: str) -> None:
        """In a write transaction: one caller at a time checks and writes one (server, plugin)'s ``topic`` quota.

        PostgreSQL: a transaction-scoped advisory lock on the names' hash, so
        every connection of every node takes turns until the COMMIT (a hash
        collision only makes two tenants take turns). SQLite: nothing to do,
        the write transaction already holds the database's one write lock.
        """
        if self.dialect == "postgresql":
            key = f"{topic}:{len(server_id)}:{server_id}:{plugin_id}"
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def in_group(self) -> bool:
        """On a database thread: whether the running call is inside a SQLite group commit (see ``batched``)."""
        return getattr(self._local, "group", False)

    @contextlib.contextmanager
    def write(self, conn: Any, *, single: bool = False) -> Iterator[Any]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite (no lock upgrade deadlocks), a plain one on PostgreSQL.

        ``single``: the body changes data with at most one statement, as its last step
        (reads before it are fine). Inside a group commit such a body needs no savepoint
        of its own: SQLite undoes a failing statement alone, and a body that fails before
        its write has written nothing.
        """
        if single and self.dialect == "sqlite" and getattr(self._local, "group", False):
            yield conn
        elif self.dialect == "sqlite" and getattr(self._local, "group", False):
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


class _Reader:
    """One thread's read-only connection, and the instruction budget of the read running on it."""

    __slots__ = ("conn", "db", "ticks")

    def __init__(self, db: Database, conn: sqlite3.Connection) -> None:
        self.db, self.conn, self.ticks = db, conn, 0
        conn.set_progress_handler(self._progress, _PROGRESS_STEP)

    def _progress(self) -> int:
        """Called every ``_PROGRESS_STEP`` VM instructions; non-zero interrupts the read (SQLITE_INTERRUPT)."""
        self.ticks += 1
        return self.ticks * _PROGRESS_STEP > self.db.loop_read_budget


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
