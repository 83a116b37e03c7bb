"""Rate-limit decisions per second: maidcore's limiter against bare `limits` calls, in one run.

    .venv/bin/python benchmarks/limits_decisions.py [--redis redis://127.0.0.1:6379/0] [-n 100000]

Workloads (each on memory:// and, when reachable, on Redis):
  allowed  - many scopes, each well inside its window (every decision admits)
  denied   - one exhausted scope hammered (every decision refuses); the bare
             baseline adds ``get_window_stats`` because a refusal needs a retry time
Overhead per decision = (maidcore time - bare time) / decisions. Goal on memory: < 20 µs.
A last section measures another scope's decision latency while one scope floods (Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import limits
import limits.aio.storage
import limits.aio.strategies
import limits.storage
import limits.strategies
from maidcore_limits import LimitsRateLimiter
from maidcore_limits.settings import RateLimitSettings

from maidcore.layers import Bucket
from maidcore.scope import Scope

HITS_PER_SCOPE = 20  # inside the 50/s events window


def scopes(n: int) -> list[Scope]:
    return [Scope(str(1000 + i % (n // HITS_PER_SCOPE + 1)), "bench") for i in range(n)]


def report(name: str, n: int, bare: float, ours: float) -> None:
    print(
        f"  {name:<28} bare {n / bare:>11,.0f}/s   maidcore {n / ours:>11,.0f}/s   "
        f"overhead {(ours - bare) / n * 1e6:+7.2f} µs/decision"
    )


def best_pair(rounds: int, bare, ours) -> tuple[float, float]:
    """Fastest of ``rounds`` alternating timings of each: the least disturbed by other work on the machine."""
    bare_times, our_times = [], []
    for _ in range(rounds):
        bare_times.append(bare())
        our_times.append(ours())
    return min(bare_times), min(our_times)


def bench_memory(n: int, rounds: int) -> None:
    print(f"memory:// ({n:,} decisions per workload, best of {rounds} rounds)")
    item = limits.RateLimitItemPerSecond(50)
    work = scopes(n)

    def bare_allowed() -> float:
        bare = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())
        t = time.perf_counter()
        for s in work:
            bare.hit(item, "events", s.server_id, s.plugin_id)
        return time.perf_counter() - t

    def ours_allowed() -> float:
        ours = LimitsRateLimiter(RateLimitSettings())
        t = time.perf_counter()
        for s in work:
            ours.hit_nowait(Bucket.EVENTS, s)
        return time.perf_counter() - t

    async def ours_allowed_awaited() -> float:
        limiter = LimitsRateLimiter(RateLimitSettings())
        t = time.perf_counter()
        for s in work:
            await limiter.hit(Bucket.EVENTS, s)
        return time.perf_counter() - t

    report("allowed (hit_nowait)", n, *best_pair(rounds, bare_allowed, ours_allowed))
    report("allowed (await hit)", n, *best_pair(rounds, bare_allowed, lambda: asyncio.run(ours_allowed_awaited())))

    one = Scope("1", "flood")

    def bare_denied() -> float:
        limiter = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())
        for _ in range(50):
            limiter.hit(item, "events", "1", "flood")
        t = time.perf_counter()
        for _ in range(n):
            if not limiter.hit(item, "events", "1", "flood"):
                limiter.get_window_stats(item, "events", "1", "flood")
        return time.perf_counter() - t

    def ours_denied() -> float:
        limiter = LimitsRateLimiter(RateLimitSettings())
        for _ in range(50):
            limiter.hit_nowait(Bucket.EVENTS, one)
        t = time.perf_counter()
        for _ in range(n):
            limiter.hit_nowait(Bucket.EVENTS, one)
        return time.perf_counter() - t

    report("denied (+retry time)", n, *best_pair(rounds, bare_denied, ours_denied))


async def bench_redis(url: str, n: int) -> None:
    print(f"{url} ({n:,} sequential decisions per workload, alternating chunks)")
    item = limits.RateLimitItemPerSecond(50)
    work = scopes(n)
    prefix = f"maidcore-bench-{uuid.uuid4().hex[:8]}"
    storage = limits.aio.storage.RedisStorage(f"async+{url}", implementation="redispy", key_prefix=prefix + "-bare")
    bare = limits.aio.strategies.MovingWindowRateLimiter(storage)
    ours = LimitsRateLimiter(RateLimitSettings(storage_uri=url, key_prefix=prefix))
    await bare.hit(item, "warm", "up")
    await ours.hit(Bucket.EVENTS, Scope("warm", "up"))

    # alternate chunks so that load from elsewhere on the machine falls on both alike
    bare_allowed = ours_allowed = bare_cpu = ours_cpu = 0.0
    for start in range(0, n, 250):
        chunk = work[start : start + 250]
        t, c = time.perf_counter(), time.process_time()
        for s in chunk:
            await bare.hit(item, "events", s.server_id, s.plugin_id)
        bare_allowed += time.perf_counter() - t
        bare_cpu += time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        for s in chunk:
            await ours.hit(Bucket.EVENTS, s)
        ours_allowed += time.perf_counter() - t
        ours_cpu += time.process_time() - c
    report("allowed", n, bare_allowed, ours_allowed)
    print(
        f"  {'allowed, client CPU only':<28} bare {bare_cpu / n * 1e6:8.1f} µs   "
        f" maidcore {ours_cpu / n * 1e6:8.1f} µs   overhead {(ours_cpu - bare_cpu) / n * 1e6:+7.2f} µs/decision"
        " (wall time above includes Redis and machine load)"
    )

    one = Scope("1", "flood")
    for _ in range(50):
        await bare.hit(item, "events", "1", "flood")
        await ours.hit(Bucket.EVENTS, one)
    t = time.perf_counter()
    for _ in range(n):
        if not await bare.hit(item, "events", "1", "flood"):
            await bare.get_window_stats(item, "events", "1", "flood")
    bare_denied = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(n):
        await ours.hit(Bucket.EVENTS, one)
    report("denied (+retry time)", n, bare_denied, time.perf_counter() - t)

    # another scope's latency, quiet vs while one scope floods with 20 concurrent callers
    async def latencies(scope: Scope, count: int) -> list[float]:
        out = []
        for _ in range(count):
            t = time.perf_counter()
            await ours.hit(Bucket.EVENTS, scope)
            out.append(time.perf_counter() - t)
        return out

    quiet = await latencies(Scope("2", "quiet"), 45)
    stop = asyncio.Event()

    async def flood() -> None:
        while not stop.is_set():
            await ours.hit(Bucket.EVENTS, one)
            await asyncio.sleep(0)  # as if each call were a message read from a worker

    flooders = [asyncio.create_task(flood()) for _ in range(20)]
    await asyncio.sleep(0.05)
    busy = await latencies(Scope("3", "neighbour"), 45)
    stop.set()
    await asyncio.gather(*flooders)
    print(
        f"  neighbour decision latency   quiet p50 {statistics.median(quiet) * 1e6:6.0f} µs   "
        f"while another scope floods p50 {statistics.median(busy) * 1e6:6.0f} µs "
        f"(max {max(busy) * 1e6:.0f} µs)"
    )
    await ours.close()
    await storage.bridge.get_connection().aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="decisions per memory workload")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL; '' to skip")
    parser.add_argument("--rounds", type=int, default=5, help="memory rounds; the best is reported")
    parser.add_argument("--redis-n", type=int, default=5_000, help="decisions per Redis workload")
    args = parser.parse_args()
    bench_memory(args.n, args.rounds)
    if args.redis:
        try:
            asyncio.run(bench_redis(args.redis, args.redis_n))
        except Exception as exc:  # a missing Redis should not hide the memory figures
            print(f"redis skipped: {exc.__class__.__name__}: {exc}")


if __name__ == "__main__":
    main()
