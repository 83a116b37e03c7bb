"""The WebSocket broker against a direct aiohttp client, in one run: frames/s per connection and added latency.

A local aiohttp WebSocket server on loopback. Three ways to read it:

- **direct**: an ``aiohttp`` client, the floor any broker adds to;
- **broker**: ``WebSocketBroker`` (address checks, pinned resolver, ordered delivery to a callback);
- **to a plugin**: the broker under the runner, frames delivered as ``event.ws_message`` to a plugin on
  the official ``yourbot-sdk`` 0.10.1 wheel (process backend) whose handler counts them.

Inbound frames/s: the server sends ``--frames`` frames as fast as it can. Latency: a frame sent
and its echo received, one at a time, p50/p99. The per-connection rate limits are lifted here to show
what the path can carry; the defaults (``websocket.receive_frames_per_second`` 50,
``send_frames_per_second`` 10) are what plugins get.

    .venv/bin/python benchmarks/websocket_broker.py [--frames 20000] [--echoes 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from maidcore import installs
from maidcore.proxy import StaticResolver
from maidcore.proxy.websocket import WebSocketBroker, socket_url
from maidcore.scope import Scope
from maidcore.settings import ProxySettings, WebSocketSettings
from maidcore.testing.platform import running_platform

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.official_sdks import NEWEST, official_site, store_on_site

NAMES = {"feed.bench": ["127.0.0.1"]}
PROXY = ProxySettings(allow_http=True, allowed_private_networks=["127.0.0.1/32"])
UNLIMITED = WebSocketSettings(
    send_frames_per_second=1e9, receive_frames_per_second=1e9, max_pending_frames=10_000, attribution_seconds=5
)
PLUGIN = """
from yourbot_sdk import Plugin

plugin = Plugin()
seen = [0]


@plugin.on_event("message_create")
def open_feed(ctx, event):
    ctx.ws.ensure("feed", "ws://feed.bench:{port}/blast?n={frames}")


@plugin.on_ws_message("feed")
def count(ctx, msg):
    seen[0] += 1
    if seen[0] == {frames}:
        ctx.kv.set("done", seen[0])


