"""One node with many guilds: start-up, idle CPU, ping latency and garbage-collection pauses, in one run.

The emulator runs in its own process with ``--guilds`` guilds (the demo guild
among them). A plugin is installed on every guild (so there are as many
install rows as guilds) and ``ping_pong`` on the demo guild. The same node
then runs several times on the same database and emulator (``--modes``):

1. **first**: a first start; no guild's slash commands were ever synced, so
   every guild is synced once (``sync_commands``, one HTTP call each);
2. **restart**: the same node again, nothing changed; the command digests
   recorded by the first start say every guild is current, so none is synced;
3. **poll** (``install_push = false``, optional): every install is re-read each
   ``install_poll_seconds`` (2 s), as every node did before the install feed.

For each: the time until every guild is available ("ready") and until every
command sync start-up queued was sent ("current"), and how many were sent; then, once settled,
the node's CPU over ``--idle`` seconds (this process, and the database server
processes serving its connections), ``--pings`` sequential ``!ping`` ->
``Pong!`` round trips (p50/p99), and how long an install committed through
another node (same database, its own data directory) takes to reach this one.

Garbage collection (the restart run, same process): the pings are measured
with the heap as start-up left it, then again after ``gc.freeze()``
(``maidcore.heap.freeze_after_start``, what ``maidcore serve`` does), with the
collector's pauses timed by ``gc.callbacks`` and one forced full collection
each time (what a generation-2 collection costs at that moment).

Needs PostgreSQL: ``--database-url`` (default ``MAIDCORE_TEST_POSTGRES_URL``),
on which a database of its own is created and dropped.
Usage: ``.venv/bin/python benchmarks/many_guilds.py [--guilds 10000] [--idle 20] [--pings 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from discord_events import Emu, pct, ping_latencies, settings
from maidcore_discord.emulator import DEMO_GUILD_ID

from maidcore import installs
from maidcore.heap import freeze_after_start
from maidcore.platform import Platform

ROOT = Path(__file__).resolve().parents[1]
IDLE_PLUGIN_MAIN = """from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    pass


if __name__ == "__main__":
    plugin.run()
"""


async def emulator_child(port: int, guilds: int, ids_file: str) -> None:
    """Run in the child process: the emulator with the demo guild and ``guilds - 1`` more."""
    from maidcore_discord.emulator.server import Emulator

    emu = Emulator("127.0.0.1", port)
    ids = [DEMO_GUILD_ID]
    for i in range(guilds - 1):
        ids.append(emu.add_guild(f"bench {i}", bot_permissions=0x800 | 0x400))  # send + view
    Path(ids_file).write_text(json.dumps(ids))
    await emu.start()
    await asyncio.Event().wait()


class ManyGuildsEmu(Emu):
    """The emulator in a child process, with many guilds."""

    def __init__(self, guilds: int, ids_file: Path) -> None:
        super().__init__()
        self.guilds = guilds
        self.ids_file = ids_file
        self.ids: list[str] = []

    async def __aenter__(self) -> ManyGuildsEmu:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--emulator-child", str(self.port), str(self.guilds), str(self.ids_file)],
            stdout=subprocess.DEVNULL,
        )
        self.http = aiohttp.ClientSession()
        deadline = time.monotonic() + 300
        while True:
            try:
                async with self.http.get(f"{self.base}/api/v10/gateway") as r:
                    if r.status < 500:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the emulator did not start")
            await asyncio.sleep(0.2)
        self.ids = json.loads(self.ids_file.read_text())
        async with self.http.get(f"{self.base}/_emulator/api/state") as r:
            state = await r.json()
        guild = next(g for g in state["guilds"] if g["id"] == DEMO_GUILD_ID)
        self.general = next(c["id"] for c in guild["channels"] if c["name"] == "general")
        return self


class GcPauses:
    """Garbage-collector pauses of this process while measuring (a full collection walks the whole heap)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._start = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._start) * 1000))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        full = [ms for gen, ms in self.pauses if gen == 2]
        return f"{len(self.pauses)} collections ({len(full)} full), longest {self.longest():.0f} ms"

    def longest(self) -> float:
        return max((ms for _gen, ms in self.pauses), default=0.0)


def full_collection() -> tuple[int, float]:
    """Objects a full collection walks now, and how long one takes (the loop stands still meanwhile)."""
    tracked = len(gc.get_objects())
    started = time.perf_counter()
    gc.collect()
    return tracked, (time.perf_counter() - started) * 1000


