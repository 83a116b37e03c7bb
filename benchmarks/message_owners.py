"""Interaction owner bookkeeping shared by the processes of a node (one SQLite file) or a cluster (Redis).

``serve --processes N`` children write the owners of the messages they send into
the node's one file (WAL, a writer thread per process committing in batches) and
read each other's. This runs N processes that each remember ``--messages`` owners
as fast as they can (far above a child's send rate), then look up owners another
process wrote, and reports per N:

- ``remember``: cost per call on the caller (the event loop's share), µs;
- ``commit p50/p99``: one batch's commit (waits for the file's write lock, held by
  the other processes' commits in turn), ms;
- ``drained``: owners committed per second by all processes together;
- ``lookup``: a point read of an owner another process committed, µs.

Ratios are against N=1 in the same run. With ``--redis-url`` the same for the
cluster's shared state (pipelined batches; ``commit`` is one batch's round trip).

    .venv/bin/python benchmarks/message_owners.py [--processes 1 2 4] [--messages 100000] [--redis-url redis://...]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from maidcore.interactions import MessageOwners

BASE = 1574585304126324744


def _timed_flush(owners: MessageOwners, flush, into: list[float]):
    def run(*args):
        started = time.perf_counter()
        try:
            return flush(*args)
        finally:
            into.append(time.perf_counter() - started)

    return run


def reporting(worker):
    """Run ``worker``; an error goes to the parent (which raises it) instead of leaving it waiting."""

    @functools.wraps(worker)  # picklable by name for the spawned process
    def run(*args) -> None:
        out = args[-1]
        try:
            worker(*args)
        except BaseException as exc:
            import traceback

            out.put(RuntimeError(f"worker {args}: {exc}\n{traceback.format_exc()}"))
            raise

    return run


@reporting
def file_worker(path: str, index: int, processes: int, messages: int, start, out) -> None:
    owners = MessageOwners(Path(path))
    commits: list[float] = []
    owners.flush = _timed_flush(owners, owners.flush, commits)
    start.wait()
    began = time.perf_counter()
    for i in range(messages):
        owners.remember(str(BASE + index * messages + i), f"p{index}")
    remembered = time.perf_counter() - began
    owners.close()  # the last batch, then the writer stops
    drained = time.perf_counter() - began
    start.wait()  # every process committed: read what another wrote
    other = (index + 1) % processes
    reads = 2_000
    fresh = MessageOwners(Path(path))
    began = time.perf_counter()
    found = sum(fresh.get(str(BASE + other * messages + i * 7 % messages)) == f"p{other}" for i in range(reads))
    lookup = (time.perf_counter() - began) / reads
    fresh.close()
    out.put((remembered / messages, commits, drained, lookup, found == reads))


async def _shared_run(url: str, prefix: str, index: int, processes: int, messages: int) -> tuple:
    from maidcore.cluster.redis_coordinator import RedisCoordinator
    from maidcore.layers import Shared

    coordinator = RedisCoordinator(url, prefix)
    await coordinator.start()
    shared = Shared()
    shared.attach(coordinator)
    owners = MessageOwners(None, shared=shared.scoped("interactions"), message_ttl=600)
    commits: list[float] = []
    real = owners.flush_shared

    async def timed() -> None:
        started = time.perf_counter()
        try:
            await real()
        finally:
            commits.append(time.perf_counter() - started)

    owners.flush_shared = timed
    began = time.perf_counter()
    for i in range(messages):
        owners.remember(str(BASE + index * messages + i), f"p{index}")
        if i % 1000 == 999:
            await asyncio.sleep(0)  # the event loop runs on: the writer task gets its turns
    remembered = time.perf_counter() - began
    await owners.close_shared()
    drained = time.perf_counter() - began
    return owners, coordinator, remembered, commits, drained


@reporting
def shared_worker(url: str, prefix: str, index: int, processes: int, messages: int, start, out) -> None:
    async def main() -> tuple:
        start.wait()
        owners, coordinator, remembered, commits, drained = await _shared_run(url, prefix, index, processes, messages)
        start.wait()
        other = (index + 1) % processes
        reads = 2_000
        owners._recent.clear()
        began = time.perf_counter()
        found = 0
        for i in range(reads):
            found += await owners.sender(str(BASE + other * messages + i * 7 % messages)) == f"p{other}"
        lookup = (time.perf_counter() - began) / reads
        await coordinator.close()
        return remembered / messages, commits, drained, lookup, found == reads

    out.put(asyncio.run(main()))


def run(kind: str, processes: int, messages: int, redis_url: str | None) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(processes), ctx.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"maidcore-bench-{uuid.uuid4().hex[:8]}"
        if kind == "file":
            target, args = file_worker, (str(Path(tmp) / "owners.sqlite3"),)
        else:
            target, args = shared_worker, (redis_url, prefix)
        procs = [ctx.Process(target=target, args=(*args, i, processes, messages, start, out)) for i in range(processes)]
        for proc in procs:
            proc.start()
        results = [out.get(timeout=600) for _ in procs]
        for result in results:
            if isinstance(result, Exception):
                raise result
        for proc in procs:
            proc.join(30)
        if kind == "shared":
            import redis

            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"{prefix}:*", count=10_000):
                client.delete(key)
            client.close()
    commits = sorted(c for r in results for c in r[1])
    assert all(r[4] for r in results), "a process did not find the owners another one wrote"
    return {
        "remember_us": statistics.mean(r[0] for r in results) * 1e6,
        "commit_p50_ms": commits[len(commits) // 2] * 1000 if commits else 0.0,
        "commit_p99_ms": commits[int(len(commits) * 0.99)] * 1000 if commits else 0.0,
        "drained_per_s": processes * messages / max(r[2] for r in results),
        "lookup_us": statistics.mean(r[3] for r in results) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--redis-url", default=os.environ.get("MAIDCORE_TEST_REDIS_URL"))
    parser.add_argument("--only", choices=["file", "shared"])
    args = parser.parse_args()
    kinds = [k for k in ["file"] + (["shared"] if args.redis_url else []) if args.only in (None, k)]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for kind in kinds:
        print(f"\n{kind}: {args.messages} owners remembered per process")
        print(
            f"{'N':>3} {'remember µs':>12} {'commit p50/p99 ms':>18} {'drained/s':>10} {'lookup µs':>10}  ratios vs N=1"
        )
        base = None
        for n in args.processes:
            r = run(kind, n, args.messages, args.redis_url)
            base = base or r
            ratios = {k: r[k] / base[k] for k in ("remember_us", "drained_per_s", "lookup_us")}
            print(
                f"{n:>3} {r['remember_us']:>12.2f} {r['commit_p50_ms']:>8.1f} / {r['commit_p99_ms']:<7.1f} "
                f"{r['drained_per_s']:>10.0f} {r['lookup_us']:>10.1f}  remember {ratios['remember_us']:.2f}x, "
                f"drained {ratios['drained_per_s']:.2f}x, lookup {ratios['lookup_us']:.2f}x"
            )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
