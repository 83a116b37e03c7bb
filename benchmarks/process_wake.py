"""Waking an idle plugin on the process backend: cold start vs a warm spare, two nodes side by side.

Two real ``Platform`` nodes run at once (process backend, embedded PostgreSQL each,
the recording ``CannedDiscord``), identical but for ``process.warm_pool_size``: 0 on
the **cold** node, ``--pool`` (2) on the **warm** one. The same ``--plugins`` (10)
plugins are installed on both (``bench_<n>`` answers ``!ping-<n>``, as in
``many_plugins.py``), ``runner.idle_stop_seconds`` stops every worker, and then
each idle plugin is woken by one event, alternating cold and warm node so both see
the same machine load, for ``--rounds`` (3) rounds. Wake latency is event published
-> answer sent (the runner starts the worker, the plugin registers, handles the
event, the answer reaches Discord). Before each warm wake the node's pool is full
again (a spare refills in the background after each wake), as on a node whose
plugins wake one at a time; ``--burst`` adds a wake of every plugin at once, where
the pool covers only the first ``--pool``.

Usage: ``.venv/bin/python benchmarks/process_wake.py [--plugins 10] [--pool 2] [--rounds 3] [--burst]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path

from many_plugins import AnsweringDiscord, burst, ms, server_of, write_bundle

from maidcore import installs
from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.runner.worker import SlotState
from maidcore.testing.platform import running_platform


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        await asyncio.sleep(0.05)


def all_idle(platform: Platform) -> bool:
    runner = platform.runner
    assert runner is not None
    return all(slot.state is SlotState.IDLE for slot in runner.slots.values())


def pool_full(platform: Platform) -> bool:
    pool = platform.sandbox.pool  # type: ignore[attr-defined]
    return len(pool) >= pool.size and not pool.filling


async def wake_one(node: tuple[Platform, AnsweringDiscord], n: int, timeout: float) -> float:
    platform, discord = node
    await until(lambda: all_idle(platform) and pool_full(platform), 60, "idle workers and a full pool")
    await asyncio.sleep(0.2)  # let the last stopped worker's processes go
    latency = await discord.ping(n, timeout)
    if latency is None:
        raise RuntimeError(f"bench_{n} did not answer within {timeout} s")
    return latency


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="maidcore-process-wake-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            await measure(args, Path(tmp), stack)


async def measure(args: argparse.Namespace, root: Path, stack: contextlib.AsyncExitStack) -> None:
    nodes: dict[str, tuple[Platform, AnsweringDiscord]] = {}
    for label, size in (("cold", 0), ("warm", args.pool)):
        discord = AnsweringDiscord()
        platform = await stack.enter_async_context(
            running_platform(
                root / label,
                source=discord,
                extensions=Extensions.load(),
                sandbox_backend="process",
                runner={"idle_stop_seconds": args.idle_stop},
                process={"warm_pool_size": size},
            )
        )
        for n in range(args.plugins):
            bundle = root / "bundles" / label
            await installs.install(platform, write_bundle(bundle, n), server_of(n), installs.ALL)
        nodes[label] = (platform, discord)
    for platform, _ in nodes.values():
        await until(lambda platform=platform: all_idle(platform), 120, "every worker stopped for idleness")
    warm_pool = nodes["warm"][0].sandbox.pool  # type: ignore[attr-defined]
    hits, misses = warm_pool.hits, warm_pool.misses  # the installs' first starts took some already
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for n in range(args.plugins):
            for label in ("cold", "warm"):
                times[label].append(await wake_one(nodes[label], n, args.ping_timeout))
        load.append(os.getloadavg()[0])
    print(
        f"process_wake: {args.plugins} plugins x {args.rounds} rounds, one idle plugin woken at a time;"
        f" load average {min(load):.1f}-{max(load):.1f} (2 cores shared)"
    )
    for label in ("cold", "warm"):
        print(
            f"  {label} ({'warm_pool_size 0' if label == 'cold' else f'warm_pool_size {args.pool}'}):"
            f" event -> answer {ms(times[label])}"
        )
    print(
        f"  warm node: {warm_pool.hits - hits} of {args.plugins * args.rounds} wakes took a spare,"
        f" {warm_pool.misses - misses} cold; {warm_pool.started} spares started in all"
    )
    cold_p50 = sorted(times["cold"])[len(times["cold"]) // 2]
    warm_p50 = sorted(times["warm"])[len(times["warm"]) // 2]
    print(f"  warm / cold p50: {warm_p50 / cold_p50:.2f}x ({warm_p50 * 1000:.0f} vs {cold_p50 * 1000:.0f} ms)")
    if args.burst:
        for label in ("cold", "warm"):
            platform, discord = nodes[label]
            await until(lambda platform=platform: all_idle(platform) and pool_full(platform), 120, "idle")
            latencies, missing = await burst(discord, list(range(args.plugins)), args.ping_timeout)
            print(f"  {label}: all {args.plugins} woken at once: {ms(latencies)}; no answer: {len(missing)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=10, help="plugins installed on each node (10)")
    parser.add_argument("--pool", type=int, default=2, help="process.warm_pool_size of the warm node (2)")
    parser.add_argument("--rounds", type=int, default=3, help="times every plugin is woken on each node (3)")
    parser.add_argument("--idle-stop", type=float, default=1.0, help="runner.idle_stop_seconds (1)")
    parser.add_argument("--ping-timeout", type=float, default=30.0, help="seconds to wait for one answer (30)")
    parser.add_argument("--burst", action="store_true", help="also wake every plugin at once on each node")
    args = parser.parse_args()
    if args.plugins < 1 or args.pool < 1 or args.rounds < 1:
        parser.error("--plugins, --pool and --rounds must be 1 or more")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
