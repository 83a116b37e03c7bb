"""SQLite KV reads served on the event loop thread (``Database.read_here``), next to writes on the pool.

A read runs on its own read-only connection, in WAL mode, as a fresh read
transaction: it must see every write acknowledged before it (from the pool's
connections and from other processes' connections alike), never an expired key,
and must hand a busy or long read to the pool instead of waiting on the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from maidcore_sqlmodel.database import Database, DatabaseUrl, ReadElsewhere
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from .test_kv import fill


@pytest.fixture
async def sqlite_storage(tmp_path: Path):
    store = SqlModelStorage(StorageSettings(database_url="sqlite://"), tmp_path / "data")
    await store.start()
    yield store
    await store.close()


def outside_connection(storage: SqlModelStorage) -> sqlite3.Connection:
    """A connection of nobody in the layer: another process or node writing the same file."""
    return sqlite3.connect(storage.db.url.sqlite_path, timeout=30, isolation_level=None, check_same_thread=False)


async def test_a_read_sees_every_write_acknowledged_before_it(sqlite_storage, scope):
    storage, kv, db = sqlite_storage, sqlite_storage.kv, sqlite_storage.db
    assert await kv.get(scope, "counter") is None  # opens the loop's reader before any write
    reader = db._readers.reader  # this thread's own connection, read-only
    assert reader.conn.execute("PRAGMA query_only").fetchall() == [(1,)]
    here, handed_off = db.reads_here, db.reads_handed_off

    async def writer(i: int) -> None:
        """Writes go through the pool (group commit); each read right after its acknowledgement runs on the loop."""
        for n in range(40):
            total = await kv.increment(scope, "counter", 1)
            assert await kv.get(scope, "counter") >= total  # others may have added more, never less
            key = f"w{i}-{n:02d}"
            await kv.put(scope, key, n)
            assert await kv.get(scope, key) == n
            many = await kv.get_many(scope, [key, "counter"])
            assert many[key] == n and many["counter"] >= total
            assert key in await kv.list_keys(scope, f"w{i}-", 100)
            assert await kv.count(scope, f"w{i}-") == (n + 1) // 2 + 1  # odd ones are deleted below
            await kv.delete(scope, key if n % 2 else "nothing")
            assert (await kv.get(scope, key)) == (None if n % 2 else n)

    await asyncio.gather(*(writer(i) for i in range(6)))
    assert await kv.get(scope, "counter") == 6 * 40
    assert db.reads_handed_off == handed_off  # nothing was busy, nothing long
    assert db.reads_here - here == 6 * 40 * 6 + 1  # every read was answered on the loop
    assert db._readers.reader is reader  # the same connection all along: no snapshot was kept between reads

    # a commit by a connection the layer does not know (another process, another node)
    outside = outside_connection(storage)
    try:
        for n in range(20):
            outside.execute(
                "UPDATE kv_entries SET value = ? WHERE server_id = ? AND plugin_id = ? AND key = ?",
                (str(1000 + n), scope.server_id, scope.plugin_id, "counter"),
            )
            assert await kv.get(scope, "counter") == 1000 + n
            assert await kv.list_values(scope, "counter", 1) == {"counter": 1000 + n}
    finally:
        outside.close()
    assert db.reads_handed_off == handed_off


async def test_expired_keys_stay_invisible_to_reads_on_the_loop(sqlite_storage, scope):
    kv, db = sqlite_storage.kv, sqlite_storage.db
    await fill(sqlite_storage, scope, 5, prefix="gone-", expires_at=time.time() - 1)
    await fill(sqlite_storage, scope, 3, prefix="live-", expires_at=time.time() + 3600)
    here = db.reads_here
    assert await kv.get(scope, "gone-00000") is None
    assert await kv.get(scope, "live-00000") == 1
    assert await kv.get_many(scope, ["gone-00001", "live-00001"]) == {"live-00001": 1}
    assert await kv.list_keys(scope, "", 100) == ["live-00000", "live-00001", "live-00002"]
    assert await kv.count(scope, "") == 3
    assert db.reads_here - here == 5


async def test_a_busy_database_sends_the_read_to_the_pool(sqlite_storage, scope, monkeypatch):
    """SQLITE_BUSY on the loop's connection (e.g. while a checkpoint resets the WAL) is never waited out
    on the loop: the read goes to a database thread, which waits with the busy timeout, and answers right."""
    kv, db = sqlite_storage.kv, sqlite_storage.db
    await kv.put(scope, "k", "v1")
    await kv.put(scope, "k2", "v2")
    assert await kv.get(scope, "k") == "v1"
    reader = db._readers.reader
    real, busy_reads = reader.conn, []

    class BusyConnection:
        """Answers every statement with SQLITE_BUSY, as SQLite does to a reader with a zero busy timeout."""

        def execute(self, *_args):
            busy_reads.append(threading.get_ident())
            raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(reader, "conn", BusyConnection())
    handed_off = db.reads_handed_off
    outside = outside_connection(sqlite_storage)  # a writer in the middle of a transaction meanwhile
    outside.execute("BEGIN IMMEDIATE")
    outside.execute(
        "UPDATE kv_entries SET value = ? WHERE server_id = ? AND plugin_id = ? AND key = ?",
        ('"v1-outside"', scope.server_id, scope.plugin_id, "k"),
    )
    try:
        reads = asyncio.gather(
            kv.get(scope, "k"),
            kv.get_many(scope, ["k", "k2"]),
            kv.list_values(scope, "k", 10),
            kv.count(scope, ""),
        )
        # answered by the pool; WAL: not held up by the open write transaction, which is not visible yet
        assert await asyncio.wait_for(reads, 10) == ["v1", {"k": "v1", "k2": "v2"}, {"k": "v1", "k2": "v2"}, 2]
        outside.execute("COMMIT")  # acknowledged: every later read must see it, busy or not
        assert await kv.get(scope, "k") == "v1-outside"
        assert await kv.get_many(scope, ["k"]) == {"k": "v1-outside"}
    finally:
        if outside.in_transaction:
            outside.execute("ROLLBACK")
        outside.close()
    assert set(busy_reads) == {threading.get_ident()}  # only ever tried on the loop thread
    assert db.reads_handed_off - handed_off == len(busy_reads) == 6

    monkeypatch.setattr(reader, "conn", real)  # busy no more: back on the loop
    here = db.reads_here
    assert await kv.get(scope, "k") == "v1-outside"
    assert db.reads_here == here + 1


async def test_long_scans_go_to_the_pool(sqlite_storage, scope):
    kv, db = sqlite_storage.kv, sqlite_storage.db
    await fill(sqlite_storage, scope, 3000, prefix="n-")
    await fill(sqlite_storage, scope, 3000, prefix="old-", expires_at=time.time() - 1)
    here, handed_off = db.reads_here, db.reads_handed_off
    assert len(await kv.list_keys(scope, "n-", 100)) == 100  # one short page: on the loop
    assert await kv.count(scope, "n-000") == 100
    assert (db.reads_here - here, db.reads_handed_off - handed_off) == (2, 0)
    assert await kv.count(scope, "") == 3000  # a count over thousands of rows: past the budget
    assert await kv.list_keys(scope, "old-", 100) == []  # skips 3,000 expired rows: past the budget
    assert (db.reads_here - here, db.reads_handed_off - handed_off) == (2, 2)
    db.loop_read_budget = 10**9
    assert await kv.count(scope, "") == 3000
    assert db.reads_here - here == 3


async def test_a_task_reading_in_a_tight_loop_lets_others_run(sqlite_storage, scope):
    kv = sqlite_storage.kv
    await kv.put(scope, "k", 1)
    ran = []

    async def other() -> None:
        ran.append(True)

    task = asyncio.create_task(other())
    for _ in range(100):
        await kv.get(scope, "k")
    assert ran
    await task


async def test_reads_on_the_loop_only_on_sqlite_in_wal_mode(request, backend, tmp_path, scope):
    from .conftest import storage_settings

    store = SqlModelStorage(storage_settings(request, backend), tmp_path / "data")
    await store.start()
    try:
        await store.kv.put(scope, "k", 1)
        assert await store.kv.get(scope, "k") == 1
        assert await store.kv.count(scope, "") == 1
        assert store.db.reads_here == (2 if backend == "sqlite" else 0)
    finally:
        await store.close()


async def test_a_rollback_journal_keeps_reads_on_the_pool(tmp_path):
    """Outside WAL mode readers and writers block each other: no reads on the loop then."""
    path = tmp_path / "rollback.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    db = Database(DatabaseUrl.resolve(f"sqlite:///{path}", tmp_path))
    db.start()
    try:
        for _ in range(2):
            with pytest.raises(ReadElsewhere):
                db.read_here(lambda c: c.execute("SELECT x FROM t").fetchall())
        assert db.reads_here == 0
        assert await db.run(lambda c: c.execute("SELECT x FROM t").fetchall()) == [(1,)]
    finally:
        db.close()
