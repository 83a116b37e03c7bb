"""Discord event source throughput and gateway-to-action latency, through the local emulator, in one run.

The emulator runs in its own process (so it does not share the measured event
loop). Measured, on the same emulator and the same events:

1. baseline: discord.py alone (a bare ``discord.Client`` counting ``on_message``), events/s;
2. the event source into a sink that only counts (the router's entry point), events/s;
3. the event source into the real runner's router (platform with ``ping_pong`` installed), events/s;
4. gateway event -> plugin action: ``!ping`` posted in the emulator until the plugin's ``Pong!``
   lands in the emulator (gateway, discord.py, source, router, worker, host API, REST), p50/p99.

The platform's own rate limits are lifted for the run so the path is measured, not the limiter.
Usage: ``.venv/bin/python benchmarks/discord_events.py [--events 5000] [--pings 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from maidcore_discord.emulator import BOT_USER_ID, DEFAULT_TOKEN, DEMO_GUILD_ID
from maidcore_discord.source import DiscordEventSource
from pydantic import SecretStr

from maidcore import installs
from maidcore.platform import Platform
from maidcore.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
BOB = "900000000000000202"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emu:
    """The emulator in a child process, driven through its page API."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Emu:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "maidcore_discord.emulator", "127.0.0.1", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = aiohttp.ClientSession()
        for _ in range(200):
            try:
                async with self.http.get(f"{self.base}/_emulator/api/state") as r:
                    state = await r.json()
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the emulator did not start")
        guild = next(g for g in state["guilds"] if g["id"] == DEMO_GUILD_ID)
        self.general = next(c["id"] for c in guild["channels"] if c["name"] == "general")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        self.proc.terminate()
        self.proc.wait(10)

    async def act(self, action: str, **body: Any) -> Any:
        async with self.http.post(f"{self.base}/_emulator/api/{action}", json=body) as r:
            return await r.json()

    async def burst(self, count: int, prefix: str) -> None:
        await self.act("burst", channel_id=self.general, user_id=BOB, count=count, prefix=prefix)


def rate(stamps: list[tuple[float, float]]) -> tuple[float, float]:
    """Events per wall-clock second, and per CPU-second of this process (steadier on a busy machine)."""
    if len(stamps) < 2:
        return 0.0, 0.0
    (w0, c0), (w1, c1) = stamps[0], stamps[-1]
    return (len(stamps) - 1) / (w1 - w0), (len(stamps) - 1) / max(c1 - c0, 1e-9)


def stamp() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


async def wait_count(stamps: list[float], n: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while len(stamps) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(stamps)}/{n} events arrived")
        await asyncio.sleep(0.01)


async def baseline(emu: Emu, n: int) -> tuple[float, float]:
    """discord.py alone: the same gateway, the same events, no platform code."""
    stamps: list[tuple[float, float]] = []
    intents = discord.Intents.none()
    intents.guilds = intents.guild_messages = intents.message_content = True
    client = discord.Client(intents=intents, chunk_guilds_at_startup=False)

    @client.event
    async def on_message(message):
        if message.content.startswith("base "):
            stamps.append(stamp())

    Route.BASE = f"{emu.base}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{emu.port}/gateway")
    await client.login(DEFAULT_TOKEN)
    task = asyncio.create_task(client.connect())
    await client.wait_until_ready()
    await emu.burst(n, "base")
    await wait_count(stamps, n)
    await client.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return rate(stamps)


class CountingSink:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.stamps: list[tuple[float, float]] = []

    async def publish(self, event: dict[str, Any], **routing: Any) -> int:
        if event.get("content", "").startswith(self.prefix):
            self.stamps.append(stamp())
        return 0

    async def server_available(self, server_id: str) -> None:
        pass

    def message_created(self, scope: Any, message_id: str) -> None:
        pass


def settings(emu: Emu, data_dir: Path) -> Settings:
    base = load_settings()
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "sandbox_backend": "process",
            "process": base.process.model_copy(update={"python": sys.executable}),
            "storage": base.storage.model_copy(update={"database_url": None, "ephemeral_url": None}),
            "limits": base.limits.model_copy(
                update={
                    "storage_uri": "memory://",
                    "events_per_second": 1_000_000,
                    "discord_actions_per_minute": 1_000_000,
                }
            ),
            "discord": base.discord.model_copy(
                update={
                    "token": SecretStr(DEFAULT_TOKEN),
                    "api_base": f"{emu.base}/api/v10",
                }
            ),
        }
    )


