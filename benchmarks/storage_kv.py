"""KV throughput through the storage layer vs. the bare database driver, SQLite and PostgreSQL side by side.

    .venv/bin/python benchmarks/storage_kv.py [--seconds 3] [--postgres URL] [--no-postgres]

Backends: SQLite (``database_url = "sqlite://"``), the embedded PostgreSQL server (the
default), and an external PostgreSQL server when ``--postgres`` (or
``MAIDCORE_TEST_POSTGRES_URL``) names one.

Four plugins (four scopes) run concurrently; each keeps ``--in-flight`` calls
outstanding (default 4: the SDK's four dispatch threads per plugin, §10.6), as
asyncio tasks calling ``storage.kv.get / put / increment`` — the calls the
runner's host API makes for ``kv.get`` / ``kv.put`` / ``kv.increment``. The
baseline runs the same SQL statements (same transactions) straight on the
driver (``sqlite3`` / ``psycopg``) from as many threads, one connection each,
with no asyncio, no thread hand-off, no validation and no JSON.
Overhead = 1 - layer / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extensions"))

from maidcore_sqlmodel.database import SQLITE_BUSY_TIMEOUT_MS
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.scope import Scope

PLUGINS = 4
KEYS = 100
SERIES = f"WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < {KEYS - 1}) SELECT n FROM r"
OPS = ("get", "set", "increment", "sql")  # sql: a point SELECT through ctx.sql's sandbox (the SQL round trip)
SQL_POINT = "SELECT v FROM bench WHERE id = $1"


# --- through the layer --------------------------------------------------------------


async def layer_run(storage: SqlModelStorage, op: str, seconds: float, in_flight: int) -> float:
    scopes = [Scope("900000000000000001", f"bench-plugin-{i}") for i in range(PLUGINS)]
    for scope in scopes:
        await storage.kv.put_many(scope, {f"key{k}": k for k in range(25)})
        for k in range(25, KEYS):
            await storage.kv.put(scope, f"key{k}", k)
        await storage.sql.execute(
            scope,
            "CREATE TABLE IF NOT EXISTS bench (id INTEGER PRIMARY KEY, v TEXT);"
            f"DELETE FROM bench; INSERT INTO bench (id, v) SELECT n, 'value' || n FROM ({SERIES}) AS s",
            [],
        )
    deadline = time.perf_counter() + seconds
    counts = [0] * (PLUGINS * in_flight)

    async def plugin(i: int) -> None:
        scope, kv, n = scopes[i % PLUGINS], storage.kv, i // PLUGINS * 7
        while time.perf_counter() < deadline:
            for _ in range(50):
                key = f"key{n % KEYS}"
                if op == "get":
                    await kv.get(scope, key)
                elif op == "sql":
                    await storage.sql.query(scope, SQL_POINT, [n % KEYS], 1)
                elif op == "set":
                    await kv.put(scope, key, n)
                else:
                    await kv.increment(scope, key, 1)
                n += 1
        counts[i] = n

    started = time.perf_counter()
    await asyncio.gather(*(plugin(i) for i in range(PLUGINS * in_flight)))
    return sum(counts) / (time.perf_counter() - started)


# --- through the runner's host API method table ------------------------------------------


def host_api_methods():
    """``(validate, perform)`` of kv.get / kv.put / kv.increment from the runner's host API, if it is there."""
    try:
        from maidcore.runner.hostapi import METHODS
        from maidcore.runner.hostapi.args import Args
    except ImportError:
        return None
    names = (("get", "kv.get"), ("set", "kv.put"), ("increment", "kv.increment"), ("sql", "sql.query"))
    return Args, {op: METHODS[name] for op, name in names}


