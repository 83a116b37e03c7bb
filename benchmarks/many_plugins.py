"""Many plugin versions on one node: start failures, spawn times, answers, and memory running vs idle.

``--plugins`` (default 1,000) distinct plugins are generated (``bench_<n>``,
answering ``!ping-<n>`` with ``pong-<n>``) and each is installed on a server of
its own through ``maidcore.installs.install`` on a real ``Platform``
(``maidcore.testing.platform``: the process backend by default, ``--backend
docker`` optional; storage the embedded PostgreSQL server, or
``--database-url``). Only Discord is the recording ``CannedDiscord``.

1. **baseline**: the node started with nothing installed; its memory.
2. **install** (``runner.idle_stop_seconds = 0``): every plugin is installed in
   turn; spawn time is install returned -> the worker's ``plugin.register``.
   Workers that never registered, restarted, or were parked count as failed.
   A sample is sent ``!ping-<n>`` and must answer. Memory with all running.
3. **eager restart** (``idle_stop_seconds = --idle-stop``, 5 s): the remembered
   registrations are deleted first, so the node started again on the same data
   starts every worker at load (as before lazy starts): time until
   ``Platform.start`` returned, until a random plugin answered a ping, until
   every worker registered; memory once every slot stopped for idleness.
4. **lazy restart**: the node again, every registration remembered: the same
   times, worker processes at start (goal 0), memory of the idle node, then a
   sample woken at once by a ping each (wake latency) and memory again.

Memory is RSS of this (host) process, plus RSS and PSS of every other process
below it: the workers (process backend: reaper + plugin, found from the
backend's pids; Docker: the cgroup usage of each container this process
started, warm spares included, counted as both RSS and PSS) and the rest (the
embedded database server). Installing stops early, and the N reached is reported, when
``MemAvailable`` drops under ``--min-free-gib`` (4).

Usage: ``.venv/bin/python benchmarks/many_plugins.py [--plugins 1000] [--backend process|docker]
[--database-url URL] [--idle-stop 5] [--sample 50] [--wake-sample 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yourbot_sdk.testing import make_event

from maidcore import installs
from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.replay.canned import CannedDiscord
from maidcore.runner.worker import SlotState
from maidcore.scope import Scope
from maidcore.testing.platform import running_platform

SERVER_BASE = 700_000_000_000_000_000
CHANNEL_ID = "800000000000000001"
PLUGIN_MAIN = """from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event.get("content") == "!ping-{n}":
        ctx.discord.send_message(channel_id=event["channel_id"], content="pong-{n}")


if __name__ == "__main__":
    plugin.run()
"""
MIB = 1024 * 1024


def server_of(n: int) -> str:
    return str(SERVER_BASE + n)


def write_bundle(root: Path, n: int) -> Path:
    bundle = root / f"bench_{n}"
    bundle.mkdir(parents=True)
    manifest = {
        "id": f"bench_{n}",
        "name": f"Bench {n}",
        "version": f"1.0.{n}",
        "description": f"Answers !ping-{n}.",
        "capabilities_required": ["discord:send_message"],
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (bundle / "__main__.py").write_text(PLUGIN_MAIN.replace("{n}", str(n)), encoding="utf-8")
    return bundle


class AnsweringDiscord(CannedDiscord):
    """``CannedDiscord`` that wakes whoever waits for a message with a given content."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, asyncio.Future[float]] = {}

    async def call(self, scope: Scope, method: str, params: Mapping[str, Any]) -> Any:
        future = self.waiting.pop(str(params.get("content")), None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())
        return await super().call(scope, method, params)

    async def ping(self, n: int, timeout: float) -> float | None:
        """Seconds from ``!ping-<n>`` published to ``pong-<n>`` sent, or ``None`` without an answer."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[f"pong-{n}"] = future
        event = make_event("message_create", guild_id=server_of(n), channel_id=CHANNEL_ID, content=f"!ping-{n}")
        start = time.perf_counter()
        await self.emit("message_create", event)
        try:
            return await asyncio.wait_for(future, timeout) - start
        except TimeoutError:
            self.waiting.pop(f"pong-{n}", None)
            return None


# -- memory -------------------------------------------------------------------


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def _status_kib(pid: int, field: str, name: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss(pid: int) -> int:
    return _status_kib(pid, "VmRSS") * 1024


def pss(pid: int) -> int:
    return _status_kib(pid, "Pss", "smaps_rollup") * 1024


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                stack.append(child)
    return found


@dataclass
class Memory:
    host_rss: int
    workers_rss: int
    workers_pss: int
    worker_processes: int
    other_rss: int
    other_pss: int
    unit: str = "procs"

    @property
    def total_pss(self) -> int:
        """Host RSS + every process below it (PSS): the node's footprint."""
        return self.host_rss + self.workers_pss + self.other_pss

    def line(self, label: str, baseline: Memory | None, plugins: int) -> str:
        text = (
            f"  {label:<28} node {self.total_pss / MIB:8.1f} MiB = host RSS {self.host_rss / MIB:6.1f}"
            f" + workers PSS {self.workers_pss / MIB:8.1f} (RSS {self.workers_rss / MIB:8.1f},"
            f" {self.worker_processes} {self.unit}) + other PSS {self.other_pss / MIB:6.1f}"
        )
        if baseline is not None:
            extra = self.total_pss - baseline.total_pss
            text += f"; {self.total_pss / baseline.total_pss:5.2f}x baseline"
            if plugins:
                text += f", {extra / plugins / MIB:+.3f} MiB per plugin"
        return text


