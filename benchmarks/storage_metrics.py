"""Metric queries stay fast however many points were recorded: roll-ups vs. scanning raw points.

    .venv/bin/python benchmarks/storage_metrics.py [--points 100000] [--postgres URL | --no-postgres]
        [--redis URL | --no-cluster] [--record-calls 3000] [--record-only]

Records ``--points`` points (3 tags each) spread over 90 days through
``storage.metrics.record`` (the store's clock is moved back for each point),
then times ``query`` for every period, with and without ``group_by``. The
baseline keeps the same points as raw rows (indexed by scope and time) and
computes the same answer with one ``GROUP BY`` over them — what a store without
roll-ups would do. Both run on the same database in the same run.

The cluster case (PostgreSQL and Redis) times one ``record`` call on a single
node (the points budget counted in process: the baseline) and on a node of a
cluster (``LayerContext.shared`` on a ``RedisCoordinator``: one Redis step per
call spends from the cluster-wide budget), awaited one at a time and 200 at
once, a call refused past the budget, and the budget step (``Shared.spend``)
alone, in the same run on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extensions"))

from maidcore_sqlmodel.metrics import PERIODS
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.cluster.redis_coordinator import RedisCoordinator
from maidcore.errors import QuotaExceeded
from maidcore.layers.shared import Shared
from maidcore.scope import Scope

SCOPE = Scope("900000000000000002", "bench-metrics")
DAY = 86400


def raw_table(storage: SqlModelStorage, points: list[tuple[float, float, str]]) -> None:
    """The baseline's raw points, written straight through the driver."""
    conn = storage.db.connect()
    sql = storage.db.sql("INSERT INTO bench_points (server_id, plugin_id, ts, value, region) VALUES (?, ?, ?, ?, ?)")
    rows = [(SCOPE.server_id, SCOPE.plugin_id, ts, v, r) for ts, v, r in points]
    conn.execute("DROP TABLE IF EXISTS bench_points")
    conn.execute(
        "CREATE TABLE bench_points (server_id TEXT, plugin_id TEXT, ts DOUBLE PRECISION, value DOUBLE PRECISION,"
        " region TEXT)"
    )
    conn.execute("CREATE INDEX bench_points_scope_ts ON bench_points (server_id, plugin_id, ts)")
    if storage.db.dialect == "sqlite":
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    else:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(sql, rows)
        conn.execute("ANALYZE bench_points")
    conn.close()


