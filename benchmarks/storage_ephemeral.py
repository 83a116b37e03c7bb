"""A hammered ephemeral counter costs bounded memory, and a hit costs about one Redis round trip.

    .venv/bin/python benchmarks/storage_ephemeral.py [--hits 1000000] [--redis URL | --no-redis]

Memory: ``--hits`` hits spread over 0.9 day (a clock of the benchmark's own),
on one counter with a day-long window, then the same on 1,000 counters of one
tenant. What ``MemoryEphemeral`` holds is measured with ``tracemalloc``; the
baseline is one timestamp per hit in a deque (an exact sliding window, what
the store kept before counters had slots), built in the same run.

Speed (with Redis): hits per second through ``RedisEphemeral.counter`` (key
admitted and hit counted in one script), against Redis ``INCR`` through the
same client in the same run (the cheapest round trip there is).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import tracemalloc
import uuid
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extensions"))

from maidcore_sqlmodel.ephemeral import MemoryEphemeral, RedisEphemeral

from maidcore.scope import Scope

SCOPE = Scope("900000000000000003", "bench-ephemeral")
DAY = 86_400


def measured(build) -> tuple[int, object]:
    """Bytes still allocated by ``build()`` (its result kept alive), and the result."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, kept


def memory_figures(hits: int, counters: int) -> None:
    step = 0.9 * DAY / hits  # every hit within one day-long window

    def store_with(keys: int):
        now = [0.0]
        store = MemoryEphemeral(clock=lambda: now[0], max_keys=keys + 1)

        async def run() -> int:
            count = 0
            for i in range(hits):
                now[0] = i * step
                count = await store.counter(SCOPE, f"k{i % keys}", DAY)
            return count

        last = asyncio.run(run())
        assert last == hits // keys, last
        return store

    def exact_with(keys: int):
        windows = [deque() for _ in range(keys)]
        for i in range(hits):
            windows[i % keys].append(i * step)
        return windows

    for keys in (1, counters):
        ours, store = measured(lambda k=keys: store_with(k))
        base, _ = measured(lambda k=keys: exact_with(k))
        state = store._scopes[(SCOPE.server_id, SCOPE.plugin_id)]
        print(
            f"memory, {hits:,} hits over {hits * step / 3600:.1f} h on {keys:,} day-long counter(s): "
            f"{state.entries:,} entries, {ours / 1e6:.2f} MB; exact window {base / 1e6:.2f} MB; "
            f"ratio {ours / base:.3f}"
        )


async def redis_figures(url: str, n: int) -> None:
    prefix = f"maidcore-bench:{uuid.uuid4().hex}:"
    store = RedisEphemeral(url, prefix=prefix)
    await store.start()
    try:
        for _ in range(200):  # warm up the connection and the scripts
            await store.counter(SCOPE, "warm", 60)
            await store._redis.incr(prefix + "incr")
        base_rates, our_rates = [], []
        for _ in range(7):  # alternate rounds: a noisy machine slows both alike; medians
            start = time.perf_counter()
            for _ in range(n):
                await store._redis.incr(prefix + "incr")
            base_rates.append(n / (time.perf_counter() - start))
            start = time.perf_counter()
            for _ in range(n):
                await store.counter(SCOPE, "busy", DAY)
            our_rates.append(n / (time.perf_counter() - start))
        base, ours = statistics.median(base_rates), statistics.median(our_rates)
        entries = await store._redis.zcard(store._name("counter", SCOPE, "busy"))
        print(
            f"redis, one caller: counter {ours:,.0f} hits/s, INCR {base:,.0f}/s, ratio {ours / base:.2f}; "
            f"{7 * n:,} hits kept in {entries} entr{'y' if entries == 1 else 'ies'}"
        )
    finally:
        keys = [k async for k in store._redis.scan_iter(match=prefix + "*")]
        if keys:
            await store._redis.delete(*keys)
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=1_000_000)
    parser.add_argument("--counters", type=int, default=1_000)
    parser.add_argument("--redis", default=os.environ.get("MAIDCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    memory_figures(args.hits, args.counters)
    if not args.no_redis:
        asyncio.run(redis_figures(args.redis, 1_000))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