def worker_pids(platform: Platform) -> set[int]:
    """The process backend's workers (reapers) and everything below them."""
    roots = [w.pid for w in getattr(platform.sandbox, "_workers", {}).values()]
    pids = set(roots)
    for root in roots:
        pids.update(descendants(root))
    return pids


def container_memory() -> tuple[int, int]:
    """(bytes, count) of the containers this process started (warm spares included), read from their cgroups."""
    import docker
    from maidcore_docker.containers import OWNER_LABEL, owner_token

    client = docker.from_env()
    total = count = 0
    for container in client.containers.list(filters={"label": f"{OWNER_LABEL}={owner_token()}"}):
        for path in (
            f"/sys/fs/cgroup/memory/docker/{container.id}/memory.usage_in_bytes",
            f"/sys/fs/cgroup/system.slice/docker-{container.id}.scope/memory.current",
        ):
            try:
                total += int(Path(path).read_text())
                count += 1
                break
            except OSError:
                continue
    client.close()
    return total, count


def measure(platform: Platform, backend: str) -> Memory:
    me = os.getpid()
    workers = worker_pids(platform) if backend == "process" else set()
    others = [pid for pid in descendants(me) if pid not in workers]
    if backend == "docker":
        workers_bytes, count = container_memory()
        w_rss = w_pss = workers_bytes
    else:
        w_rss, w_pss, count = sum(map(rss, workers)), sum(map(pss, workers)), len(workers)
    unit = "containers" if backend == "docker" else "procs"
    return Memory(rss(me), w_rss, w_pss, count, sum(map(rss, others)), sum(map(pss, others)), unit)


# -- the run ----------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"p50 {pct(values, 0.5) * 1000:.0f} ms, p90 {pct(values, 0.9) * 1000:.0f} ms,"
        f" p99 {pct(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
    )


def describe(slot: Any) -> str:
    reason = f", {slot.park_reason}" if slot.park_reason else ""
    return f"{slot.plugin_id} ({slot.state.value}, {slot.restarts} restarts{reason})"


def failed_slots(platform: Platform) -> list[str]:
    """Slots whose worker never registered (nor idled after registering), restarted, or is backing off/parked."""
    assert platform.runner is not None
    return [
        describe(slot)
        for slot in platform.runner.slots.values()
        if not (slot.registered or slot.idle_stops)
        or slot.restarts
        or slot.state in (SlotState.BACKOFF, SlotState.PARKED)
    ]


async def wait_for(predicate: Any, timeout: float, poll: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(poll)
    return bool(predicate())


async def pings(discord: AnsweringDiscord, ns: list[int], timeout: float) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    missing: list[int] = []
    for n in ns:
        latency = await discord.ping(n, timeout)
        if latency is None:
            missing.append(n)
        else:
            latencies.append(latency)
    return latencies, missing


async def burst(discord: AnsweringDiscord, ns: list[int], timeout: float) -> tuple[list[float], list[int]]:
    """Ping every plugin of ``ns`` at once (woken together, measured before idle stop takes them again)."""
    answers = await asyncio.gather(*(discord.ping(n, timeout) for n in ns))
    return [a for a in answers if a is not None], [n for n, a in zip(ns, answers, strict=True) if a is None]


def node_values(args: argparse.Namespace, idle_stop: float) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sandbox_backend": args.backend,
        "runner": {"idle_stop_seconds": idle_stop},
    }
    if args.database_url:
        values["storage"] = {"database_url": args.database_url}
    return values


