"""A hammered ephemeral counter costs bounded memory, and a hit costs about one Redis round trip.

    .venv/bin/python benchmarks/storage_ephemeral.py [--hits 1000000] [--redis URL | --no-redis]
        [--postgres URL | --no-postgres] [--engines-only]

Memory: ``--hits`` hits spread over 0.9 day (a clock of the benchmark's own),
on one counter with a day-long window, then the same on 1,000 counters of one
tenant. What ``MemoryEphemeral`` holds is measured with ``tracemalloc``; the
baseline is one timestamp per hit in a deque (an exact sliding window, what
the store kept before counters had slots), built in the same run.

Speed (with Redis): hits per second through ``RedisEphemeral.counter`` (key
admitted and hit counted in one script), against Redis ``INCR`` through the
same client in the same run (the cheapest round trip there is).

Engines (memory vs Redis vs PostgreSQL, in one run): calls per second of each
primitive (counter, dedup of new keys, cooldown_set, flag_check) through each
store, by one caller and by 16 concurrent callers (asyncio tasks, as a node's
plugins call), with the ratio to the memory store (the baseline) and to Redis.
Rounds alternate between engines, medians are printed (the machine is shared).
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
from maidcore_sqlmodel.pg_ephemeral import PostgresEphemeral

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


PRIMITIVES = {
    "counter": lambda store, i: store.counter(SCOPE, "busy", 60),
    "dedup (new keys)": lambda store, i: store.dedup(SCOPE, f"d{i}", 60),
    "cooldown_set": lambda store, i: store.cooldown_set(SCOPE, f"c{i % 100}", 60),
    "flag_check": lambda store, i: store.flag_check(SCOPE, f"f{i % 100}"),
}


async def engine_figures(redis_url: str | None, pg_url: str | None, n: int, rounds: int = 5) -> None:
    prefix = f"maidcore-bench:{uuid.uuid4().hex}:"
    stores: dict[str, object] = {"memory": MemoryEphemeral(max_keys=10**7)}
    if redis_url:
        stores["redis"] = RedisEphemeral(redis_url, prefix=prefix, max_keys=10**7)
    if pg_url:
        stores["postgresql"] = PostgresEphemeral(pg_url, prefix=prefix, max_keys=10**7)
    for store in stores.values():
        await store.start()
    seq = [0]
    try:

        async def rate(store, call, callers: int) -> float:
            per = n // callers

            async def caller() -> None:
                for _ in range(per):
                    seq[0] += 1
                    await call(store, seq[0])

            start = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(callers)))
            return per * callers / (time.perf_counter() - start)

        for store in stores.values():  # warm up connections, scripts, prepared statements
            for call in PRIMITIVES.values():
                await rate(store, call, 1)
        for callers in (1, 16):
            for name, call in PRIMITIVES.items():
                rates: dict[str, list[float]] = {engine: [] for engine in stores}
                for _ in range(rounds):
                    for engine, store in stores.items():
                        rates[engine].append(await rate(store, call, callers))
                med = {engine: statistics.median(r) for engine, r in rates.items()}
                parts = [f"{engine} {med[engine]:,.0f}/s" for engine in stores]
                shared = [engine for engine in stores if engine != "memory"]
                ratios = [f"{engine}/memory {med[engine] / med['memory']:.4f}" for engine in shared]
                if "redis" in med and "postgresql" in med:
                    ratios.append(f"postgresql/redis {med['postgresql'] / med['redis']:.2f}")
                print(f"{name}, {callers} caller(s): " + ", ".join(parts) + "; " + ", ".join(ratios))
    finally:
        for engine, store in stores.items():
            if engine == "redis":
                keys = [k async for k in store._redis.scan_iter(match=prefix + "*")]
                if keys:
                    await store._redis.delete(*keys)
            elif engine == "postgresql":
                async with store._pool.connection() as conn:
                    await conn.execute("DELETE FROM eph_keys WHERE prefix = %s", (prefix,))
                    await conn.execute("DELETE FROM eph_tenants WHERE prefix = %s", (prefix,))
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=1_000_000)
    parser.add_argument("--counters", type=int, default=1_000)
    parser.add_argument("--redis", default=os.environ.get("MAIDCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MAIDCORE_TEST_POSTGRES_URL", "postgresql://maidcore:maidcore@127.0.0.1:5432/maidcore"),
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--engines-only", action="store_true", help="only the memory vs Redis vs PostgreSQL rates")
    parser.add_argument("--calls", type=int, default=2_000, help="calls per primitive, engine and round")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    if not args.engines_only:
        memory_figures(args.hits, args.counters)
        if not args.no_redis:
            asyncio.run(redis_figures(args.redis, 1_000))
    redis_url = None if args.no_redis else args.redis
    pg_url = None if args.no_postgres else args.postgres
    asyncio.run(engine_figures(redis_url, pg_url, args.calls))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