async def gc_window(emu: Emu, pings: int) -> dict[str, Any]:
    """Pings with the collector's pauses timed, then one forced full collection."""
    pauses = GcPauses()
    with pauses:
        ms = [x * 1000 for x in await latencies(emu, pings)]
    tracked, full_ms = full_collection()
    return {
        "p50": statistics.median(ms),
        "p99": pct(ms, 99),
        "max": max(ms),
        "pause": pauses.longest(),
        "gc": pauses.summary(),
        "full_gc": f"one full collection of {tracked:,} tracked objects takes {full_ms:.0f} ms",
        "full_ms": full_ms,
    }


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) of live processes ``pids``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def backends(admin_url: str, database: str) -> list[int]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [r[0] for r in rows]


async def prepare(db_url: str, emu: ManyGuildsEmu, data_dir: Path) -> None:
    """Install an idle plugin on every guild (one install row each) and ``ping_pong`` on the demo guild."""
    plugin = data_dir.parent / "idle_plugin"
    plugin.mkdir()
    (plugin / "manifest.json").write_text(
        json.dumps({"id": "idle_listener", "name": "Idle", "version": "1.0.0", "description": "Listens, says nothing"})
    )
    (plugin / "__main__.py").write_text(IDLE_PLUGIN_MAIN)
    platform = Platform(node_settings(emu, data_dir, db_url, push=True), unsafe_no_isolation=True)
    await platform.open_storage()
    try:
        await installs.install(platform, ROOT / "examples" / "ping_pong", DEMO_GUILD_ID, installs.ALL)
        await installs.install(platform, plugin, DEMO_GUILD_ID)
    finally:
        await platform.close()
    with psycopg.connect(db_url, autocommit=True) as conn, conn.cursor() as cur:  # the same rows, written at once
        cur.executemany(
            "INSERT INTO installs (server_id, plugin_id, version, granted, enabled, installed_at) "
            "VALUES (%s, 'idle_listener', '1.0.0', '[]', true, now()) ON CONFLICT DO NOTHING",
            [(gid,) for gid in emu.ids],
        )


def node_settings(emu: Emu, data_dir: Path, db_url: str, *, push: bool):
    base = settings(emu, data_dir)
    return base.model_copy(
        update={
            "install_push": push,
            "install_poll_seconds": 2.0,
            "storage": base.storage.model_copy(update={"database_url": db_url}),
        }
    )


async def run_node(args: Any, emu: ManyGuildsEmu, data_dir: Path, db_url: str, admin_url: str, mode: str) -> dict:
    database = db_url.rsplit("/", 1)[1]
    push = mode != "poll"
    gc.collect()
    started = time.monotonic()
    async with Platform(node_settings(emu, data_dir, db_url, push=push), unsafe_no_isolation=True) as platform:
        sync = platform.command_sync
        while len(sync._available) < len(emu.ids):
            if time.monotonic() - started > 900:
                raise TimeoutError(f"only {len(sync._available)}/{len(emu.ids)} guilds became available")
            await asyncio.sleep(0.5)
        ready = time.monotonic() - started
        await sync.settled()  # the command syncs start-up queued (sent in the background)
        while sync.pending():
            await asyncio.sleep(0.5)
        current = time.monotonic() - started
        synced = sync.sent
        await latencies(emu, 5)  # warm the worker up
        await asyncio.sleep(args.settle)
        tracked, full_ms = full_collection()

        pids = backends(admin_url, database)
        cpu0, db0, wall0 = time.process_time(), cpu_of(pids), time.perf_counter()
        await asyncio.sleep(args.idle)
        wall = time.perf_counter() - wall0
        idle_cpu = (time.process_time() - cpu0) / wall
        idle_db = (cpu_of(pids) - db0) / wall

        pauses = GcPauses()
        with pauses:
            ms = [x * 1000 for x in await latencies(emu, args.pings)]
        frozen: dict[str, Any] | None = None
        if mode == "restart":  # the same pings with start-up's heap frozen out of collections
            unfrozen = await gc_window(emu, args.pings)
            objects = freeze_after_start()
            frozen = await gc_window(emu, args.pings)
            gc.unfreeze()
            frozen["objects"] = objects
            frozen["before"] = unfrozen

        # an install made through another node (its own data directory, the same database) reaching this one
        server = emu.ids[-1]
        marks: list[asyncio.Future[float]] = []

        async def seen(changes):
            for change in changes:
                if change.server_id == server and change.plugin_id == "ping_pong" and marks and not marks[-1].done():
                    marks[-1].set_result(time.perf_counter())

        platform.install_watcher.subscribe(seen)
        other = Platform(node_settings(emu, data_dir.parent / f"other-{data_dir.name}", db_url, push=push))
        await other.open_storage()
        try:
            marks.append(asyncio.get_running_loop().create_future())
            record = await installs.install(other, ROOT / "examples" / "ping_pong", server, installs.ALL)
            await asyncio.wait_for(marks[-1], 30)
            marks.append(asyncio.get_running_loop().create_future())
            committed = time.perf_counter()  # timed: one write of the install record, until this node hears of it
            await other.records.put_install(replace(record, enabled=False))
            seen_at = await asyncio.wait_for(marks[-1], 30)
            await installs.uninstall(other, server, "ping_pong")  # leave the database as it was
        finally:
            await other.close()
    return {
        "mode": mode,
        "ready_s": ready,
        "current_s": current,
        "synced": synced,
        "frozen": frozen,
        "idle_cpu": idle_cpu,
        "idle_db_cpu": idle_db,
        "p50": statistics.median(ms),
        "p99": pct(ms, 99),
        "max": max(ms),
        "install_seen_s": seen_at - committed,
        "gc": pauses.summary(),
        "full_gc": f"one full collection of {tracked:,} tracked objects takes {full_ms:.0f} ms",
    }


