"""End-to-end pings/s of one node: a plain discord.py bot vs ``maidcore serve --processes 1`` and ``2``, one run.

The emulator runs in a process of its own (the benchmark only drives it through a
pipe), with guilds spread over two shards; every contender runs as its own process
tree against it and answers ``!ping`` with ``Pong!`` (discord.py in-process for the
baseline; the ``pinger`` plugin on the process backend for maidcore). The emulator
posts a burst of pings round robin over the guilds and counts the ``Pong!`` messages
as they are created; the rate is pings answered per second of wall clock from the
first post to the last ``Pong!``. Ratios are against the baseline measured in the
same run. The platform's rate limits are lifted so the path is measured, not the
limiter.

Where the CPU goes: around each measured burst the benchmark reads utime+stime of
every process involved from ``/proc`` and prints milliseconds of CPU per ping for
the emulator (which also plays the users posting), the benchmark itself, each
serving process (the supervisor parent and its children), the plugin workers and
this run's PostgreSQL backends, plus the rest of the machine (other users: the
machine is shared). From that it prints two ceilings: the **CPU ceiling**
(``cores × 1000 / CPU ms per ping`` of everything this run uses: the most the
cores allow if nothing else ran) and the **emulator ceiling** (``1000 / emulator
ms per ping``: the emulator is one event loop, so no contender can answer faster
than it posts and records). The 1 → 2 processes scaling is printed raw and as a
share of the most the CPU budget of the 1-process run allows.

With ``--rate N`` the pings are posted at N per second instead of all at once, so every
contender serves the same rate: CPU per ping depends on the rate (a loop that takes many
events per turn spends less on each), and on a machine others load, a burst's rate follows
their load; at a fixed rate both sides are compared like with like.

Usage: ``.venv/bin/python benchmarks/serve_scaling.py [--pings 2000] [--guilds 8] [--only base,1,2] [--rate N]``
(needs PostgreSQL: ``MAIDCORE_TEST_POSTGRES_URL``, a fresh database is made per run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from maidcore.cli.status import status_file
from maidcore.supervisor import child_status_file

ROOT = Path(__file__).resolve().parents[1]
MAIDCORE = Path(sys.executable).with_name("maidcore")
USER = "700000000000000001"
TICK = os.sysconf("SC_CLK_TCK")
PLUGIN = """from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if not event["author_bot"] and event["content"] == "!ping":
        ctx.discord.send_message(channel_id=event["channel_id"], content="Pong!")


if __name__ == "__main__":
    plugin.run()
"""
BASELINE = """import sys, discord, yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
api, gateway, token = sys.argv[1:4]
Route.BASE = api
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
intents = discord.Intents.none()
intents.guilds = intents.guild_messages = intents.message_content = True
client = discord.AutoShardedClient(intents=intents, shard_count=2, chunk_guilds_at_startup=False)

@client.event
async def on_message(message):
    if not message.author.bot and message.content == "!ping":
        await message.channel.send("Pong!")

client.run(token, log_handler=None)
"""


# --- the emulator's process ------------------------------------------------------------------


def emulator_main(conn, guilds: int) -> None:
    """Runs in the emulator's process: the emulator plus a small command loop on the pipe."""
    asyncio.run(_emulator_serve(conn, guilds))


