"""Waking idle plugins on the process backend: cold start vs a fixed warm pool vs a pool growing with demand.

Three real ``Platform`` nodes run at once (process backend, embedded PostgreSQL each,
the recording ``CannedDiscord``), identical but for the warm pool: **cold**
(``warm_pool_size`` 0), **fixed** (``warm_pool_size`` ``--pool`` (2), ``warm_pool_max``
the same: the pool of before) and **grow** (``warm_pool_size`` ``--pool``, ``warm_pool_max``
``--max`` (8, the default setting)). The same ``--plugins`` (10) plugins are installed on
each (``bench_<n>`` answers ``!ping-<n>``, as in ``many_plugins.py``) and
``runner.idle_stop_seconds`` stops every worker. Then:

- **one at a time** (``--rounds``, 3; cold and fixed nodes): each idle plugin is woken by
  one event, alternating the nodes so they see the same load, each wake with the pool
  full (a spare refills after each wake), as on a node whose plugins wake one by one;
- **bursts** (``--bursts``, 3; all three nodes, alternating): every plugin woken at once,
  once the node's workers are idle again and its pool is full at whatever size it
  aims for. The fixed pool covers the first ``--pool`` starts of a burst; the growing
  pool grows on the misses of a burst (the installs' first starts count too) and
  serves the next ones from up to ``--max`` spares.

Wake latency is event published -> answer sent (the runner starts the worker, the
plugin registers, handles the event, the answer reaches Discord). The grown pool's
memory is the PSS of its spares (reaper + booted interpreter each, /proc smaps_rollup).

Usage: ``.venv/bin/python benchmarks/process_wake.py [--plugins 10] [--pool 2] [--max 8] [--rounds 3] [--bursts 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path

from maidcore_process.settings import ProcessSettings
from many_plugins import AnsweringDiscord, burst, descendants, ms, pct, pss, server_of, write_bundle

from maidcore import installs
from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.runner.worker import SlotState
from maidcore.testing.platform import running_platform

MIB = 1024 * 1024


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


def pool_pss(platform: Platform) -> int:
    """Bytes of PSS the node's warm spares hold (each spare's reaper and the interpreter under it)."""
    pids = platform.sandbox.pool.pids  # type: ignore[attr-defined]
    return sum(pss(pid) for spare in pids for pid in [spare, *descendants(spare)])


def p50(values: list[float]) -> float:
    return pct(values, 0.5)


async def measure(args: argparse.Namespace, root: Path, stack: contextlib.AsyncExitStack) -> None:
    nodes: dict[str, tuple[Platform, AnsweringDiscord]] = {}
    pools = {"cold": (0, 0), "fixed": (args.pool, args.pool), "grow": (args.pool, args.max)}
    for label, (size, ceiling) in pools.items():
        discord = AnsweringDiscord()
        platform = await stack.enter_async_context(
            running_platform(
                root / label,
                source=discord,
                extensions=Extensions.load(),
                sandbox_backend="process",
                runner={"idle_stop_seconds": args.idle_stop},
                process={"warm_pool_size": size, "warm_pool_max": ceiling},
            )
        )
        for n in range(args.plugins):
            bundle = root / "bundles" / label
            await installs.install(platform, write_bundle(bundle, n), server_of(n), installs.ALL)
        nodes[label] = (platform, discord)
    for platform, _ in nodes.values():
        await until(lambda platform=platform: all_idle(platform), 120, "every worker stopped for idleness")
    pool = {label: nodes[label][0].sandbox.pool for label in nodes}  # type: ignore[attr-defined]
    load = [os.getloadavg()[0]]
    print(
        f"process_wake: {args.plugins} plugins; fixed pool {args.pool}, growing pool {args.pool}..{args.max};"
        f" idle_stop {args.idle_stop} s"
    )
    if args.rounds:
        times: dict[str, list[float]] = {"cold": [], "fixed": []}
        hits, misses = pool["fixed"].hits, pool["fixed"].misses  # the installs' first starts took some already
        for _ in range(args.rounds):
            for n in range(args.plugins):
                for label in times:
                    times[label].append(await wake_one(nodes[label], n, args.ping_timeout))
            load.append(os.getloadavg()[0])
        print(f"  one idle plugin woken at a time, {args.rounds} rounds:")
        for label in times:
            print(f"    {label:5}: event -> answer {ms(times[label])}")
        print(
            f"    fixed: {pool['fixed'].hits - hits} of {args.plugins * args.rounds} wakes took a spare,"
            f" {pool['fixed'].misses - misses} cold"
        )
        ratio = p50(times["fixed"]) / p50(times["cold"])
        print(f"    fixed / cold p50: {ratio:.2f}x")
    if args.bursts:
        bursts: dict[str, list[float]] = {label: [] for label in nodes}
        took: dict[str, list[str]] = {label: [] for label in nodes}
        for _ in range(args.bursts):
            for label, (platform, discord) in nodes.items():
                await until(lambda p=platform: all_idle(p) and pool_full(p), 120, f"{label}: idle and a full pool")
                await asyncio.sleep(0.2)
                hits, size = pool[label].hits, pool[label].size
                latencies, missing = await burst(discord, list(range(args.plugins)), args.ping_timeout)
                if missing:
                    raise RuntimeError(f"{label}: no answer from {missing}")
                bursts[label].extend(latencies)
                took[label].append(f"{pool[label].hits - hits}/{args.plugins} (pool {size})")
            load.append(os.getloadavg()[0])
        print(f"  all {args.plugins} plugins woken at once, {args.bursts} bursts:")
        cold50, cold99 = p50(bursts["cold"]), pct(bursts["cold"], 0.99)
        for label in nodes:
            ratio = f"{p50(bursts[label]) / cold50:.2f}x / {pct(bursts[label], 0.99) / cold99:.2f}x"
            print(f"    {label:5}: {ms(bursts[label])}; vs cold p50 / p99 {ratio}")
            if label != "cold":
                print(f"           spares taken per burst: {', '.join(took[label])}")
        for label in ("fixed", "grow"):
            platform = nodes[label][0]
            await until(lambda p=platform: all_idle(p) and pool_full(p), 120, f"{label}: a full pool")
            await asyncio.sleep(0.5)
            print(
                f"    {label:5} pool now {len(pool[label])} spares, {pool_pss(platform) / MIB:.1f} MiB PSS"
                f" ({pool_pss(platform) / MIB / max(1, len(pool[label])):.1f} MiB per spare)"
            )
    print(f"  load average {min(load):.1f}-{max(load):.1f} during the run (2 cores shared)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=10, help="plugins installed on each node (10)")
    parser.add_argument("--pool", type=int, default=2, help="process.warm_pool_size of the warm nodes (2)")
    default_max = ProcessSettings().warm_pool_max
    parser.add_argument(
        "--max", type=int, default=default_max, help=f"warm_pool_max of the growing node ({default_max})"
    )
    parser.add_argument("--rounds", type=int, default=3, help="times every plugin is woken alone (3; 0 = skip)")
    parser.add_argument("--bursts", type=int, default=3, help="bursts waking every plugin at once (3; 0 = skip)")
    parser.add_argument("--idle-stop", type=float, default=1.0, help="runner.idle_stop_seconds (1)")
    parser.add_argument("--ping-timeout", type=float, default=30.0, help="seconds to wait for one answer (30)")
    args = parser.parse_args()
    if args.plugins < 1 or args.pool < 1 or args.max < args.pool or args.rounds < 0 or args.bursts < 0:
        parser.error("--plugins and --pool must be 1 or more, --max at least --pool, --rounds and --bursts 0 or more")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