async def source_alone(emu: Emu, n: int, data_dir: Path) -> tuple[float, float]:
    sink = CountingSink("src ")
    source = DiscordEventSource(settings(emu, data_dir).discord)
    await source.start(sink, frozenset({"message_create"}))
    await emu.burst(n, "src")
    await wait_count(sink.stamps, n)
    await source.close()
    return rate(sink.stamps)


async def with_platform(emu: Emu, n: int, pings: int, data_dir: Path) -> tuple[tuple[float, float], list[float]]:
    async with Platform(settings(emu, data_dir), unsafe_no_isolation=True) as platform:
        await installs.install(platform, ROOT / "examples" / "ping_pong", DEMO_GUILD_ID, installs.ALL)
        runner = platform.runner
        stamps: list[tuple[float, float]] = []
        router = runner.router

        class Counted:
            """The platform's sink, stamping each benchmark event as it reaches the router."""

            def __getattr__(self, name: str) -> Any:
                return getattr(router, name)

            async def publish(self, event: dict[str, Any], **routing: Any) -> int:
                if event.get("content", "").startswith("router "):
                    stamps.append(stamp())
                return await router.publish(event, **routing)

        platform.events.sink = Counted()

        # warm the plugin worker up: one ping answered before measuring
        latencies = await ping_latencies(emu, 1 + pings)
        await emu.burst(n, "router")
        await wait_count(stamps, n)
        result = rate(stamps)
        await runner.wait_idle(120)  # let the plugin drain its queue before the platform stops
        return result, latencies[1:]


async def ping_latencies(emu: Emu, count: int) -> list[float]:
    """Post ``!ping`` and time until the plugin's ``Pong!`` is created in the emulator (seen on its live feed)."""
    out: list[float] = []
    async with emu.http.ws_connect(f"{emu.base.replace('http', 'ws')}/_emulator/live") as live:
        for _ in range(count):
            start = time.perf_counter()
            await emu.act("messages", channel_id=emu.general, user_id=BOB, content="!ping")
            while True:
                msg = await asyncio.wait_for(live.receive(), 30)
                frame = json.loads(msg.data)
                d = frame["d"]
                if frame["t"] == "MESSAGE_CREATE" and d["author"]["id"] == BOT_USER_ID and d["content"] == "Pong!":
                    out.append(time.perf_counter() - start)
                    break
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="baseline/source rounds, interleaved; medians shown")
    args = parser.parse_args()
    bases, srcs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        async with Emu() as emu:
            for i in range(args.rounds):
                bases.append(await baseline(emu, args.events))
                srcs.append(await source_alone(emu, args.events, Path(tmp) / f"a{i}"))
            router, lat = await with_platform(emu, args.events, args.pings, Path(tmp) / "b")
    ms = [x * 1000 for x in lat]
    print(f"events per run: {args.events}; rounds: {args.rounds} (medians); pings: {args.pings}")
    walls = ", ".join(f"{b[0]:.0f}" for b in bases), ", ".join(f"{x[0]:.0f}" for x in srcs)
    print(f"wall-clock events/s per round: baseline {walls[0]} | source {walls[1]}")
    for label, i in (("wall-clock", 0), ("per CPU-second of the receiving process", 1)):
        base = statistics.median(b[i] for b in bases)
        src = statistics.median(x[i] for x in srcs)
        print(f"[{label}]")
        print(f"  discord.py alone (baseline)      {base:9.0f} events/s")
        print(f"  event source -> counting sink    {src:9.0f} events/s  ({src / base:.2f}x baseline)")
        print(f"  event source -> runner router    {router[i]:9.0f} events/s  ({router[i] / base:.2f}x baseline)")
    print(
        f"gateway event -> plugin action       p50 {statistics.median(ms):6.1f} ms   p99 {pct(ms, 99):6.1f} ms"
        f"   (min {min(ms):.1f}, max {max(ms):.1f})"
    )


if __name__ == "__main__":
    asyncio.run(main())
