"""A real aiohttp server on loopback that plays every upstream the proxy tests need."""

from __future__ import annotations

import asyncio
import gzip
import socket

from aiohttp import web

HITS = web.AppKey("hits", list)
HUGE_SENT = web.AppKey("huge_sent", list)
CONCURRENCY = web.AppKey("concurrency", dict)


def build_app() -> web.Application:
    hits: list[str] = []

    async def record(request: web.Request) -> None:
        hits.append(f"{request.method} {request.path_qs}")

    async def echo(request: web.Request) -> web.Response:
        await record(request)
        body = await request.text()
        return web.json_response(
            {
                "method": request.method,
                "path": request.path_qs,
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": body,
                "cookies": dict(request.cookies),
            }
        )

    async def set_cookie(request: web.Request) -> web.Response:
        await record(request)
        response = web.json_response({"cookies": dict(request.cookies)})
        response.set_cookie("session", "s3cret", path="/")
        return response

    async def redirect(request: web.Request) -> web.Response:
        await record(request)
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": request.query["to"]})

    async def loop(request: web.Request) -> web.Response:
        await record(request)
        n = int(request.match_info["n"])
        return web.Response(status=302, headers={"Location": f"/loop/{n + 1}"})

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        concurrency = request.app[CONCURRENCY]
        concurrency["now"] += 1
        concurrency["max"] = max(concurrency["max"], concurrency["now"])
        try:
            await asyncio.sleep(float(request.query.get("delay", "5")))
        finally:
            concurrency["now"] -= 1
        return web.Response(text="late")

    async def huge(request: web.Request) -> web.StreamResponse:
        await record(request)
        size = int(request.query.get("size", str(5 * 1024 * 1024)))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < size:
                part = chunk[: min(len(chunk), size - sent)]
                await response.write(part)
                sent += len(part)
        except (ConnectionResetError, ConnectionError):
            pass  # the proxy hung up after its cap, which is the point
        request.app[HUGE_SENT].append(sent)
        return response

    async def utf8(request: web.Request) -> web.Response:
        await record(request)
        # 'é' is two bytes; an odd cap cuts one in half
        return web.Response(body="é".encode() * 10 + b"\xff\xfe tail", content_type="text/plain")

    async def gzipped(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=gzip.compress(b"z" * 100_000), headers={"Content-Encoding": "gzip"})

    async def noisy_headers(request: web.Request) -> web.Response:
        await record(request)
        response = web.Response(
            text="ok",
            headers={
                "X-Custom": "kept",
                "X-Forwarded-For": "10.0.0.1",
                "X-Maidcore-Internal": "secret",
                "Via": "1.1 somewhere",
                "Keep-Alive": "timeout=5",
                "Proxy-Authenticate": "Basic",
                "Trailer": "Expires",
                "Upgrade": "h2c",
                "X-Hop": "should go",
                "Connection": "keep-alive, X-Hop",
            },
        )
        response.set_cookie("tracker", "1")
        response.headers.add("X-Multi", "a")
        response.headers.add("X-Multi", "b")
        return response

    app = web.Application()
    app[HITS] = hits
    app[HUGE_SENT] = []
    app[CONCURRENCY] = {"now": 0, "max": 0}
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/set-cookie", set_cookie)
    app.router.add_route("*", "/redirect", redirect)
    app.router.add_get("/loop/{n}", loop)
    app.router.add_get("/slow", slow)
    app.router.add_get("/huge", huge)
    app.router.add_get("/utf8", utf8)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/headers", noisy_headers)
    return app


class Upstream:
    """The server, started on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        self.app = build_app()
        self.runner = web.AppRunner(self.app, access_log=None)
        self.port = 0

    @property
    def max_concurrent_slow(self) -> int:
        return self.app[CONCURRENCY]["max"]

    @property
    def huge_sent(self) -> list[int]:
        return self.app[HUGE_SENT]

    @property
    def hits(self) -> list[str]:
        return self.app[HITS]

    async def start(self) -> None:
        await self.runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self.runner, sock)
        await site.start()

    async def close(self) -> None:
        await self.runner.cleanup()
