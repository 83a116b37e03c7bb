"""``maidcore serve --processes 2``: both shard ranges served by separate processes; a killed child comes back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from maidcore_discord.emulator import BOT_USER_ID, Emulator

from maidcore.supervisor import (
    Supervisor,
    SupervisorError,
    lease_plan,
    refuse_local_mode,
    refuse_sqlite,
    shard_plan,
    stop_grace,
)
from tests.core.plugins import write_plugin
from tests.core.test_serve import MAIDCORE, ROOT, cli, environment, wait_for

USER = "700000000000000001"


def test_shard_plan_deals_the_node_shards_round_robin():
    assert shard_plan(None, None, 2) == (2, [[0], [1]])
    assert shard_plan(None, 8, 3) == (8, [[0, 3, 6], [1, 4, 7], [2, 5]])
    assert shard_plan([5, 1, 3], 6, 2) == (6, [[1, 5], [3]])
    with pytest.raises(SupervisorError, match="--processes 3 needs at least 3 shards, but this node runs 2"):
        shard_plan([0, 1], 4, 3)


def test_a_child_gets_its_workers_grace_and_its_own_close_before_sigkill():
    assert stop_grace(5.0) == 30.0  # the default grace: the floor
    assert stop_grace(60.0) == 85.0  # a longer runner.shutdown_grace_seconds is never cut short by the parent


def test_processes_refuse_sqlite_and_local_mode():
    with pytest.raises(SupervisorError, match=r"SQLite .*embedded PostgreSQL"):
        refuse_sqlite("sqlite:////tmp/x.db")
    refuse_sqlite("postgresql+psycopg://u@h/db")
    refuse_sqlite(None)  # the embedded PostgreSQL server: fine
    with pytest.raises(SupervisorError, match=r"needs discord\.token"):
        refuse_local_mode(None)
    refuse_local_mode(None, "http://127.0.0.1:8787")  # an emulator another process runs: the children share it


def test_in_a_cluster_each_child_leases_shards_as_a_node_of_its_own(tmp_path):
    plan = lease_plan(2)
    assert plan == [None, None]
    supervisor = Supervisor(tmp_path, plan, None, [], env={"MAIDCORE_DISCORD__SHARD_IDS": "[0]"}, node_id="host-7")
    first, second = (supervisor.child_env(c) for c in supervisor.children)
    assert first["MAIDCORE_CLUSTER__NODE_ID"] == "host-7/0" and second["MAIDCORE_CLUSTER__NODE_ID"] == "host-7/1"
    assert "MAIDCORE_DISCORD__SHARD_COUNT" not in first  # Discord's recommendation, as a single cluster node
    assert first["MAIDCORE_DISCORD__SHARD_IDS"] == "[0]"  # given by the operator, not a split (leases decide)
    static = Supervisor(tmp_path, [[0], [1]], 2, [], env={})
    assert static.child_env(static.children[1])["MAIDCORE_DISCORD__SHARD_IDS"] == "[1]"
    assert "MAIDCORE_CLUSTER__NODE_ID" not in static.child_env(static.children[1])


def test_serve_processes_on_sqlite_says_what_to_use(tmp_path):
    env = environment(tmp_path / "data", MAIDCORE_STORAGE__DATABASE_URL=f"sqlite:///{tmp_path}/m.db")
    done = cli(env, "serve", "--processes", "2")
    assert done.returncode == 1
    assert "is SQLite" in done.stderr and "embedded PostgreSQL" in done.stderr
    assert not (tmp_path / "data" / "serve.json").exists()


class EmulatorThread:
    """The emulator on its own event loop, as a separate Discord would be."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.emu = Emulator("127.0.0.1", 0, demo=False)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.emu.start(), self.loop).result(10)

    def call(self, fn, *args, **kw):
        async def run():
            return fn(*args, **kw)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def shards(self) -> set[tuple[int, int]]:
        return self.call(lambda: {s.shard for s in self.emu.sessions.values()})

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.emu.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def guild_on_shard(shard: int, of: int) -> str:
    base = 900000000000001000
    return next(str(g) for g in range(base, base + 10_000_000, 1 << 22) if (g >> 22) % of == shard)