async def run(args: argparse.Namespace) -> None:
    random.seed(args.seed)
    min_free = int(args.min_free_gib * 1024 * MIB)
    with tempfile.TemporaryDirectory(prefix="maidcore-many-plugins-") as tmp:
        root = Path(tmp)
        data = root / "data"
        print(
            f"many_plugins: {args.plugins} plugins, backend {args.backend},"
            f" storage {'external PostgreSQL' if args.database_url else 'embedded PostgreSQL'},"
            f" MemAvailable {mem_available() / 2**30:.1f} GiB at start"
        )

        # 1. baseline and install, workers never idle-stopped
        discord = AnsweringDiscord()
        installed = 0
        spawn: list[float] = []
        install_s: list[float] = []
        stopped_early = ""
        async with running_platform(
            data, source=discord, extensions=Extensions.load(), **node_values(args, 0)
        ) as platform:
            runner = platform.runner
            assert runner is not None
            await asyncio.sleep(2)
            baseline = measure(platform, args.backend)
            print("memory (host RSS + PSS of every process below it):")
            print(baseline.line("baseline (no plugins)", None, 0))

            registered_at: dict[str, float] = {}
            returned_at: dict[str, float] = {}

            async def watch() -> None:
                while True:
                    now = time.perf_counter()
                    for slot in list(runner.slots.values()):
                        if slot.registered and slot.plugin_id not in registered_at:
                            registered_at[slot.plugin_id] = now
                    await asyncio.sleep(0.02)

            watcher = asyncio.create_task(watch())
            started = time.perf_counter()
            for n in range(args.plugins):
                if n % 10 == 0 and mem_available() < min_free:
                    stopped_early = f"MemAvailable under {args.min_free_gib} GiB after {n} plugins"
                    print(f"  stopping: {stopped_early}")
                    break
                bundle = write_bundle(root / "bundles", n)
                t0 = time.perf_counter()
                await installs.install(platform, bundle, server_of(n), installs.ALL)
                returned_at[f"bench_{n}"] = time.perf_counter()
                install_s.append(returned_at[f"bench_{n}"] - t0)
                installed += 1
                if (n + 1) % 100 == 0:
                    print(
                        f"  {n + 1} installed in {time.perf_counter() - started:.0f} s,"
                        f" {len(registered_at)} registered, MemAvailable {mem_available() / 2**30:.1f} GiB"
                    )
            all_up = await wait_for(lambda: len(registered_at) >= installed, args.start_timeout)
            install_wall = time.perf_counter() - started
            watcher.cancel()
            spawn = [registered_at[p] - returned_at[p] for p in returned_at if p in registered_at]
            failed = failed_slots(platform)
            print(f"install: {installed} plugins in {install_wall:.1f} s ({installed / install_wall:.1f}/s)")
            print(f"  install call: {ms(install_s)}")
            print(f"  spawn (install returned -> plugin.register): {ms(spawn)}")
            print(f"  failed to start: {len(failed)} (goal 0){': ' + ', '.join(failed[:10]) if failed else ''}")
            if not all_up:
                print(f"  not all registered within {args.start_timeout:.0f} s")
            sample = sorted(random.sample(range(installed), min(args.sample, installed)))
            latencies, missing = await pings(discord, sample, args.ping_timeout)
            print(f"  ping sample: {len(latencies)}/{len(sample)} answered; {ms(latencies)}")
            if missing:
                print(f"  no answer from: {', '.join(f'bench_{n}' for n in missing[:20])}")
            running = measure(platform, args.backend)
            print(running.line(f"{installed} running", baseline, installed))

            forgotten = await forget_registrations(platform)
            print(f"  registrations forgotten for the eager restart: {forgotten}")
            closing = time.perf_counter()
        print(f"node closed in {time.perf_counter() - closing:.1f} s")

        # 2. the node again with no registration remembered: every worker starts at load (as before lazy starts)
        eager = await restart(args, data, installed, baseline, remembered=False)
        # 3. and again, every registration remembered: no worker until there is work
        lazy = await restart(args, data, installed, baseline, remembered=True)
        run_extra = running.total_pss - baseline.total_pss
        idle_extra = lazy.idle.total_pss - baseline.total_pss
        per = max(installed, 1) * MIB
        print(
            f"summary: {installed} plugins; restart: platform started in {lazy.opened:.1f} s"
            f" ({lazy.opened / eager.opened:.3f}x the eager restart's {eager.opened:.1f} s), first answer"
            f" {lazy.first_answer:.2f} s after start ({lazy.first_answer / eager.first_answer:.3f}x of"
            f" {eager.first_answer:.2f} s), {lazy.processes_at_start} worker processes at start (eager"
            f" {eager.processes_peak} at peak); running {run_extra / per:.2f} MiB per plugin over the empty node;"
            f" idle {idle_extra / per:+.3f} MiB per plugin ({idle_extra / max(run_extra, 1):+.4f} of running);"
            f" idle node after restart {lazy.idle.total_pss / baseline.total_pss:.2f}x the empty node"
            + (f"; {stopped_early}" if stopped_early else "")
        )


async def forget_registrations(platform: Platform) -> int:
    """Delete every remembered registration (``maidcore_sqlmodel``'s table), so the next start is eager."""
    import sqlalchemy as sa

    db = platform.storage.db  # type: ignore[attr-defined]

    def delete() -> int:
        with db.engine.begin() as conn:
            return conn.execute(sa.text("DELETE FROM plugin_registrations")).rowcount

    return await db.run_plain(delete)


