"""End-to-end pings/s of one node: a plain discord.py bot vs ``maidcore serve --processes 1`` and ``2``, one run.

The emulator runs in this process on its own thread, with guilds spread over two
shards; every contender runs as its own process against it and answers ``!ping``
with ``Pong!`` (discord.py in-process for the baseline; the ``pinger`` plugin on the
process backend for maidcore). A burst of pings is posted round robin over the
guilds, and the rate is pings answered per second of wall clock from the first
post to the last ``Pong!``. Ratios are against the baseline measured in the same
run. The platform's rate limits are lifted so the path is measured, not the limiter.
The machine's load average is printed: on a shared machine the figures are noisy.

Usage: ``.venv/bin/python benchmarks/serve_scaling.py [--pings 2000] [--guilds 8]``
(needs PostgreSQL: ``MAIDCORE_TEST_POSTGRES_URL``, a fresh database is made per run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from maidcore_discord.emulator import BOT_USER_ID, Emulator

ROOT = Path(__file__).resolve().parents[1]
MAIDCORE = Path(sys.executable).with_name("maidcore")
USER = "700000000000000001"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmulatorThread:
    def __init__(self, guilds: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.emu = Emulator("127.0.0.1", 0, demo=False)
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.run(self.emu.start())
        self.channels: list[str] = []
        base = 900000000000001000
        for i in range(guilds):  # alternate shards 0 and 1
            gid = next(
                str(g)
                for g in range(base + i * (1 << 23), base + (i + 8) * (1 << 23), 1 << 22)
                if (g >> 22) % 2 == i % 2
            )
            self.call(
                self.emu.add_guild, f"g{i}", guild_id=gid, bot_permissions=(1 << 11) | (1 << 10), members={USER: "ann"}
            )
            self.channels.append(self.call(self.emu.channel_named, gid, "general"))

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def call(self, fn, *args, **kw):
        async def go():
            return fn(*args, **kw)

        return self.run(go())

    def shards(self) -> set:
        return self.call(lambda: {s.shard for s in self.emu.sessions.values()})

    def pongs(self) -> int:
        def count() -> int:
            return sum(
                1
                for c in self.channels
                for m in self.emu.state.messages.get(c, {}).values()
                if m["author"]["id"] == BOT_USER_ID and m["content"] == "Pong!"
            )

        return self.call(count)

    def measure(self, pings: int, timeout: float = 300.0) -> float:
        before = self.pongs()
        start = time.perf_counter()

        async def post() -> None:
            for i in range(pings):
                self.emu.post_message(self.channels[i % len(self.channels)], USER, "!ping")
                if i % 50 == 49:
                    await asyncio.sleep(0)  # let the gateway write

        self.run(post())
        deadline = time.monotonic() + timeout
        while self.pongs() - before < pings:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.pongs() - before}/{pings} pings answered")
            time.sleep(0.02)
        return pings / (time.perf_counter() - start)


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


def fresh_database(url: str) -> str:
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def run_maidcore(emu: EmulatorThread, processes: int, pings: int, workdir: Path, db_url: str) -> float:
    data_dir = workdir / f"data{processes}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    env.update(
        MAIDCORE_DATA_DIR=str(data_dir),
        MAIDCORE_STORAGE__DATABASE_URL=fresh_database(db_url),
        MAIDCORE_DISCORD__TOKEN=emu.emu.bot_token,
        MAIDCORE_DISCORD__API_BASE=emu.emu.api_base,
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
    (bundle / "__main__.py").write_text(PLUGIN)
    for channel_guild in emu.call(lambda: sorted(set(emu.emu.state.channel_guild.values()))):
        done = subprocess.run(
            [str(MAIDCORE), "install", str(bundle), "--server", channel_guild, "--grant-all"],
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
        emu.measure(min(200, pings), timeout=120)  # workers started, warm
        return emu.measure(pings)
    finally:
        stop(proc)
        emu.call(emu.emu.sessions.clear)  # closed sessions stay resumable in the emulator: forget them


def run_baseline(emu: EmulatorThread, pings: int, workdir: Path) -> float:
    script = workdir / "baseline_bot.py"
    script.write_text(BASELINE)
    gateway = f"ws://127.0.0.1:{emu.emu.port}/gateway"
    proc = subprocess.Popen([sys.executable, str(script), emu.emu.api_base, gateway, emu.emu.bot_token])
    try:
        wait(lambda: emu.shards() >= {(0, 2), (1, 2)}, 60, "the baseline bot's gateway sessions")
        emu.measure(min(200, pings), timeout=60)
        return emu.measure(pings)
    finally:
        stop(proc)
        emu.call(emu.emu.sessions.clear)  # closed sessions stay resumable in the emulator: forget them


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pings", type=int, default=2000)
    parser.add_argument("--guilds", type=int, default=8)
    args = parser.parse_args()
    db_url = os.environ.get("MAIDCORE_TEST_POSTGRES_URL", "postgresql://maidcore:maidcore@127.0.0.1:5432/maidcore")
    emu = EmulatorThread(args.guilds)
    print(f"cores: {os.cpu_count()}  load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base = run_baseline(emu, args.pings, workdir)
        print(f"baseline discord.py bot: {base:8.1f} pings/s")
        one = run_maidcore(emu, 1, args.pings, workdir, db_url)
        print(f"maidcore --processes 1:  {one:8.1f} pings/s  ({one / base:.2f}x baseline)")
        two = run_maidcore(emu, 2, args.pings, workdir, db_url)
        print(
            f"maidcore --processes 2:  {two:8.1f} pings/s  ({two / base:.2f}x baseline, {two / one:.2f}x one process)"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