def raw_query(conn, storage: SqlModelStorage, now: float, period: str, group_by: bool) -> list:
    _res, step, n = PERIODS[period]
    start = int(now // step) * step - (n - 1) * step
    bucket = f"CAST((ts - {start}) / {step} AS INTEGER)"
    group = ", region" if group_by else ""
    sql = storage.db.sql(
        f"SELECT {bucket} AS b{group}, sum(value) FROM bench_points "
        f"WHERE server_id = ? AND plugin_id = ? AND ts >= ? GROUP BY b{group}"
    )
    return conn.execute(sql, (SCOPE.server_id, SCOPE.plugin_id, start)).fetchall()


def timed(fn, repeat: int = 7) -> float:
    """Median seconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def bench(settings: StorageSettings, data_dir: Path, n_points: int) -> dict:
    storage = SqlModelStorage(settings, data_dir)
    await storage.start()
    now = time.time()
    rng = random.Random(7)
    points = [
        (now - rng.random() * 90 * DAY, rng.random() * 10, rng.choice(["eu", "us", "asia"])) for _ in range(n_points)
    ]
    clock = {"t": now}
    storage.metrics.clock = lambda: clock["t"]
    started = time.perf_counter()
    for chunk in range(0, n_points, 200):
        batch = []
        for ts, value, region in points[chunk : chunk + 200]:
            clock["t"] = ts
            batch.append(storage.metrics.record(SCOPE, "sales", value, {"region": region, "shop": "main", "x": "y"}))
        await asyncio.gather(*batch)
    record_rate = n_points / (time.perf_counter() - started)
    clock["t"] = now
    await asyncio.to_thread(raw_table, storage, points)

    results = {"record_per_s": record_rate, "queries": {}}
    raw_conn = storage.db.connect()  # one connection for the baseline, as the layer keeps its own open
    for period in PERIODS:
        for group_by in (None, "region"):

            async def layer_query(period=period, group_by=group_by):
                return await storage.metrics.query(SCOPE, "sales", period, "sum", group_by)

            layer_samples = []
            for _ in range(7):
                t0 = time.perf_counter()
                await layer_query()
                layer_samples.append(time.perf_counter() - t0)
            raw = await asyncio.to_thread(
                timed, lambda p=period, g=group_by: raw_query(raw_conn, storage, now, p, bool(g))
            )
            results["queries"][(period, group_by)] = (statistics.median(layer_samples), raw)
    raw_conn.close()
    await storage.close()
    return results


async def record_cost(settings: StorageSettings, data_dir: Path, redis_url: str | None, calls: int) -> dict:
    """Per-call µs of ``metrics.record``: admitted one at a time, admitted 200 at once, refused past the budget."""
    shared, coordinator = Shared(), None
    if redis_url:
        coordinator = RedisCoordinator(redis_url, f"maidcore-bench-{uuid.uuid4().hex[:8]}")
        await coordinator.start()
        shared.attach(coordinator)
    storage = SqlModelStorage(
        settings.model_copy(update={"metrics_points_per_minute": 3 * calls}), data_dir, shared=shared
    )
    await storage.start()
    now = time.time()
    storage.metrics.clock = lambda: now  # one minute's budget for the whole run
    scope = Scope(SCOPE.server_id, f"bench-cost-{uuid.uuid4().hex[:6]}")
    tags = {"region": "eu", "shop": "main"}
    result = {}
    try:
        await storage.metrics.record(scope, "cost", 1.0, tags)  # reads the stored series once
        started = time.perf_counter()
        for _ in range(calls):
            await storage.metrics.record(scope, "cost", 1.0, tags)
        result["one at a time"] = (time.perf_counter() - started) / calls
        started = time.perf_counter()
        for _ in range(0, calls, 200):
            await asyncio.gather(*(storage.metrics.record(scope, "cost", 1.0, tags) for _ in range(200)))
        result["200 at once"] = (time.perf_counter() - started) / (calls // 200 * 200)
        admitted = 0
        while True:  # spend what is left of the budget, then time refusals
            try:
                await storage.metrics.record(scope, "cost", 1.0, tags)
                admitted += 1
            except QuotaExceeded:
                break
        started = time.perf_counter()
        for _ in range(calls):
            with contextlib.suppress(QuotaExceeded):
                await storage.metrics.record(scope, "cost", 1.0, tags)
        result["refused"] = (time.perf_counter() - started) / calls
        started = time.perf_counter()
        for _ in range(calls):  # the budget step alone (in process on a single node)
            await shared.spend(f"bench:{scope.plugin_id}", 1, 10 * calls, 60)
        result["spend alone"] = (time.perf_counter() - started) / calls
    finally:
        await storage.close()
        if coordinator is not None:
            keys = [k async for k in coordinator.r.scan_iter(f"{coordinator.prefix}:*")]
            if keys:
                await coordinator.r.delete(*keys)
            await coordinator.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MAIDCORE_TEST_POSTGRES_URL", "postgresql://maidcore:maidcore@127.0.0.1:5432/maidcore"),
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--redis", default=os.environ.get("MAIDCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-cluster", action="store_true", help="skip the cluster case (needs PostgreSQL, Redis)")
    parser.add_argument("--record-calls", type=int, default=3000, help="calls per case of the record cost")
    parser.add_argument("--record-only", action="store_true", help="only the record cost, not the queries")
    args = parser.parse_args()
    if args.record_only and (args.no_postgres or args.no_cluster):
        parser.error("--record-only times the cluster case: it needs PostgreSQL and Redis")

    runs = {}
    costs = {}
    if not args.record_only:
        with tempfile.TemporaryDirectory() as tmp:
            runs["sqlite"] = asyncio.run(bench(StorageSettings(), Path(tmp), args.points))
    if not args.no_postgres:
        import psycopg

        name = f"maidcore_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = args.postgres.rsplit("/", 1)[0] + "/" + name
            if not args.record_only:
                with tempfile.TemporaryDirectory() as tmp:
                    runs["postgresql"] = asyncio.run(bench(StorageSettings(database_url=url), Path(tmp), args.points))
            if not args.no_cluster:
                rounds: dict[str, list[dict]] = {"single node": [], "cluster": []}
                for _ in range(3):  # alternated, so the machine's load weighs on both alike
                    for case, redis_url in (("single node", None), ("cluster", args.redis)):
                        with tempfile.TemporaryDirectory() as tmp:
                            rounds[case].append(
                                asyncio.run(
                                    record_cost(
                                        StorageSettings(database_url=url), Path(tmp), redis_url, args.record_calls
                                    )
                                )
                            )
                costs = {
                    case: {k: statistics.median(r[k] for r in runs_) for k in runs_[0]}
                    for case, runs_ in rounds.items()
                }
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    if costs:
        load = os.getloadavg()
        print(
            "metrics.record on PostgreSQL, µs per call, median of 3 rounds "
            f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
        )
        print(f"  {'case':<14} {'single node':>12} {'cluster':>9} {'ratio':>6}")
        for case in costs["single node"]:
            single, cluster = costs["single node"][case], costs["cluster"][case]
            print(f"  {case:<14} {single * 1e6:>12.0f} {cluster * 1e6:>9.0f} {cluster / single:>5.2f}x")
    if not runs:
        return
    print(f"\nmetrics: {args.points:,} points over 90 days, 3 tags each; median query latency in ms")
    for backend, r in runs.items():
        print(f"\n{backend}: record {r['record_per_s']:,.0f} points/s through storage.metrics.record")
        print(f"  {'period':<6} {'group_by':<9} {'roll-ups':>9} {'raw scan':>9} {'speed-up':>9}")
        for (period, group_by), (layer, raw) in r["queries"].items():
            print(f"  {period:<6} {group_by or '-':<9} {layer * 1000:>9.2f} {raw * 1000:>9.2f} {raw / layer:>8.1f}x")


if __name__ == "__main__":
    main()
