"""The cluster's coordination on Redis against PostgreSQL alone, in one run: the event log's hot path.

What a node does per Discord event in a cluster is one ``append`` to its shard's
log (lease-checked, with the gateway ``source_key`` dedupe) and, once the plugins
acked, a batched ``read_new`` + ``ack``. This times both on each engine, plus the
small calls a node makes per tick or per interaction (``once``, ``spend``,
``state_put``) and a shared rate-limit decision (the ``limits`` layer on Redis or on
PostgreSQL, ``maidcore_limits.pg_storage``), interleaved in rounds against the same services. Redis is the
baseline; ``postgresql`` uses the server's default durability (each append
commits to the WAL and waits for its flush), ``postgresql async`` connects with
``synchronous_commit=off`` (a crash of the database server may lose the last
fraction of a second of appends; a node's crash still loses nothing).

    .venv/bin/python benchmarks/coordinator_engines.py [--events 3000] [--rounds 3] [--concurrency 32]

PostgreSQL: a database of its own is created on ``--postgres`` and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from maidcore_limits import LimitsRateLimiter
from maidcore_limits.settings import RateLimitSettings

from maidcore.cluster.pg_coordinator import PostgresCoordinator
from maidcore.cluster.redis_coordinator import RedisCoordinator
from maidcore.layers import Bucket
from maidcore.scope import Scope

RECORD = {
    "event": {"type": "message_create", "guild_id": "81384788765712384", "content": "hello " * 20},
    "type": "message_create",
    "target": None,
    "origin": None,
}


def with_database(url: str, name: str, options: str | None = None) -> str:
    parts = urlsplit(url)
    query = f"options={quote(options)}" if options else parts.query
    return urlunsplit(parts._replace(path="/" + name, query=query))


async def measure(coord, events: int, concurrency: int) -> dict[str, float]:
    """Rates per second of each operation on ``coord`` (a fresh shard lease per call of this)."""
    shard = int(uuid.uuid4().int % 1_000_000) + 100
    lease = await coord.acquire(shard, "bench", ttl=600)
    counter = iter(range(10**9))
    rates: dict[str, float] = {}

    async def append() -> None:
        key = f"session-x:{next(counter)}:message_create"
        assert await coord.append(lease, RECORD, source_key=key) is not None

    started = time.perf_counter()
    for _ in range(events):
        await append()
    rates["append, one at a time"] = events / (time.perf_counter() - started)

    per_lane = events // concurrency

    async def lane() -> None:
        for _ in range(per_lane):
            await append()

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    rates[f"append, {concurrency} in flight"] = per_lane * concurrency / (time.perf_counter() - started)

    # read + ack what was appended, as the durable sink does: batches of 100, each batch acked in one call
    total = events + per_lane * concurrency
    done = 0
    started = time.perf_counter()
    while done < total:
        batch = await coord.read_new(lease, "bench", 100, block=0.01)
        if not batch:
            break
        await coord.ack(shard, [e.entry_id for e in batch])
        done += len(batch)
    rates["read+ack (batches of 100)"] = done / (time.perf_counter() - started)
    assert done == total, (done, total)

    small = max(1, events // 3)
    tag = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    for n in range(small):
        await coord.once(f"{tag}:{n}", 60)
    rates["once"] = small / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(small):
        await coord.spend(f"{tag}:budget", 1, 10**9, 60)
    rates["spend"] = small / (time.perf_counter() - started)
    started = time.perf_counter()
    for n in range(small):
        await coord.state_put(f"{tag}:{n}", {"plugin": "p"}, 60)
    rates["state_put"] = small / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(small):
        await coord.renew(lease, 600)
    rates["renew"] = small / (time.perf_counter() - started)
    await coord.release(lease)
    return rates


async def measure_limits(uri: str, prefix: str, decisions: int) -> float:
    """Rate-limit decisions per second on the shared ``limits`` storage ``uri`` (every one admits)."""
    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri=uri, key_prefix=prefix, discord_actions_per_minute=10**6))
    try:
        scopes = [Scope(str(n), "p") for n in range(50)]
        await limiter.hit(Bucket.DISCORD, scopes[0])  # connect (and, on PostgreSQL, create the tables)
        started = time.perf_counter()
        for n in range(decisions):
            assert (await limiter.hit(Bucket.DISCORD, scopes[n % len(scopes)])).allowed
        return decisions / (time.perf_counter() - started)
    finally:
        await limiter.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("MAIDCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MAIDCORE_TEST_POSTGRES_URL", "postgresql://maidcore:maidcore@127.0.0.1:5432/maidcore"),
    )
    parser.add_argument("--events", type=int, default=3000, help="appends per engine and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    database = f"maidcore_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
        sync_default = admin.execute("SHOW synchronous_commit").fetchone()[0]
    prefix = f"maidcore-bench-{uuid.uuid4().hex[:8]}"
    coords = {
        "redis": RedisCoordinator(args.redis, prefix),
        "postgresql": PostgresCoordinator(with_database(args.postgres, database), prefix, pool_size=args.concurrency),
        "postgresql async": PostgresCoordinator(
            with_database(args.postgres, database, "-c synchronous_commit=off"), prefix, pool_size=args.concurrency
        ),
    }
    limits_uris = {
        "redis": args.redis,
        "postgresql": with_database(args.postgres, database),
        "postgresql async": with_database(args.postgres, database, "-c synchronous_commit=off"),
    }
    results: dict[str, dict[str, list[float]]] = {name: {} for name in coords}
    loads = [os.getloadavg()[0]]
    try:
        for coord in coords.values():
            await coord.start()
            await measure(coord, 200, 8)  # warm up: connections, prepared statements, scripts
        for _ in range(args.rounds):
            for name, coord in coords.items():
                for op, rate in (await measure(coord, args.events, args.concurrency)).items():
                    results[name].setdefault(op, []).append(rate)
                rate = await measure_limits(limits_uris[name], prefix, max(1, args.events // 3))
                results[name].setdefault("rate-limit decision", []).append(rate)
                loads.append(os.getloadavg()[0])
    finally:
        redis = coords["redis"]
        keys = [k async for k in redis.r.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.r.delete(*keys)
        for coord in coords.values():
            await coord.close()
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    print(
        f"operations per second, median of {args.rounds} rounds ({args.events} appends each), one client process;"
        f" PostgreSQL synchronous_commit default: {sync_default}"
    )
    ops = list(results["redis"])
    print(f"  {'':28s}" + "".join(f"{name:>26s}" for name in coords))
    for op in ops:
        base = statistics.median(results["redis"][op])
        cells = []
        for name in coords:
            rate = statistics.median(results[name][op])
            cells.append(f"{rate:9.0f}/s" + (f" ({rate / base:4.2f}x)" if name != "redis" else " " * 8))
        print(f"  {op:28s}" + "".join(f"{cell:>26s}" for cell in cells))
    print(f"  load average (1 min) during the run: {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