async def _emulator_serve(conn, guilds: int) -> None:
    from maidcore_discord.emulator import BOT_USER_ID, Emulator

    emu = await Emulator("127.0.0.1", 0, demo=False).start()
    channels: list[str] = []
    base = 900000000000001000
    for i in range(guilds):  # alternate shards 0 and 1
        gid = next(
            str(g) for g in range(base + i * (1 << 23), base + (i + 8) * (1 << 23), 1 << 22) if (g >> 22) % 2 == i % 2
        )
        emu.add_guild(f"g{i}", guild_id=gid, bot_permissions=(1 << 11) | (1 << 10), members={USER: "ann"})
        channels.append(emu.channel_named(gid, "general"))
    pongs = {"n": 0, "target": None, "done": None}

    def count(event: str, data: dict, guild_id: str | None) -> None:
        if event == "MESSAGE_CREATE" and data["author"]["id"] == BOT_USER_ID and data.get("content") == "Pong!":
            pongs["n"] += 1
            if pongs["target"] is not None and pongs["n"] >= pongs["target"] and not pongs["done"].done():
                pongs["done"].set_result(time.perf_counter())

    emu.state.dispatch_listeners.append(count)
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()

    async def measure(pings: int, timeout: float, rate: float = 0.0) -> dict:
        pongs["target"], pongs["done"] = pongs["n"] + pings, loop.create_future()
        start = time.perf_counter()
        for i in range(pings):
            if rate:  # paced: ping i goes out at start + i / rate
                ahead = start + i / rate - time.perf_counter()
                if ahead > 0.002:
                    await asyncio.sleep(ahead)
            emu.post_message(channels[i % len(channels)], USER, "!ping")
            if i % 50 == 49:
                await asyncio.sleep(0)  # let the gateway write
        try:
            end = await asyncio.wait_for(pongs["done"], timeout)
        except TimeoutError:
            return {"error": f"only {pings - (pongs['target'] - pongs['n'])}/{pings} pings answered in {timeout} s"}
        finally:
            pongs["target"] = None
        return {"rate": pings / (end - start), "seconds": end - start}

    async def answer(request: tuple) -> None:
        what, *args = request
        if what == "info":
            reply = {
                "pid": os.getpid(),
                "api_base": emu.api_base,
                "gateway": emu.gateway_url,
                "token": emu.bot_token,
                "guilds": sorted(set(emu.state.channel_guild.values())),
            }
        elif what == "shards":
            reply = sorted({s.shard for s in emu.sessions.values() if s.socket is not None})
        elif what == "measure":
            reply = await measure(*args)
        elif what == "forget_sessions":  # closed sessions stay resumable in the emulator: forget them
            emu.sessions.clear()
            reply = True
        else:
            stopped.set_result(None)
            reply = True
        conn.send(reply)

    loop.add_reader(conn.fileno(), lambda: loop.create_task(answer(conn.recv())))
    await stopped
    loop.remove_reader(conn.fileno())
    await emu.close()


class EmulatorProcess:
    """The emulator in a process of its own; the benchmark's own CPU stays out of its way."""

    def __init__(self, guilds: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=emulator_main, args=(child, guilds), daemon=True)
        self.proc.start()
        info = self.ask("info", timeout=60)
        self.pid: int = info["pid"]
        self.api_base: str = info["api_base"]
        self.gateway: str = info["gateway"]
        self.token: str = info["token"]
        self.guilds: list[str] = info["guilds"]

    def ask(self, *request, timeout: float = 60):
        self.conn.send(request)
        if not self.conn.poll(timeout):
            raise TimeoutError(f"the emulator did not answer {request[0]!r} in {timeout} s")
        return self.conn.recv()

    def shards(self) -> set:
        return {tuple(s) for s in self.ask("shards")}

    def measure(self, pings: int, timeout: float = 300.0, rate: float = 0.0) -> float:
        got = self.ask("measure", pings, timeout, rate, timeout=timeout + 30)
        if "error" in got:
            raise TimeoutError(got["error"])
        return got["rate"]

    def close(self) -> None:
        self.ask("stop")
        self.proc.join(30)


# --- CPU accounting ---------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, int] | None:
    """``(ppid, utime + stime in ticks, start time)`` of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[19])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def machine_busy() -> tuple[int, int]:
    """``(busy ticks, all ticks)`` of the whole machine since boot (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return total - idle, total


@dataclass
class Snapshot:
    ticks: dict[tuple[int, int], int] = field(default_factory=dict)  # (pid, start) -> cpu ticks
    roles: dict[tuple[int, int], str] = field(default_factory=dict)
    busy: int = 0
    wall: float = 0.0


def snapshot(emulator_pid: int, root_pid: int | None, database: str | None) -> Snapshot:
    """CPU ticks of every process of this run, each with its role."""
    snap = Snapshot()
    snap.busy, _ = machine_busy()
    snap.wall = time.monotonic()
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            stats[int(entry)] = st
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)

    def add(pid: int, role: str) -> None:
        key = (pid, stats[pid][2])
        snap.ticks[key], snap.roles[key] = stats[pid][1], role

    for pid in (emulator_pid, os.getpid()):
        if pid in stats:
            add(pid, "emulator (posts pings, records pongs)" if pid == emulator_pid else "benchmark process")
    if root_pid is not None and root_pid in stats:

        def walk(pid: int, depth_role: str) -> None:
            add(pid, depth_role)
            for kid in children.get(pid, []):
                if "serve" in _cmdline(kid) and "--supervised-by" in _cmdline(kid):
                    walk(kid, "maidcore serve child")
                else:
                    walk_workers(kid)

        def walk_workers(pid: int) -> None:
            add(pid, "plugin workers (reaper + plugin)")
            for kid in children.get(pid, []):
                walk_workers(kid)

        argv = _cmdline(root_pid).split()
        if "serve" not in argv:
            add(root_pid, "baseline discord.py bot")
        elif argv[argv.index("--processes") + 1] == "1":
            walk(root_pid, "maidcore serve (the only process)")
        else:
            walk(root_pid, "maidcore serve parent (supervisor)")
    if database:
        for pid in stats:
            if f" {database} " in f" {_cmdline(pid)} " and _cmdline(pid).startswith("postgres"):
                add(pid, "PostgreSQL backends of this run")
    return snap


