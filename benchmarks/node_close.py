"""Closing a node with N running workers: how long ``Platform.close`` takes, and what it kept.

N plugins (``close_<n>``) are installed on a real ``Platform`` (``maidcore.testing.platform``
settings; ``--backend process`` or ``docker``; storage SQLite in a temporary data
directory; Discord is the recording ``CannedDiscord``) and every worker is left running.
Each plugin is then sent ``!work-<n>``: its handler holds for ``--hold`` seconds (work in
flight when the node is told to stop) and then writes ``done`` into its KV store. With
``--hostile K`` the first K plugins instead block forever in the handler, ignore SIGTERM
and refuse to exit after ``host.shutdown`` (the SDK's own exit is disabled): only a kill
ends them.

Printed: the wall time of ``Platform.close`` and of each closer in it (runner, sandbox,
storage, ...), the load average before and after, and what a graceful stop promises:
KV writes of well-behaved plugins that landed (goal N - K), their events acked vs
dead-lettered, and containers / worker processes left after close (goal 0).

Old vs new: run it once with this worktree's interpreter and once with an interpreter
whose ``maidcore`` is the older code, at the same N (the script uses only APIs both have)::

    .venv/bin/python benchmarks/node_close.py --plugins 200 --backend docker
    /path/to/old/.venv/bin/python benchmarks/node_close.py --plugins 200 --backend docker
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from yourbot_sdk.testing import make_event

from maidcore import installs
from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.replay.canned import CannedDiscord, CannedExtension
from maidcore.scope import Scope
from maidcore.testing.platform import local_settings

SERVER_BASE = 710_000_000_000_000_000
CHANNEL_ID = "800000000000000001"
PLUGIN_MAIN = """import time

from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event.get("content") == "!work-{n}":
        time.sleep({hold})  # work in flight when the node is told to stop
        ctx.kv.set("done", {n})


if __name__ == "__main__":
    plugin.run()
"""
HOSTILE_MAIN = """import os
import signal
import time

from yourbot_sdk import Plugin

signal.signal(signal.SIGTERM, signal.SIG_IGN)
os._exit = lambda code: time.sleep(86400)  # the SDK's exit after host.shutdown never happens

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    while True:
        time.sleep(1)


if __name__ == "__main__":
    plugin.run()