@dataclass
class Restart:
    opened: float  # seconds until Platform.start returned
    first_answer: float  # seconds from the start until a ping of an installed plugin was answered
    processes_at_start: int  # worker processes when the start returned
    processes_peak: int  # most worker processes seen while every worker came up
    idle: Memory  # the node with every worker stopped (idle or never started)


async def restart(
    args: argparse.Namespace, data: Path, installed: int, baseline: Memory, *, remembered: bool
) -> Restart:
    """Start the node on the same data; time the start and the first answer; memory once no worker runs."""
    label = "lazy (registrations remembered)" if remembered else "eager (nothing remembered)"
    discord = AnsweringDiscord()
    started = time.perf_counter()
    async with running_platform(
        data, source=discord, extensions=Extensions.load(), **node_values(args, args.idle_stop)
    ) as platform:
        runner = platform.runner
        assert runner is not None
        opened = time.perf_counter() - started
        at_start = len(worker_pids(platform)) if args.backend == "process" else len(platform.sandbox.workers)  # type: ignore[attr-defined]
        first = random.randrange(installed)
        latency = await discord.ping(first, args.start_timeout)
        first_answer = time.perf_counter() - started
        print(
            f"restart, {label}: platform started in {opened:.1f} s with {at_start} worker processes;"
            f" bench_{first} answered {first_answer:.2f} s after the start"
            f" ({'no answer' if latency is None else f'{latency * 1000:.0f} ms after its ping'})"
        )
        peak = at_start

        def all_registered() -> bool:
            nonlocal peak
            if args.backend == "process":
                peak = max(peak, len(getattr(platform.sandbox, "_workers", {})))
            slots = list(runner.slots.values())
            return len(slots) >= installed and all(s.registered or s.idle_stops for s in slots)

        all_up = await wait_for(all_registered, args.start_timeout)
        up = time.perf_counter() - started
        failed = failed_slots(platform)
        print(
            f"  every slot registered (or remembered) {up:.1f} s after start{'' if all_up else ' (TIMED OUT)'};"
            f" workers at once: {peak}; failed to start: {len(failed)}{': ' + ', '.join(failed[:10]) if failed else ''}"
        )
        t_idle = time.perf_counter()
        all_idle = await wait_for(
            lambda: all(s.state is SlotState.IDLE for s in runner.slots.values()),
            args.idle_stop + args.start_timeout,
            poll=0.25,
        )
        await asyncio.sleep(1)  # the last workers' processes exit
        states: dict[str, int] = {}
        for slot in runner.slots.values():
            states[slot.state.value] = states.get(slot.state.value, 0) + 1
        stops = sum(s.idle_stops for s in runner.slots.values())
        print(
            f"  every slot idle {time.perf_counter() - t_idle:.1f} s later{'' if all_idle else ' (TIMED OUT)'};"
            f" states {states}, idle_stops {stops}"
        )
        idle = measure(platform, args.backend)
        print(idle.line(f"{installed} idle", baseline, installed))
        if remembered:
            wake = sorted(random.sample(range(installed), min(args.wake_sample, installed)))
            latencies, missing = await burst(discord, wake, args.ping_timeout)
            print(f"  wake {len(wake)} at once by an event each: {len(latencies)} answered; {ms(latencies)}")
            if missing:
                print(f"  no answer from: {', '.join(f'bench_{n}' for n in missing[:20])}")
            woken = measure(platform, args.backend)
            print(woken.line(f"{len(wake)} woken, rest idle", baseline, installed))
        return Restart(opened, first_answer, at_start, peak, idle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=1000, help="distinct plugin versions to install (1000)")
    parser.add_argument("--backend", choices=("process", "docker"), default="process")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: the embedded server)")
    parser.add_argument("--idle-stop", type=float, default=5.0, help="runner.idle_stop_seconds in the idle phase (5)")
    parser.add_argument("--sample", type=int, default=50, help="plugins pinged while all run (50)")
    parser.add_argument("--wake-sample", type=int, default=20, help="idle plugins woken by a ping (20)")
    parser.add_argument("--start-timeout", type=float, default=600.0, help="seconds to wait for every worker (600)")
    parser.add_argument("--ping-timeout", type=float, default=30.0, help="seconds to wait for one answer (30)")
    parser.add_argument("--min-free-gib", type=float, default=4.0, help="stop installing under this MemAvailable (4)")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    if args.plugins < 1:
        parser.error(f"--plugins must be 1 or more, not {args.plugins}")
    if args.idle_stop <= 0:
        parser.error(f"--idle-stop must be above 0 (the idle phase measures stopped workers), not {args.idle_stop}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
