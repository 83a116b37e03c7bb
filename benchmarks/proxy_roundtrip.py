"""Proxy round trip against a direct aiohttp request to the same local server, in one run.

    .venv/bin/python benchmarks/proxy_roundtrip.py [-n 2000] [--body 1024]

Both sides reuse pooled connections and read the whole body; the proxy adds the
allow-list, address check (pinned, cached), header filtering, streamed capped
read and UTF-8 decoding. Goal: overhead < 2 ms at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import time

import aiohttp
from aiohttp import web

from maidcore.proxy import HttpProxy, StaticResolver
from maidcore.scope import Scope
from maidcore.settings import ProxySettings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def serve(body: bytes) -> tuple[web.AppRunner, int]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/ok", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    return runner, sock.getsockname()[1]


async def main(n: int, body_size: int) -> None:
    runner, port = await serve(b'{"k": "' + b"v" * max(0, body_size - 10) + b'"}')
    url_direct = f"http://127.0.0.1:{port}/ok"
    url_proxy = f"http://api.example.com:{port}/ok"
    proxy = HttpProxy(
        ProxySettings(allow_http=True, allowed_private_networks=["127.0.0.1/32"]),
        resolver=StaticResolver({"api.example.com": ["127.0.0.1"]}),
    )
    await proxy.start()
    scope = Scope("1", "bench")
    allowed = frozenset({"api.example.com"})

    async with aiohttp.ClientSession() as direct:

        async def one_direct() -> float:
            t = time.perf_counter()
            async with direct.get(url_direct) as response:
                await response.read()
            return time.perf_counter() - t

        async def one_proxy() -> float:
            t = time.perf_counter()
            await proxy.request(scope, allowed_domains=allowed, method="GET", url=url_proxy, headers=None, body=None)
            return time.perf_counter() - t

        for _ in range(100):  # warm both pools
            await one_direct()
            await one_proxy()
        direct_times, proxy_times = [], []
        for _ in range(n):  # alternate so machine noise hits both alike
            direct_times.append(await one_direct())
            proxy_times.append(await one_proxy())

    await proxy.close()
    await runner.cleanup()
    d50, d99 = statistics.median(direct_times), percentile(direct_times, 0.99)
    p50, p99 = statistics.median(proxy_times), percentile(proxy_times, 0.99)
    print(f"proxy round trip, {n:,} sequential GETs of a {body_size:,}-byte body from 127.0.0.1")
    print(f"  direct aiohttp   p50 {d50 * 1e3:7.3f} ms   p99 {d99 * 1e3:7.3f} ms")
    print(f"  via HttpProxy    p50 {p50 * 1e3:7.3f} ms   p99 {p99 * 1e3:7.3f} ms")
    over50, over99 = (p50 - d50) * 1e3, (p99 - d99) * 1e3
    print(f"  overhead         p50 {over50:+7.3f} ms   p99 {over99:+7.3f} ms   (goal: < 2 ms p50)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--body", type=int, default=1024, help="response body size in bytes")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.body))
