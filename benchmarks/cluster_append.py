"""The cost of recording a cluster event with its gateway key (``source_key``) against recording it bare.

A node records each accepted event in its shard's Redis Stream in one script
call that checks the lease. With a ``source_key`` the same call also checks and
adds the key to the shard's ``seen:<shard>`` set (and trims it), so a RESUME
replaying the event after a takeover does not record it twice. Still one round
trip: this measures what the extra work inside the script costs.

Three ways, interleaved in rounds in the same run against the same Redis:
``baseline`` is the lease-check-and-XADD script alone (the append before this
key existed), ``no key`` is today's script without a key, ``with key`` passes
one. Each is timed one at a time (latency) and with ``--concurrency`` in flight.

    .venv/bin/python benchmarks/cluster_append.py [--events 5000] [--rounds 3] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid

from maidcore.cluster.redis_coordinator import RedisCoordinator

_BASELINE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
return redis.call('XADD', KEYS[2], '*', 'r', ARGV[2])
"""

RECORD = {
    "event": {"type": "message_create", "guild_id": "81384788765712384", "content": "hello " * 20},
    "type": "message_create",
    "target": None,
    "origin": None,
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("MAIDCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--events", type=int, default=5000, help="appends per way and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    coord = RedisCoordinator(args.redis, f"maidcore-bench-{uuid.uuid4().hex[:8]}")
    await coord.start()
    baseline = coord.r.register_script(_BASELINE)
    lease = await coord.acquire(0, "bench", ttl=600)
    assert lease is not None
    stream = await coord._group(0)
    holder = coord._holder(lease)
    body = json.dumps(RECORD)
    counter = iter(range(10**9))

    async def bare() -> None:
        await baseline(keys=[coord.key("lease", 0), stream], args=[holder, body])

    async def no_key() -> None:
        await coord.append(lease, RECORD)

    async def with_key() -> None:
        assert await coord.append(lease, RECORD, source_key=f"session-x:{next(counter)}:message_create") is not None

    async def script_time() -> tuple[int, int]:
        """Redis's own count and microseconds of EVALSHA calls (shared Redis: others' calls mix in a little)."""
        stats = (await coord.r.info("commandstats")).get("cmdstat_evalsha", {})
        return int(stats.get("calls", 0)), int(stats.get("usec", 0))

    ways = {"baseline": bare, "no key": no_key, "with key": with_key}
    server: dict[str, list[float]] = {w: [] for w in ways}
    serial: dict[str, list[float]] = {w: [] for w in ways}
    parallel: dict[str, list[float]] = {w: [] for w in ways}
    load_before = os.getloadavg()
    try:
        for call in ways.values():  # warm up: scripts loaded, connections open, stream created
            await asyncio.gather(*(call() for _ in range(200)))
        for _ in range(args.rounds):
            for name, call in ways.items():
                calls, usec = await script_time()
                started = time.perf_counter()
                for _ in range(args.events):
                    await call()
                serial[name].append(args.events / (time.perf_counter() - started))
                calls2, usec2 = await script_time()
                server[name].append((usec2 - usec) / max(1, calls2 - calls))

                async def lane(n: int, call=call) -> None:
                    for _ in range(n):
                        await call()

                per_lane = args.events // args.concurrency
                started = time.perf_counter()
                await asyncio.gather(*(lane(per_lane) for _ in range(args.concurrency)))
                parallel[name].append(per_lane * args.concurrency / (time.perf_counter() - started))
            await coord.r.xtrim(stream, maxlen=0)  # keep Redis's memory flat between rounds
        seen = await coord.r.zcard(coord.key("seen", 0))
    finally:
        keys = [k async for k in coord.r.scan_iter(f"{coord.prefix}:*")]
        if keys:
            await coord.r.delete(*keys)
        await coord.close()

    print(f"appends per second, median of {args.rounds} rounds of {args.events} (one Redis, this machine)")
    base_s, base_p = statistics.median(serial["baseline"]), statistics.median(parallel["baseline"])
    for name in ways:
        s, p = statistics.median(serial[name]), statistics.median(parallel[name])
        print(
            f"  {name:9s} one at a time {s:6.0f}/s ({s / base_s:4.2f}x baseline, {1e6 / s:5.1f} us each,"
            f" {statistics.median(server[name]):4.1f} us of it in Redis)"
            f"   {args.concurrency} in flight {p:6.0f}/s ({p / base_p:4.2f}x baseline)"
        )
    print(f"  seen keys kept for the shard at the end: {seen}")
    print(f"  load average before {load_before[0]:.2f} {load_before[1]:.2f}; after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
