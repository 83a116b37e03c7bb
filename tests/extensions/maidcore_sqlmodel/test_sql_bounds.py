"""What one plugin's SQL may cost the host and its neighbours: result bytes, stored bytes, threads, wall time."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time

import pytest
from maidcore_sqlmodel.sql.bounds import SqlBounds
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.errors import HostTimeout, RpcFailure
from maidcore.scope import Scope

from .conftest import storage_settings

SERIES = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {n}) SELECT n FROM r"
FOREVER = "SELECT count(*) AS c FROM (" + SERIES.format(n=2_000_000_000) + ") AS s"


@pytest.fixture
async def bounded(request, backend, tmp_path):
    """A storage layer with small SQL bounds."""

    async def make(**overrides):
        store = SqlModelStorage(storage_settings(request, backend, **overrides), tmp_path / f"d{len(stores)}")
        await store.start()
        stores.append(store)
        return store

    stores: list[SqlModelStorage] = []
    yield make
    for store in stores:
        await store.close()


async def test_a_result_over_the_byte_limit_is_a_typed_error(bounded, scope):
    store = await bounded(sql_max_result_bytes=50_000)
    text = secrets.token_hex(500)  # 1,000 characters per row
    rows, truncated = await store.sql.query(scope, f"SELECT $1 AS s FROM ({SERIES.format(n=20)}) AS r", [text], 1000)
    assert len(rows) == 20 and not truncated
    with pytest.raises(RpcFailure, match=r"sql result too large: over 50000 bytes of JSON after 50 rows"):
        await store.sql.query(scope, f"SELECT $1 AS s FROM ({SERIES.format(n=200)}) AS r", [text], 1000)
    rows, _ = await store.sql.query(scope, "SELECT 1 AS one", [], 1)  # the space still works
    assert rows == [{"one": 1}]


async def test_one_big_insert_cannot_pass_the_storage_quota(bounded, scope):
    """The quota is checked on what the statement really stored, not only before it ran."""
    store = await bounded(sql_quota_bytes=256 * 1024)
    await store.sql.execute(scope, "CREATE TABLE blob (b TEXT)", [])
    text = secrets.token_hex(500)  # incompressible rows, about 3 MB together: over ten times the quota
    with pytest.raises(RpcFailure, match="sql storage limit reached"):
        await store.sql.execute(
            scope, f"INSERT INTO blob (b) SELECT $1 || n FROM ({SERIES.format(n=3000)}) AS r", [text]
        )
    rows, _ = await store.sql.query(scope, "SELECT count(*) AS c FROM blob", [], 1)
    assert rows == [{"c": 0}]  # undone whole
    await store.sql.execute(scope, "INSERT INTO blob (b) VALUES ($1)", ["small rows still fit"])


async def test_one_plugins_slow_sql_holds_only_its_own_slots(bounded, scope):
    store = await bounded(
        sql_statement_timeout_seconds=1.5, sql_threads=3, sql_threads_per_plugin=1, sql_queue_per_plugin=1
    )
    neighbour = Scope(scope.server_id, scope.plugin_id + "-neighbour")
    slow = [asyncio.ensure_future(store.sql.query(scope, FOREVER, [], 1)) for _ in range(2)]
    await asyncio.sleep(0.2)
    # a third statement of the same plugin: its one slot runs, its one queue place is taken
    with pytest.raises(RpcFailure, match="sql busy: this plugin already has 1 statements running and 1 waiting"):
        await store.sql.query(scope, "SELECT 1 AS one", [], 1)
    started = time.monotonic()
    rows, _ = await store.sql.query(neighbour, "SELECT 1 AS one", [], 1)  # another plugin is not held up
    assert rows == [{"one": 1}] and time.monotonic() - started < 0.5
    outcomes = await asyncio.gather(*slow, return_exceptions=True)
    assert all(isinstance(o, HostTimeout) for o in outcomes), outcomes
    assert "waiting for this plugin's earlier statements" in str(outcomes[1])


async def test_the_wall_time_is_enforced_from_outside_the_statement():
    """A call whose database work ignores its own timeout is answered at the deadline, and keeps its slot."""
    bounds = SqlBounds(0.3, threads=4, threads_per_plugin=1, queue_per_plugin=4)
    bounds.start()
    release, cancelled = threading.Event(), threading.Event()

    def stuck(cancel):  # a driver call inside one long opcode: it notices nothing until it ends
        cancel.on_cancel(cancelled.set)
        release.wait(10)
        return "late"

    try:
        started = time.monotonic()
        with pytest.raises(HostTimeout, match=r"sql statement timed out after 0\.3s"):
            await bounds.run("greedy", stuck)
        assert 0.3 <= time.monotonic() - started < 1.0
        assert cancelled.wait(2)  # the driver's cancel was called (interrupt / cancel request)
        # its slot stays taken while the thread still works: the same plugin waits, then times out too
        with pytest.raises(HostTimeout, match="waiting for this plugin's earlier statements"):
            await bounds.run("greedy", lambda cancel: "next")
        assert await bounds.run("neighbour", lambda cancel: "answered") == "answered"
        release.set()
        await asyncio.sleep(0.1)
        assert await bounds.run("greedy", lambda cancel: "free again") == "free again"
    finally:
        release.set()
        bounds.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_statement_waiting_on_its_space_times_out(bounded, scope):
    store = await bounded(sql_statement_timeout_seconds=0.5)
    await store.sql.execute(scope, "CREATE TABLE t (x int)", [])
    space = store.sql._space(scope)
    with space.lock:  # an earlier statement of this space still running (stuck in one long opcode)
        started = time.monotonic()
        with pytest.raises(HostTimeout):
            await store.sql.query(scope, "SELECT count(*) AS c FROM t", [], 1)
        assert time.monotonic() - started < 1.5
    rows, _ = await store.sql.query(scope, "SELECT count(*) AS c FROM t", [], 1)
    assert rows == [{"c": 0}]
