"""Closing a node with many running workers keeps every graceful-stop promise, on both sandbox backends.

A real platform (SQLite storage, ``CannedDiscord``) runs many plugins, each in the middle
of a handler that finishes by writing to its KV store, and one hostile plugin that blocks
in its handler, ignores SIGTERM and disables the SDK's exit. ``Platform.close`` must let
every well-behaved handler finish (its KV write lands, its event is acked, not
dead-lettered), kill the hostile worker at the deadline (its event becomes a dead letter)
and leave no worker behind: no process in /proc, no container or code volume on the engine.
Outcomes only: how long the close takes is measured by ``benchmarks/node_close.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from yourbot_sdk.testing import make_event

from maidcore import installs
from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.replay.canned import CannedDiscord, CannedExtension
from maidcore.scope import Scope
from maidcore.testing.platform import local_settings

WELL_BEHAVED = """
import time

from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def work(ctx, event):
    if event.get("content") == "!work":
        time.sleep(1.5)  # still working when the node is told to stop
        ctx.kv.set("done", event["guild_id"])


if __name__ == "__main__":
    plugin.run()
"""

HOSTILE = """
import os
import signal
import time

from yourbot_sdk import Plugin

signal.signal(signal.SIGTERM, signal.SIG_IGN)
os._exit = lambda code: time.sleep(86400)  # the SDK's exit after host.shutdown never comes

plugin = Plugin()


@plugin.on_event("message_create")
def block(ctx, event):
    while True:
        time.sleep(1)


if __name__ == "__main__":
    plugin.run()
"""

GRACE = 8.0  # runner.shutdown_grace_seconds: ample for a 1.5 s handler, even on a loaded machine
SERVER_BASE = 720_000_000_000_000_000


def write_bundle(root: Path, plugin_id: str, code: str) -> Path:
    bundle = root / plugin_id
    bundle.mkdir(parents=True)
    manifest = {
        "id": plugin_id,
        "name": plugin_id,
        "version": "1.0.0",
        "description": "Node close test plugin.",
        "capabilities_required": ["storage:kv"],
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (bundle / "__main__.py").write_text(code, encoding="utf-8")
    return bundle


def live(pid: int) -> bool:
    """The process exists and is not a zombie waiting for its parent."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in os.listdir(f"/proc/{parent}/task") if os.path.isdir(f"/proc/{parent}/task") else ():
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