async def host_api_run(storage: SqlModelStorage, op: str, seconds: float, in_flight: int) -> float | None:
    """Each call goes through the host API's argument validation and its storage mapping, as a worker's
    request would after attribution and the capability check (JSON-RPC framing and the pipe not included)."""
    found = host_api_methods()
    if found is None:
        return None
    Args, specs = found
    spec = specs[op]

    class Tenant:
        def __init__(self, scope: Scope) -> None:
            self.scope = scope

    class Platform:
        pass

    platform = Platform()
    platform.storage = storage  # type: ignore[attr-defined]
    tenants = [Tenant(Scope("900000000000000001", f"bench-plugin-{i}")) for i in range(PLUGINS)]
    deadline = time.perf_counter() + seconds
    counts = [0] * (PLUGINS * in_flight)

    async def plugin(i: int) -> None:
        tenant, n = tenants[i % PLUGINS], i // PLUGINS * 7
        while time.perf_counter() < deadline:
            for _ in range(50):
                params = {"key": f"key{n % KEYS}", "discord_srv_id": tenant.scope.server_id}
                if op == "sql":
                    params = {"sql": SQL_POINT, "params": [n % KEYS], "limit": 1}
                    params["discord_srv_id"] = tenant.scope.server_id
                elif op == "set":
                    params["value"] = n
                elif op == "increment":
                    params["amount"] = 1
                await spec.perform(platform, tenant, spec.validate(Args(params)))
                n += 1
        counts[i] = n

    started = time.perf_counter()
    await asyncio.gather(*(plugin(i) for i in range(PLUGINS * in_flight)))
    return sum(counts) / (time.perf_counter() - started)


# --- straight on the driver -------------------------------------------------------------


class DriverBaseline:
    """The statements the layer runs for each operation, issued directly on one driver connection per thread."""

    def __init__(self, kind: str, target: str, sql_targets: list[str] | None = None) -> None:
        self.kind, self.target = kind, target
        self.sql_targets = sql_targets or []  # per plugin: its SQL space (SQLite file, or PostgreSQL schema)
        q = (lambda s: s) if kind == "sqlite" else (lambda s: s.replace("?", "%s"))
        live = "(expires_at IS NULL OR expires_at > ?)"
        self.get_sql = q(f"SELECT value FROM kv_entries WHERE server_id = ? AND plugin_id = ? AND key = ? AND {live}")
        self.set_sql = q(
            "UPDATE kv_entries SET value = ?, expires_at = ? "
            f"WHERE server_id = ? AND plugin_id = ? AND key = ? AND {live}"
        )
        lock = "" if kind == "sqlite" else " FOR UPDATE"
        self.lock_sql = q(
            f"SELECT value, expires_at FROM kv_entries WHERE server_id = ? AND plugin_id = ? AND key = ?{lock}"
        )
        self.incr_sql = q("UPDATE kv_entries SET value = ? WHERE server_id = ? AND plugin_id = ? AND key = ?")
        # PostgreSQL: the layer writes a live key with one autocommit statement each (no BEGIN/COMMIT);
        # the baseline does the same, so the ratio measures the layer, not a cheaper statement plan.
        self.pg_incr_sql = q(
            "UPDATE kv_entries SET value = (value::bigint + ?::bigint)::text "
            f"WHERE server_id = ? AND plugin_id = ? AND key = ? AND {live} "
            "AND value ~ '^-{0,1}(0|[1-9][0-9]{0,17})$' RETURNING value"
        )

    def connect(self):
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.target, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            return conn
        import psycopg

        return psycopg.connect(self.target, autocommit=True)

    def connect_sql(self, plugin: int):
        """A plain connection to the plugin's SQL space: its SQLite file, or the server with its schema first."""
        if self.kind == "sqlite":
            return sqlite3.connect(self.sql_targets[plugin], isolation_level=None, check_same_thread=False)
        import psycopg

        conn = psycopg.connect(self.target, autocommit=True)
        conn.execute("SELECT set_config('search_path', %s, false)", (self.sql_targets[plugin],))
        return conn

    def begin(self, conn) -> None:
        conn.execute("BEGIN IMMEDIATE" if self.kind == "sqlite" else "BEGIN")

    def run(self, op: str, seconds: float, in_flight: int) -> float:
        deadline = time.perf_counter() + seconds
        counts = [0] * (PLUGINS * in_flight)

        def worker(i: int) -> None:
            conn = self.connect_sql(i % PLUGINS) if op == "sql" else self.connect()
            point = "SELECT v FROM bench WHERE id = " + ("?" if self.kind == "sqlite" else "%s")
            ids = ("900000000000000001", f"bench-plugin-{i % PLUGINS}")
            n = i // PLUGINS * 7
            while time.perf_counter() < deadline:
                for _ in range(50):
                    key = f"key{n % KEYS}"
                    if op == "get":
                        conn.execute(self.get_sql, (*ids, key, time.time())).fetchone()
                    elif op == "sql":
                        conn.execute(point, (n % KEYS,)).fetchall()
                    elif op == "set" and self.kind != "sqlite":
                        conn.execute(self.set_sql, (str(n), None, *ids, key, time.time()))
                    elif op == "set":
                        self.begin(conn)
                        conn.execute(self.set_sql, (str(n), None, *ids, key, time.time()))
                        conn.execute("COMMIT")
                    elif self.kind != "sqlite":
                        conn.execute(self.pg_incr_sql, (1, *ids, key, time.time())).fetchone()
                    else:
                        self.begin(conn)
                        row = conn.execute(self.lock_sql, (*ids, key)).fetchone()
                        conn.execute(self.incr_sql, (str(int(row[0]) + 1), *ids, key))
                        conn.execute("COMMIT")
                    n += 1
            counts[i] = n
            conn.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(PLUGINS * in_flight)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts) / (time.perf_counter() - started)


