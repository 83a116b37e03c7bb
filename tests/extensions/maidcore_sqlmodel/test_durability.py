"""Acknowledged writes survive SIGKILL; increments from several processes (nodes) lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from maidcore_sqlmodel.storage import SqlModelStorage

from .conftest import storage_settings
from .kv_worker import SCOPE

WORKER = Path(__file__).with_name("kv_worker.py")


def worker(mode: str, data_dir: Path, url: str | None, n: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), mode, str(data_dir), url or "", str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.slow
async def test_acknowledged_writes_survive_sigkill(request, backend, tmp_path):
    settings = storage_settings(request, backend)
    data_dir = tmp_path / "data"
    proc = worker("put", data_dir, settings.database_url, 10_000)
    acked = -1
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acked = int(line)
            if acked >= 300:
                break
        proc.send_signal(signal.SIGKILL)  # right after the acknowledgement: no chance to flush or close
    finally:
        proc.kill()
        proc.wait()
    assert acked >= 300
    storage = SqlModelStorage(settings, data_dir)
    await storage.start()
    try:
        got = await storage.kv.get_many(SCOPE, [f"k{i}" for i in range(acked - 49, acked + 1)])
        assert got == {f"k{i}": {"i": i} for i in range(acked - 49, acked + 1)}
        assert await storage.kv.count(SCOPE, "k") >= acked + 1
        sql = storage.db.sql("DELETE FROM kv_entries WHERE plugin_id = ?")  # the PostgreSQL database is shared

        def cleanup(conn):
            conn.execute(sql, (SCOPE.plugin_id,))

        await storage.db.run(cleanup)
    finally:
        await storage.close()


@pytest.mark.slow
async def test_increments_from_several_processes_lose_nothing(request, backend, tmp_path):
    settings = storage_settings(request, backend)
    data_dir = tmp_path / "data"
    storage = SqlModelStorage(settings, data_dir)
    await storage.start()  # migrate once before the workers race
    await storage.kv.delete(SCOPE, "shared")
    await storage.kv.delete(SCOPE, "nested")
    procs = [worker("increment", data_dir, settings.database_url, 60) for _ in range(4)]
    try:
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert all(o.strip() == "done" for o in outputs), outputs
    try:
        assert await storage.kv.get(SCOPE, "shared") == 240
        assert await storage.kv.get(SCOPE, "nested") == {"a": {"b": 240}}
    finally:
        await storage.kv.delete(SCOPE, "shared")
        await storage.kv.delete(SCOPE, "nested")
        await storage.close()


@pytest.mark.postgres
async def test_nodes_starting_together_on_a_fresh_postgres_database(postgres_server, tmp_path):
    """Migrations, the database lock-down and SQL roles are serialised between nodes that start at once."""
    import asyncio

    from maidcore_sqlmodel.settings import StorageSettings

    from maidcore.scope import Scope

    url = postgres_server.create_database(migrated=False)
    try:
        settings = StorageSettings(database_url=url, secrets_key="A" * 43 + "=")
        nodes = [SqlModelStorage(settings, tmp_path / f"node{i}") for i in range(4)]
        await asyncio.gather(*(n.start() for n in nodes))
        scope = Scope("1", "p")
        # every node creates the scope's schema and role on first use, at the same moment
        await asyncio.gather(*(n.sql.execute(scope, f"CREATE TABLE t{i} (x int)", []) for i, n in enumerate(nodes)))
        await asyncio.gather(*(n.kv.increment(scope, "c", 1) for n in nodes))
        assert await nodes[0].kv.get(scope, "c") == 4
        await asyncio.gather(*(n.close() for n in nodes))
    finally:
        postgres_server.drop_database(url)