async def wait_until(predicate, timeout: float, what: str) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize(("backend", "plugins"), [("process", 40), ("docker", 20)])
async def test_a_node_closes_many_workers_gracefully_and_kills_the_one_ignoring_the_stop(
    backend: str, plugins: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    values: dict[str, Any] = {
        "sandbox_backend": backend,
        "runner": {"idle_stop_seconds": 0, "shutdown_grace_seconds": GRACE, "log_flush_seconds": 0.1},
    }
    client = None
    if backend == "docker":
        from tests.extensions.maidcore_docker.support import ensure_test_image

        client = request.getfixturevalue("docker_client")
        ensure_test_image(client)
    else:
        values["unsafe_no_isolation"] = True  # the canned source stands in for real users; no isolation is tested
    extensions = Extensions.load()
    discord = CannedDiscord()
    extensions.register(CannedExtension(discord), name="canned")
    settings = local_settings(extensions, tmp_path / "data", **values)
    servers = {f"good_{n}": str(SERVER_BASE + n) for n in range(plugins)}
    servers["hostile"] = str(SERVER_BASE + plugins)

    platform = Platform(settings, extensions=extensions)
    await platform.start()
    try:
        runner = platform.runner
        assert runner is not None and platform.chosen["sandbox_backend"] == backend
        settled: dict[str, list[bool]] = {}
        runner.settled_observers.append(lambda slot, d, acked: settled.setdefault(slot.plugin_id, []).append(acked))
        for plugin_id, server in servers.items():
            code = HOSTILE if plugin_id == "hostile" else WELL_BEHAVED
            await installs.install(platform, write_bundle(tmp_path / "bundles", plugin_id, code), server, installs.ALL)
        await wait_until(lambda: all(s.registered for s in runner.slots.values()), 240, "every worker registered")
        assert len(runner.slots) == plugins + 1

        for server in servers.values():
            event = make_event("message_create", guild_id=server, channel_id="900", content="!work")
            await discord.emit("message_create", event)
        await wait_until(
            lambda: all(len(s.window.in_flight) == 1 for s in runner.slots.values()), 60, "every event in flight"
        )
        hostile_worker = next(s for s in runner.slots.values() if s.plugin_id == "hostile").worker
        assert hostile_worker is not None
        node = getattr(platform.sandbox, "node", None)
        pids: set[int] = set()
        if backend == "process":
            roots = [w.pid for w in platform.sandbox._workers.values()] + platform.sandbox.pool.pids
            pids = set(roots).union(*(descendants(pid) for pid in roots))
            assert len(pids) >= 2 * (plugins + 1)  # a reaper and its plugin per worker
        else:
            running = client.api.containers(filters={"label": [f"maidcore.node={node}"]})
            assert len(running) >= plugins + 1
    finally:
        await platform.close()

    # the hostile worker was killed; every other handler ran to its end and was acked
    status = await hostile_worker.wait()
    assert "SIGKILL" in status.reason, status.reason
    assert settled.get("hostile") == [False], settled.get("hostile")
    unfinished = {p: outcomes for p, outcomes in settled.items() if p != "hostile" and outcomes != [True]}
    assert not unfinished and len(settled) == plugins + 1, unfinished or sorted(settled)

    reader = Platform(settings, extensions=extensions)
    storage = await reader.open_storage()
    try:
        written = {p: await storage.kv.get(Scope(server, p), "done") for p, server in servers.items()}
        letters = await storage.records.list_dead_letters(server_id=servers["hostile"])
    finally:
        await reader.close()
    missing = [p for p, server in servers.items() if p != "hostile" and written[p] != server]
    assert not missing, f"shutdown work lost by {missing}"
    assert written["hostile"] is None
    assert [(d.plugin_id, d.error) for d in letters] == [("hostile", "host shut down before the event was acked")]

    # nothing of any worker is left
    if backend == "process":
        assert not [pid for pid in pids if live(pid)], "worker processes left after close"
    else:
        left = client.api.containers(all=True, filters={"label": [f"maidcore.node={node}"]})
        assert left == [], [c["Names"] for c in left]
        volumes = (client.api.volumes(filters={"label": [f"maidcore.node={node}"]}) or {}).get("Volumes") or []
        assert volumes == [], [v["Name"] for v in volumes]


async def test_a_start_still_waiting_in_the_spawn_queue_is_dropped_not_run_at_close(tmp_path: Path) -> None:
    """Closing while first starts wait their turn starts none of them (each would only be stopped again)."""
    values: dict[str, Any] = {
        "sandbox_backend": "process",
        "unsafe_no_isolation": True,
        "runner": {"shutdown_grace_seconds": 2.0},
        # one start at a time, and a worker silent on stdout keeps its turn: everything after it waits
        "process": {"concurrent_spawns": 1, "spawn_hold_seconds": 600, "warm_pool_size": 0},
    }
    extensions = Extensions.load()
    extensions.register(CannedExtension(CannedDiscord()), name="canned")
    platform = Platform(local_settings(extensions, tmp_path / "data", **values), extensions=extensions)
    await platform.start()
    started: list[str] = []
    backend = platform.sandbox
    real_exec = backend._exec

    async def counted_exec(command: list[str], *, cwd: Path, env: dict[str, str]):
        started.append(str(cwd))
        return await real_exec(command, cwd=cwd, env=env)

    backend._exec = counted_exec
    try:
        silent = write_bundle(tmp_path / "bundles", "silent", "import time\ntime.sleep(3600)\n")
        await installs.install(platform, silent, str(SERVER_BASE), installs.ALL)
        await wait_until(lambda: len(started) == 1, 30, "the silent worker holding the only turn")
        for n in range(3):
            bundle = write_bundle(tmp_path / "bundles", f"queued_{n}", WELL_BEHAVED)
            await installs.install(platform, bundle, str(SERVER_BASE + 1 + n), installs.ALL)
        await wait_until(lambda: backend.spawns.waiting == 3, 30, "three first starts queued")
    finally:
        await platform.close()
    assert len(started) == 1, f"queued starts were run at close: {started[1:]}"
    assert backend.spawns.waiting == 0 and not backend._workers