ORDER = (
    "emulator (posts pings, records pongs)",
    "benchmark process",
    "baseline discord.py bot",
    "maidcore serve (the only process)",
    "maidcore serve parent (supervisor)",
    "maidcore serve child",
    "plugin workers (reaper + plugin)",
    "PostgreSQL backends of this run",
)


@dataclass
class Result:
    name: str
    rate: float
    pings: int
    seconds: float
    per_role: dict[str, float]  # CPU ms per ping
    machine: float  # whole machine busy ms per ping

    @property
    def ours(self) -> float:
        return sum(self.per_role.values())

    @property
    def emulator(self) -> float:
        return self.per_role.get(ORDER[0], 0.0)


def cpu_per_ping(before: Snapshot, after: Snapshot, pings: int) -> tuple[dict[str, float], float]:
    per_role: dict[str, float] = {}
    for key, ticks in after.ticks.items():
        spent = ticks - before.ticks.get(key, 0)  # a process born during the burst counts from zero
        role = after.roles[key]
        per_role[role] = per_role.get(role, 0.0) + spent / TICK * 1000 / pings
    return per_role, (after.busy - before.busy) / TICK * 1000 / pings


# --- the contenders ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fresh_database(url: str) -> tuple[str, str]:
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name, name


def drop_database(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


PLUGIN_THREADS: int | None = None  # --plugin-threads: the SDK's dispatch threads in the plugin (its default: 4)
RATE = 0.0  # --rate: pings posted per second (0: all at once, as fast as the emulator posts)
PROFILE: Path | None = None  # --profile: py-spy profiles of every measured burst go here


def measured(name: str, emu: EmulatorProcess, proc: subprocess.Popen, pings: int, database: str | None) -> Result:
    emu.measure(min(200, pings), timeout=120)  # workers started, warm
    spies = []
    if PROFILE is not None:  # py-spy (the `bench` extra) samples the contender's tree and the emulator
        for pid, what in ((proc.pid, name.replace(" ", "_")), (emu.pid, f"emulator_during_{name.replace(' ', '_')}")):
            out = PROFILE / f"{what}.txt"
            command = [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "-p",
                str(pid),
                "-s",
                "-r",
                "200",
                "--nonblocking",
                "--gil",  # samples of threads holding the GIL: where CPU goes, not where threads wait
            ]
            spies.append(subprocess.Popen([*command, "-f", "raw", "-o", str(out)], stdout=subprocess.DEVNULL))
        time.sleep(1.0)  # py-spy attaches
    before = snapshot(emu.pid, proc.pid, database)
    start = time.perf_counter()
    rate = emu.measure(pings, rate=RATE)
    seconds = time.perf_counter() - start
    after = snapshot(emu.pid, proc.pid, database)
    for spy in spies:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    per_role, machine = cpu_per_ping(before, after, pings)
    return Result(name, rate, pings, seconds, per_role, machine)


def run_maidcore(emu: EmulatorProcess, processes: int, pings: int, workdir: Path, db_url: str) -> Result:
    data_dir = workdir / f"data{processes}"
    database_url, database = fresh_database(db_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    env.update(
        MAIDCORE_DATA_DIR=str(data_dir),
        MAIDCORE_STORAGE__DATABASE_URL=database_url,
        MAIDCORE_DISCORD__TOKEN=emu.token,
        MAIDCORE_DISCORD__API_BASE=emu.api_base,
        MAIDCORE_DISCORD__SHARD_COUNT="2",
        MAIDCORE_PROCESS__PYTHON=sys.executable,
        MAIDCORE_LIMITS__STORAGE_URI="memory://",
        MAIDCORE_LIMITS__EVENTS_PER_SECOND="1000000",
        MAIDCORE_LIMITS__DISCORD_ACTIONS_PER_MINUTE="1000000",
        MAIDCORE_WEB__PORT=str(free_port()),
    )
    bundle = workdir / "pinger"
    bundle.mkdir(exist_ok=True)
    (bundle / "manifest.json").write_text(
        json.dumps(
            {
                "id": "pinger",
                "name": "Pinger",
                "version": "1.0.0",
                "description": "Answers !ping",
                "capabilities_required": ["discord:send_message"],
            }
        )
    )
    threads = f'import os\nos.environ["YOURBOT_SDK_DISPATCH_THREADS"] = "{PLUGIN_THREADS}"\n' if PLUGIN_THREADS else ""
    (bundle / "__main__.py").write_text(threads + PLUGIN)
    try:
        for guild in emu.guilds:
            done = subprocess.run(
                [str(MAIDCORE), "install", str(bundle), "--server", guild, "--grant-all"],
                env=env,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            assert done.returncode == 0, done.stderr
        args = [str(MAIDCORE), "serve", "--processes", str(processes), "--sandbox", "process", "--unsafe-no-isolation"]
        args += ["--no-web", "--log-level", "WARNING"]
        proc = subprocess.Popen(args, env=env, cwd=ROOT)
        try:
            wait(lambda: emu.shards() >= {(0, 2), (1, 2)}, 120, "maidcore's gateway sessions")
            # a node serves before its start-up is over (and then freezes its start-up heap: ~0.2 s of CPU);
            # the status file is written after that, so the measured burst sees the steady state
            started = (
                [status_file(data_dir)]
                if processes == 1
                else [child_status_file(data_dir, i) for i in range(processes)]
            )
            wait(lambda: all(path.exists() for path in started), 120, "maidcore's start-up (its status files)")
            return measured(f"maidcore --processes {processes}", emu, proc, pings, database)
        finally:
            stop(proc)
            emu.ask("forget_sessions")
    finally:
        drop_database(db_url, database)


def run_baseline(emu: EmulatorProcess, pings: int, workdir: Path) -> Result:
    script = workdir / "baseline_bot.py"
    script.write_text(BASELINE)
    proc = subprocess.Popen([sys.executable, str(script), emu.api_base, emu.gateway, emu.token])
    try:
        wait(lambda: emu.shards() >= {(0, 2), (1, 2)}, 60, "the baseline bot's gateway sessions")
        return measured("baseline discord.py bot", emu, proc, pings, None)
    finally:
        stop(proc)
        emu.ask("forget_sessions")


# --- report -----------------------------------------------------------------------------------


SERVING = ("maidcore serve (the only process)", "maidcore serve parent (supervisor)", "maidcore serve child")


def bound(r: Result, processes: int, cores: int) -> tuple[float, str]:
    """The most pings/s these CPU costs allow if the machine were this run's alone, and what sets it.

    Three limits: every process of the run shares ``cores`` (CPU); the emulator is one
    event loop; each serving process (the baseline bot: one) is one event loop.
    """
    serving = sum(r.per_role.get(role, 0.0) for role in SERVING) or r.per_role.get("baseline discord.py bot", 0.0)
    limits = {
        f"{cores} cores": cores * 1000 / r.ours,
        "the emulator's loop": 1000 / r.emulator if r.emulator else float("inf"),
        f"{processes} serving loop(s)": processes * 1000 / serving if serving else float("inf"),
    }
    what = min(limits, key=limits.__getitem__)
    return limits[what], what


def report(results: list[Result], processes: dict[str, int]) -> None:
    cores = os.cpu_count() or 1
    width = 40
    print("\nCPU ms per ping (utime+stime from /proc over the measured burst):")
    print(f"{'':{width}}" + "".join(f"{r.name[:24]:>26}" for r in results))
    for role in ORDER:
        if any(role in r.per_role for r in results):
            cells = "".join(f"{r.per_role[role]:26.3f}" if role in r.per_role else f"{'-':>26}" for r in results)
            print(f"{role:{width}}{cells}")
    print(f"{'= all of this run':{width}}" + "".join(f"{r.ours:26.3f}" for r in results))
    rest = "".join(f"{max(0.0, r.machine - r.ours):26.3f}" for r in results)
    print(f"{'rest of the machine (other users)':{width}}{rest}")
    print()
    for r in results:
        n = processes[r.name]
        serving = sum(r.per_role.get(role, 0.0) for role in SERVING) or r.per_role.get("baseline discord.py bot", 0.0)
        most, what = bound(r, n, cores)
        print(
            f"{r.name:26} {r.rate:7.1f} pings/s; cores busy: this run {r.rate * r.ours / 1000:.2f}, "
            f"whole machine {r.rate * r.machine / 1000:.2f} of {cores}; emulator {r.rate * r.emulator / 10:.0f}% "
            f"of a core, each serving process {r.rate * serving / n / 10:.0f}%\n{'':27}these costs allow at most "
            f"{most:.0f} pings/s on a machine of our own (limit: {what}); measured {r.rate / most:.0%} of that"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pings", type=int, default=2000)
    parser.add_argument("--guilds", type=int, default=8)
    parser.add_argument("--only", default="base,1,2", help="contenders to run: base, 1, 2 (comma separated)")
    parser.add_argument("--profile", type=Path, help="write py-spy profiles (raw collapsed stacks) of each burst here")
    parser.add_argument(
        "--plugin-threads",
        type=int,
        help="handlers the plugin runs at once (YOURBOT_SDK_DISPATCH_THREADS; SDK default 4)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="post the pings at this many per second instead of all at once: every contender then serves the same "
        "rate, so CPU per ping compares like with like on a loaded machine (0: a burst)",
    )
    args = parser.parse_args()
    global PROFILE, PLUGIN_THREADS, RATE
    PLUGIN_THREADS = args.plugin_threads
    RATE = args.rate
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        PROFILE = args.profile
    which = set(args.only.split(","))
    db_url = os.environ.get("MAIDCORE_TEST_POSTGRES_URL", "postgresql://maidcore:maidcore@127.0.0.1:5432/maidcore")
    emu = EmulatorProcess(args.guilds)
    threads = args.plugin_threads or "4 (the SDK's default)"
    paced = f"{args.rate:g} pings/s" if args.rate else "a burst"
    print(
        f"cores: {os.cpu_count()}  plugin dispatch threads: {threads}  posting: {paced}  "
        f"load average before: {os.getloadavg()}"
    )
    results: dict[str, Result] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            if "base" in which:
                results["base"] = base = run_baseline(emu, args.pings, workdir)
                print(f"baseline discord.py bot: {base.rate:8.1f} pings/s")
            for n in (1, 2):
                if str(n) not in which:
                    continue
                results[str(n)] = r = run_maidcore(emu, n, args.pings, workdir, db_url)
                ratio = f"  ({r.rate / results['base'].rate:.2f}x baseline)" if "base" in results else ""
                print(f"maidcore --processes {n}:  {r.rate:8.1f} pings/s{ratio}  load average {os.getloadavg()}")
    finally:
        emu.close()
    report(list(results.values()), {r.name: 1 if k in ("base", "1") else 2 for k, r in results.items()})
    if "1" in results and "2" in results:
        one, two = results["1"], results["2"]
        cores = os.cpu_count() or 1
        used = one.rate * one.ours / 1000
        most_one, _ = bound(one, 1, cores)
        most_two, what = bound(one, 2, cores)  # two processes at the 1-process run's CPU costs
        print(
            f"\nscaling 1 -> 2 processes: {two.rate / one.rate:.2f}x raw (goal 1.7x).\n"
            f"  CPU budget as measured: the 1-process run kept {used:.2f} of {cores} cores busy, so 2 processes "
            f"could do at most {cores / used:.2f}x ({two.rate / one.rate / (cores / used):.0%} reached); on a "
            f"shared machine this overstates the room when other users took cores.\n"
            f"  From CPU per ping alone (a machine of our own): 1 process at most {most_one:.0f}/s, 2 processes at "
            f"the same costs at most {most_two:.0f}/s (limit: {what}), a ceiling of {most_two / most_one:.2f}x; "
            f"CPU per ping of everything {one.ours:.2f} ms (1 process) -> {two.ours:.2f} ms (2)."
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