# --- one backend ------------------------------------------------------------------------------


async def bench_backend(settings: StorageSettings, data_dir: Path, seconds: float, in_flight: int) -> dict[str, dict]:
    storage = SqlModelStorage(settings, data_dir)
    await storage.start()
    try:
        results = {op: {"layer": await layer_run(storage, op, seconds, in_flight)} for op in OPS}
        for op in OPS:
            results[op]["host_api"] = await host_api_run(storage, op, seconds, in_flight)
        target = str(storage.db.url.sqlite_path) if storage.db.dialect == "sqlite" else storage.db.url.conninfo
        scopes = [Scope("900000000000000001", f"bench-plugin-{i}") for i in range(PLUGINS)]
        if storage.db.dialect == "sqlite":
            spaces = [str(storage.sql.path_for(scope)) for scope in scopes]
        else:
            spaces = [storage.sql.schema_for(scope) for scope in scopes]
        baseline = DriverBaseline(storage.db.dialect, target, spaces)  # while the (embedded) server still runs
        for op in OPS:
            results[op]["driver"] = baseline.run(op, seconds, in_flight)
    finally:
        await storage.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per operation and side")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MAIDCORE_TEST_POSTGRES_URL"),
        help="admin URL of an external PostgreSQL server to measure too (a scratch database is created and dropped)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--in-flight", type=int, default=4, help="calls outstanding per plugin (SDK: 4 threads)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    all_results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        all_results["sqlite"] = asyncio.run(
            bench_backend(StorageSettings(database_url="sqlite://"), Path(tmp), args.seconds, args.in_flight)
        )
    if not args.no_postgres:
        with tempfile.TemporaryDirectory() as tmp:  # the default: an embedded server under the data directory
            all_results["embedded"] = asyncio.run(
                bench_backend(StorageSettings(), Path(tmp), args.seconds, args.in_flight)
            )
    if args.postgres and not args.no_postgres:
        import psycopg

        name = f"maidcore_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = urlunsplit(urlsplit(args.postgres)._replace(path="/" + name))
            with tempfile.TemporaryDirectory() as tmp:
                all_results["external"] = asyncio.run(
                    bench_backend(StorageSettings(database_url=url), Path(tmp), args.seconds, args.in_flight)
                )
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(
        f"KV ops/s (sql: a point SELECT through ctx.sql) via the Storage layer vs the bare driver: {PLUGINS} plugins x "
        f"{args.in_flight} "
        f"calls in flight, {args.seconds:g} s per measurement, {os.cpu_count()} CPUs"
    )
    print(
        f"{'backend':<11} {'op':<10} {'driver':>9} {'layer':>9} {'layer/drv':>10} {'overhead':>9}"
        f" {'host api':>9} {'api/drv':>8}"
    )
    for backend, results in all_results.items():
        for op, r in results.items():
            ratio = r["layer"] / r["driver"]
            api = r["host_api"]
            api_text = f"{api:>9,.0f} {api / r['driver']:>8.2f}" if api else f"{'n/a':>9} {'':>8}"
            print(
                f"{backend:<11} {op:<10} {r['driver']:>9,.0f} {r['layer']:>9,.0f} {ratio:>10.2f} {1 - ratio:>9.0%}"
                f" {api_text}"
            )
    print("overhead = 1 - layer/driver (negative: the layer is faster, e.g. through group commit or merged reads)")
    print("host api = the runner's kv.* validation + storage mapping, without JSON-RPC framing and the worker pipe")
    if args.json:
        print(json.dumps(all_results))


if __name__ == "__main__":
    main()
