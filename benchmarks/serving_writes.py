"""Two costs of the serving process, each against the old way in the same run: lines to a worker, runner counters.

**Lines to a worker.** ``Connection.send`` to a real process-backend worker that
reads and discards its stdin: through the outbox and its writer task (the old
path, still taken when something is queued; forced here by hiding the worker's
``write_nowait``) vs handed to the pipe at once (``DirectWriter.write_nowait``).
*Paced*: one line per event-loop turn, as a serving node sends an event or an
answer; *burst*: 50 lines per turn. Printed: CPU µs per line of this process
(``time.process_time``), alternating rounds, medians, and new / old.

**Runner counters.** ``LogBook.flush`` of one period's counters (``--scopes``
(server, plugin) pairs × 3 counters) into real storage: one ``metrics.record``
(one transaction) per point, as before, vs one ``metrics.record_many`` for all.
Printed: CPU ms and wall ms per flush, medians of alternating rounds, new / old.
On PostgreSQL with ``MAIDCORE_TEST_POSTGRES_URL`` (a fresh database per run), else SQLite.

    .venv/bin/python benchmarks/serving_writes.py [--lines 20000] [--rounds 5] [--scopes 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from maidcore_process import ProcessBackend
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.layers import WorkerSpec
from maidcore.records import MetricPoint
from maidcore.runner.logbook import METRIC_PREFIX, LogBook
from maidcore.runner.rpc import Connection
from maidcore.scope import Scope

READER = "import sys\nfor line in sys.stdin.buffer:\n    pass\n"
EVENT = {"channel_id": "123456789012345678", "content": "!ping", "author_id": "700000000000000001", "n": 0}


class QueuedOnly:
    """The worker without ``write_nowait``: every line goes through the writer task (the old path)."""

    def __init__(self, worker) -> None:
        self._worker = worker
        self.name = worker.name

    async def write(self, data: bytes) -> None:
        await self._worker.write(data)


async def send_lines(worker, lines: int, per_turn: int) -> float:
    """CPU µs of this process per line sent."""
    conn = Connection(worker)
    await asyncio.sleep(0.05)
    started = time.process_time()
    for n in range(lines):
        conn.notify("event.message_create", {**EVENT, "n": n})
        if n % per_turn == per_turn - 1:
            await asyncio.sleep(0)
    while conn.pending():
        await asyncio.sleep(0)
    used = time.process_time() - started
    await conn.close()
    return used / lines * 1e6


async def lines_to_a_worker(lines: int, rounds: int, tmp: Path) -> None:
    bundle = tmp / "reader"
    bundle.mkdir()
    (bundle / "__main__.py").write_text(READER)
    backend = ProcessBackend()
    worker = await backend.spawn(WorkerSpec("reader", "1.0.0", bundle, f"maidcore-bench-reader-{os.getpid()}"))
    try:
        for label, per_turn in (("paced (1 line per loop turn)", 1), ("burst (50 lines per loop turn)", 50)):
            old, new = [], []
            for _ in range(rounds):
                old.append(await send_lines(QueuedOnly(worker), lines, per_turn))
                new.append(await send_lines(worker, lines, per_turn))
            o, n = statistics.median(old), statistics.median(new)
            print(
                f"lines to a worker, {label:31} queued {o:6.1f} µs/line  direct {n:6.1f} µs/line  "
                f"new/old {n / o:.2f}  (rounds: old {', '.join(f'{x:.1f}' for x in old)}; "
                f"new {', '.join(f'{x:.1f}' for x in new)})"
            )
    finally:
        await worker.stop(grace=1)
        await backend.close()


async def one_by_one(storage, points) -> None:
    for point in points:  # what LogBook did before record_many
        await storage.metrics.record(point.scope, point.metric, point.value, {})


async def flush_once(storage, book: LogBook, scopes: list[Scope], old: bool) -> tuple[float, float]:
    for scope in scopes:
        for name in ("deliveries_acked", "host_calls", "events_delayed"):
            book.count_metric(scope, name, 3)
    if old:
        metrics, book._metrics = book._metrics, Counter()
        points = [MetricPoint(s, METRIC_PREFIX + k, float(n)) for (s, k), n in metrics.items()]
    cpu, wall = time.process_time(), time.perf_counter()
    if old:
        await one_by_one(storage, points)
    else:
        await book.flush()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


async def runner_counters(rounds: int, scopes_n: int, tmp: Path) -> None:
    url = os.environ.get("MAIDCORE_TEST_POSTGRES_URL")
    database = None
    if url:
        import psycopg

        database = f"maidcore_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        db_url = url.rsplit("/", 1)[0] + "/" + database
    else:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
    storage = SqlModelStorage(StorageSettings(database_url=db_url), tmp / "data")
    await storage.start()
    try:
        book = LogBook(lambda: storage, period=3600)
        scopes = [Scope(server_id=str(900000000000000000 + i), plugin_id="pinger") for i in range(scopes_n)]
        await flush_once(storage, book, scopes, old=False)  # warm: connections, statements
        old, new = [], []
        for _ in range(rounds * 4):
            old.append(await flush_once(storage, book, scopes, old=True))
            new.append(await flush_once(storage, book, scopes, old=False))
        engine = "PostgreSQL" if url else "SQLite"
        for what, i in (("CPU ms", 0), ("wall ms", 1)):
            o, n = statistics.median(x[i] for x in old), statistics.median(x[i] for x in new)
            print(
                f"runner counters, {engine}, {scopes_n * 3} points per flush: {what:7} one by one {o:7.2f}  "
                f"record_many {n:7.2f}  new/old {n / o:.2f}"
            )
    finally:
        await storage.close()
        if database:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scopes", type=int, default=16, help="(server, plugin) pairs with counters per flush")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        await lines_to_a_worker(args.lines, args.rounds, Path(tmp))
        await runner_counters(args.rounds, args.scopes, Path(tmp))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