plugin.run()
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Server:
    """``/blast?n=`` sends n frames at once; ``/echo`` echoes."""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/blast", self.blast)
        app.router.add_get("/echo", self.echo)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self.runner, sock).start()

    async def blast(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for i in range(int(request.query["n"])):
            await ws.send_str(f"frame {i}")
        async for _ in ws:
            pass
        return ws

    async def echo(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str(msg.data)
        return ws

    async def close(self) -> None:
        await self.runner.cleanup()


async def direct(server: Server, frames: int, echoes: int) -> tuple[float, list[float]]:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{server.port}/blast?n={frames}") as ws:
            await ws.receive()
            start = time.perf_counter()  # from the first frame: the connection's steady rate
            for _ in range(frames - 1):
                await ws.receive()
            rate = (frames - 1) / (time.perf_counter() - start)
        latency = []
        async with session.ws_connect(f"ws://127.0.0.1:{server.port}/echo") as ws:
            for i in range(echoes):
                t0 = time.perf_counter()
                await ws.send_str(str(i))
                await ws.receive()
                latency.append(time.perf_counter() - t0)
    return rate, latency


async def brokered(server: Server, frames: int, echoes: int) -> tuple[float, list[float]]:
    broker = WebSocketBroker(UNLIMITED, PROXY, resolver=StaticResolver(NAMES))
    await broker.start()
    scope = Scope("1", "bench")
    try:
        got = 0
        first = 0.0
        done = asyncio.Event()

        async def count(event: str, params: dict) -> bool:
            nonlocal got, first
            if event == "ws_message":
                got += 1
                if got == 1:
                    first = time.perf_counter()
                if got == frames:
                    done.set()
            return True

        async def nothing() -> dict[str, str]:
            return {}

        url = socket_url(f"ws://feed.bench:{server.port}/blast?n={frames}", allow_plain=True)
        await broker.ensure(scope, "blast", url, prepare=nothing, deliver=count)
        await done.wait()
        rate = (frames - 1) / (time.perf_counter() - first)
        await broker.close_socket(scope, "blast")

        answer: asyncio.Queue[float] = asyncio.Queue()

        async def echoed(event: str, params: dict) -> bool:
            if event == "ws_message":
                answer.put_nowait(time.perf_counter())
            return True

        url = socket_url(f"ws://feed.bench:{server.port}/echo", allow_plain=True)
        await broker.ensure(scope, "echo", url, prepare=nothing, deliver=echoed)
        latency = []
        for i in range(echoes):
            t0 = time.perf_counter()
            await broker.send(scope, "echo", str(i))
            latency.append(await answer.get() - t0)
    finally:
        await broker.close()
    return rate, latency


async def to_plugin(server: Server, frames: int) -> float:
    """Frames per second reaching a 0.10.1 plugin's on_ws_message through the runner.

    ``frames`` stays under the official SDK's dispatch queue (2048): frames are at most once, and an SDK
    whose queue is full drops what arrives (the per-connection receive limit keeps real plugins below it).
    """
    from yourbot_sdk.testing import make_event

    site = official_site(*NEWEST)
    tmp = Path(tempfile.mkdtemp(prefix="maidcore-bench-ws-"))
    bundle = tmp / "wsbench"
    bundle.mkdir()
    (bundle / "__main__.py").write_text(
        PLUGIN.replace("{port}", str(server.port)).replace("{frames}", str(frames)), encoding="utf-8"
    )
    (bundle / "manifest.json").write_text(
        '{"id": "wsbench", "name": "WS bench", "version": "1.0.0", "description": "Benchmark.",'
        ' "capabilities_required": ["storage:kv", "proxy:websocket"], "proxy_domains_requested": ["feed.bench"]}',
        encoding="utf-8",
    )
    async with running_platform(
        tmp / "data",
        storage={"database_url": "sqlite://"},
        websocket=UNLIMITED.model_dump(),
        proxy=PROXY.model_dump(),
    ) as platform:
        await platform.websocket.close()
        platform.websocket = WebSocketBroker(UNLIMITED, PROXY, resolver=StaticResolver(NAMES))
        runner = platform.runner
        try:
            await store_on_site(platform, bundle, site)
            await installs.install(platform, bundle, "1", installs.ALL)
            slot = next(iter(runner.slots.values()))
            while not slot.ready:
                await asyncio.sleep(0.01)
            start = time.perf_counter()
            await runner.router.publish(make_event("message_create", guild_id="1"), event_type="message_create")
            scope = runner.tenant("1", "wsbench").scope
            while await platform.storage.kv.get(scope, "done") is None:
                await asyncio.sleep(0.005)
            return frames / (time.perf_counter() - start)
        finally:
            await platform.websocket.close()


async def main(frames: int, echoes: int) -> None:
    server = Server()
    await server.start()
    try:
        direct_rate, direct_latency = await direct(server, frames, echoes)
        broker_rate, broker_latency = await brokered(server, frames, echoes)
        plugin_frames = min(frames, 2000)
        plugin_rate = await to_plugin(server, plugin_frames)
    finally:
        await server.close()
    ms = 1000.0
    d50, d99 = percentile(direct_latency, 0.5) * ms, percentile(direct_latency, 0.99) * ms
    b50, b99 = percentile(broker_latency, 0.5) * ms, percentile(broker_latency, 0.99) * ms
    print(f"WebSocket, one connection on loopback: {frames} frames in, {echoes} echoes one at a time")
    print(f"  direct aiohttp client : {direct_rate:8.0f} frames/s   echo p50 {d50:.3f} ms   p99 {d99:.3f} ms")
    print(f"  through the broker    : {broker_rate:8.0f} frames/s   echo p50 {b50:.3f} ms   p99 {b99:.3f} ms")
    print(f"  broker added latency  : p50 +{b50 - d50:.3f} ms   p99 +{b99 - d99:.3f} ms")
    print(
        f"  to a {NEWEST[0]} {NEWEST[1]} plugin: {plugin_rate:8.0f} frames/s "
        f"({plugin_frames} frames, broker + runner + worker, from the event that opens the socket)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--echoes", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.frames, args.echoes))