async def latencies(emu: Emu, count: int) -> list[float]:
    return await ping_latencies(emu, count)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measured per mode")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait after start-up before measuring")
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--modes", default="first,restart", help="first,restart[,poll]")
    parser.add_argument("--database-url", default=os.environ.get("MAIDCORE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("many_guilds needs PostgreSQL: pass --database-url postgresql://... or set MAIDCORE_TEST_POSTGRES_URL")
    admin_url = args.database_url
    name = f"maidcore_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = admin_url.rsplit("/", 1)[0] + "/" + name
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with ManyGuildsEmu(args.guilds, Path(tmp) / "ids.json") as emu:
                await prepare(db_url, emu, Path(tmp) / "prep")
                for mode in args.modes.split(","):
                    data_dir = Path(tmp) / ("poll" if mode == "poll" else "node")  # a restart keeps its directory
                    results.append(await run_node(args, emu, data_dir, db_url, admin_url, mode))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{args.guilds} guilds, {args.guilds} install rows; idle window {args.idle:.0f} s; {args.pings} pings")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    heads = ("ready", "current", "synced", "idle CPU", "DB CPU", "ping p50", "p99", "max", "install seen")
    widths = (7, 8, 7, 9, 8, 9, 8, 8, 13)
    print(f"{'mode':7} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for r in results:
        print(
            f"{r['mode']:7} {r['ready_s']:6.1f}s {r['current_s']:7.1f}s {r['synced']:7d} {r['idle_cpu'] * 100:8.1f}% "
            f"{r['idle_db_cpu'] * 100:7.1f}% {r['p50']:7.1f}ms {r['p99']:6.1f}ms {r['max']:6.1f}ms "
            f"{r['install_seen_s'] * 1000:10.0f} ms"
        )
    for r in results:
        print(f"{r['mode']}: garbage collection during the pings: {r['gc']}; {r['full_gc']}")
    by = {r["mode"]: r for r in results}
    if "first" in by and "restart" in by:
        first, again = by["first"], by["restart"]
        print(
            f"restart vs first start: every guild available {again['ready_s'] / first['ready_s']:.2f}x "
            f"({again['ready_s']:.1f} s vs {first['ready_s']:.1f} s), commands current "
            f"{again['current_s'] / first['current_s']:.2f}x "
            f"({again['current_s']:.1f} s vs {first['current_s']:.1f} s), "
            f"syncs {again['synced']} vs {first['synced']}"
        )
    if "restart" in by and by["restart"]["frozen"] is not None:
        after = by["restart"]["frozen"]
        before = after["before"]
        print(f"gc.freeze() ({after['objects']:,} objects frozen), {args.pings} pings each, same process:")
        for name, w in (("before", before), ("after", after)):
            print(
                f"  {name:6} p50 {w['p50']:6.1f} ms  p99 {w['p99']:6.1f} ms  max {w['max']:6.1f} ms  "
                f"longest gc pause {w['pause']:6.1f} ms  ({w['gc']}); {w['full_gc']}"
            )
        print(
            f"  after/before: ping p99 {after['p99'] / before['p99']:.2f}x, "
            f"forced full collection {after['full_ms'] / max(before['full_ms'], 1e-9):.3f}x"
        )
    if "restart" in by and "poll" in by:
        push, poll = by["restart"], by["poll"]
        print(
            f"push vs poll: idle CPU {push['idle_cpu'] / max(poll['idle_cpu'], 1e-9):.2f}x, "
            f"DB CPU {push['idle_db_cpu'] / max(poll['idle_db_cpu'], 1e-9):.2f}x, "
            f"ping p99 {push['p99'] / poll['p99']:.2f}x"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--emulator-child":
        asyncio.run(emulator_child(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    else:
        asyncio.run(main())