"""


def server_of(n: int) -> str:
    return str(SERVER_BASE + n)


def write_bundle(root: Path, n: int, *, hold: float, hostile: bool) -> Path:
    bundle = root / f"close_{n}"
    bundle.mkdir(parents=True)
    manifest = {
        "id": f"close_{n}",
        "name": f"Close {n}",
        "version": f"1.0.{n}",
        "description": "Holds a handler open while the node closes.",
        "capabilities_required": ["storage:kv"],
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    main = HOSTILE_MAIN if hostile else PLUGIN_MAIN.replace("{n}", str(n)).replace("{hold}", repr(hold))
    (bundle / "__main__.py").write_text(main, encoding="utf-8")
    return bundle


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def containers_of(node: str) -> int:
    import docker

    client = docker.from_env()
    try:
        return len(client.api.containers(all=True, filters={"label": [f"maidcore.node={node}"]}))
    finally:
        client.close()


def alive(pids: set[int]) -> int:
    return sum(1 for pid in pids if Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split("\n", 1)[0].lower()
    except (OSError, IndexError):
        return "zombie"


def timed_closers(platform: Platform, timings: list[tuple[str, float]]) -> None:
    """Wrap each closer of the platform so ``close`` reports where its time went."""

    def wrap(what: str, closer: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
        async def timed() -> Any:
            start = time.perf_counter()
            try:
                return await closer()
            finally:
                timings.append((what, time.perf_counter() - start))

        return timed

    platform._closers = [(what, wrap(what, closer)) for what, closer in platform._closers]


async def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


async def run(args: argparse.Namespace) -> None:
    import maidcore

    with tempfile.TemporaryDirectory(prefix="maidcore-node-close-") as tmp:
        root = Path(tmp)
        data = root / "data"
        runner_values: dict[str, Any] = {"idle_stop_seconds": 0, "shutdown_grace_seconds": args.grace}
        extensions = Extensions.load()
        source = CannedDiscord()
        extensions.register(CannedExtension(source), name="canned")
        values: dict[str, Any] = {"sandbox_backend": args.backend, "runner": runner_values}
        if args.backend == "process":
            values["unsafe_no_isolation"] = True
        settings = local_settings(extensions, data, **values)
        print(
            f"node_close: {args.plugins} plugins ({args.hostile} hostile), backend {args.backend},"
            f" hold {args.hold:g} s, maidcore from {Path(maidcore.__file__).parent}, load {load()}"
        )
        platform = Platform(settings, extensions=extensions)
        await platform.start()
        runner = platform.runner
        assert runner is not None
        started = time.perf_counter()
        for n in range(args.plugins):
            bundle = write_bundle(root / "bundles", n, hold=args.hold, hostile=n < args.hostile)
            await installs.install(platform, bundle, server_of(n), installs.ALL)
        up = await wait_for(lambda: sum(s.registered for s in runner.slots.values()) >= args.plugins, args.timeout)
        registered = sum(s.registered for s in runner.slots.values())
        print(f"  {registered}/{args.plugins} workers running after {time.perf_counter() - started:.1f} s")
        if not up:
            print("  not every worker registered in time; closing anyway")
        node = getattr(platform.sandbox, "node", "")
        pids: set[int] = set()
        for worker in getattr(platform.sandbox, "_workers", {}).values():
            pids.add(worker.pid)
            pids.update(_descendants(worker.pid))
        for n in range(args.plugins):
            event = make_event("message_create", guild_id=server_of(n), channel_id=CHANNEL_ID, content=f"!work-{n}")
            await source.emit("message_create", event)
        await wait_for(lambda: sum(len(s.window.in_flight) for s in runner.slots.values()) >= args.plugins, 10)
        in_flight = sum(len(s.window.in_flight) for s in runner.slots.values())
        acked_before = runner.counters["acked"]
        timings: list[tuple[str, float]] = []
        timed_closers(platform, timings)
        load_before = load()
        counters = runner.counters
        closing = time.perf_counter()
        await platform.close()
        closed = time.perf_counter() - closing
        print(f"close: {closed:.1f} s with {in_flight} events in flight (load before {load_before}, after {load()})")
        for what, seconds in timings:
            if seconds >= 0.05:
                print(f"  {what}: {seconds:.2f} s")
        left = containers_of(node) if args.backend == "docker" else alive(pids)
        print(f"  left after close: {left} {'containers' if args.backend == 'docker' else 'worker processes'}")
        print(f"  acked during close: {counters['acked'] - acked_before}, dead-lettered: {counters['dead_lettered']}")

        reader = Platform(settings, extensions=extensions)
        storage = await reader.open_storage()
        try:
            done = 0
            for n in range(args.hostile, args.plugins):
                if await storage.kv.get(Scope(server_of(n), f"close_{n}"), "done") == n:
                    done += 1
        finally:
            await reader.close()
        well = args.plugins - args.hostile
        print(f"  shutdown work finished (KV written) by {done}/{well} well-behaved plugins")
        print(
            f"summary: N={args.plugins} backend={args.backend} close {closed:.1f} s"
            f" ({closed / max(args.plugins, 1) * 1000:.0f} ms per worker), {done}/{well} finished,"
            f" {left} left, load {load()}"
        )


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=200, help="running workers when the node closes (200)")
    parser.add_argument("--backend", choices=("process", "docker"), default="docker")
    parser.add_argument("--hostile", type=int, default=1, help="plugins that ignore the stop (1)")
    parser.add_argument("--hold", type=float, default=1.0, help="seconds each handler is still working (1)")
    parser.add_argument("--grace", type=float, default=5.0, help="runner.shutdown_grace_seconds (5)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for every worker (900)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