# the node of these tests: two serving processes, plugins in plain processes, no web API
SERVE_TWO_PROCESSES = [
    *(str(MAIDCORE), "serve", "--processes", "2", "--sandbox", "process", "--unsafe-no-isolation", "--no-web")
]


def two_shard_node(tmp_path: Path, database_url: str) -> tuple[EmulatorThread, list[str], dict[str, str]]:
    """An emulator with a guild on each of two shards, and a node's environment with the pinger installed on both."""
    emulator = EmulatorThread()
    guilds = [guild_on_shard(0, 2), guild_on_shard(1, 2)]
    channels = []
    for gid in guilds:
        emulator.call(
            emulator.emu.add_guild, f"g{gid}", guild_id=gid, bot_permissions=1 << 11 | 1 << 10, members={USER: "ann"}
        )
        channels.append(emulator.call(emulator.emu.channel_named, gid, "general"))
    env = environment(
        tmp_path / "data",
        MAIDCORE_STORAGE__DATABASE_URL=database_url,
        MAIDCORE_DISCORD__TOKEN=emulator.emu.bot_token,
        MAIDCORE_DISCORD__API_BASE=emulator.emu.api_base,
        MAIDCORE_DISCORD__SHARD_COUNT="2",
    )
    plugin = write_plugin(tmp_path / "pinger")
    for gid in guilds:
        assert cli(env, "install", str(plugin), "--server", gid, "--grant-all").returncode == 0
    return emulator, channels, env


@pytest.mark.slow
def test_two_processes_serve_both_shard_ranges_and_a_killed_child_restarts(tmp_path, pg_fresh_url):
    emulator, channels, env = two_shard_node(tmp_path, pg_fresh_url)
    data_dir = tmp_path / "data"
    server = subprocess.Popen(
        SERVE_TWO_PROCESSES,
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )

    def pongs(channel: str) -> int:
        messages = emulator.call(lambda: list(emulator.emu.state.messages.get(channel, {}).values()))
        return sum(1 for m in messages if m["author"]["id"] == BOT_USER_ID and m["content"] == "Pong!")

    def ping_answered(channel: str) -> None:
        before = pongs(channel)

        def answered() -> bool:
            emulator.call(emulator.emu.post_message, channel, USER, "!ping")
            return pongs(channel) > before

        wait_for(answered, 60, f"a Pong! in channel {channel}")

    def children() -> list[dict]:
        status = json.loads((data_dir / "status.json").read_text())
        return status["processes"]

    try:
        wait_for(lambda: emulator.shards() == {(0, 2), (1, 2)}, 90, "one gateway session per shard")
        for channel in channels:
            ping_answered(channel)
        status = json.loads(cli(env, "status", "--json").stdout)
        assert status["running"] is True
        assert [p["shards"] for p in status["processes"]] == [[0], [1]]
        first_pid = children()[0]["pid"]
        assert first_pid and first_pid != server.pid
        os.kill(first_pid, signal.SIGKILL)
        wait_for(lambda: children()[0]["pid"] not in (None, first_pid), 30, "the killed child restarted")
        assert children()[0]["process_restarts"] == 1
        ping_answered(channels[0])  # shard 0 is served again
        ping_answered(channels[1])
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=90)
        emulator.close()
    assert server.returncode == 0, stderr[-3000:]
    assert not (data_dir / "serve.json").exists() and not (data_dir / "status.json").exists()


@pytest.mark.slow
def test_children_end_when_the_parent_is_killed(tmp_path, pg_fresh_url):
    """SIGKILL of the parent leaves no child serving on its own (they hold no lock of the data directory)."""
    emulator, _, env = two_shard_node(tmp_path, pg_fresh_url)
    data_dir = tmp_path / "data"
    server = subprocess.Popen(
        SERVE_TWO_PROCESSES,
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    pids: list[int] = []
    try:
        wait_for(lambda: emulator.shards() == {(0, 2), (1, 2)}, 90, "one gateway session per shard")
        pids = [p["pid"] for p in json.loads((data_dir / "status.json").read_text())["processes"]]
        assert len(pids) == 2 and all(pids)
        server.kill()
        server.wait(30)

        def alive(pid: int) -> bool:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                return False
            return state != "Z"

        wait_for(lambda: not any(alive(pid) for pid in pids), 60, "both children gone after the parent's SIGKILL")
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        emulator.close()
