"""A real aiohttp WebSocket server on loopback for the broker tests: it records, echoes, bursts and drops."""

from __future__ import annotations

import asyncio
import socket

from aiohttp import WSMsgType, web


class WsUpstream:
    """``/feed`` echoes (``echo:<text>``, binary reversed) and records; ``/burst?n=`` sends n numbered frames."""

    def __init__(self) -> None:
        self.received: list[str | bytes] = []
        self.handshakes: list[dict[str, str]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.connected = asyncio.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/feed", self._feed)
        app.router.add_get("/burst", self._burst)
        app.router.add_get("/big", self._big)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/plain", self._plain)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()

    async def close(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/feed", host: str = "stream.example.com", scheme: str = "ws") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    async def _accept(self, request: web.Request) -> web.WebSocketResponse:
        self.handshakes.append({k.lower(): v for k, v in request.headers.items()})
        ws = web.WebSocketResponse(max_msg_size=8 * 1024 * 1024)
        await ws.prepare(request)
        self.sockets.append(ws)
        self.connected.set()
        return ws

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self.received.append(msg.data)
                    await ws.send_str(f"echo:{msg.data}")
                elif msg.type is WSMsgType.BINARY:
                    self.received.append(msg.data)
                    await ws.send_bytes(msg.data[::-1])
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)

    async def _feed(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self._accept(request)
        await self._serve(ws)
        return ws

    async def _burst(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self._accept(request)
        for i in range(int(request.query.get("n", "100"))):
            await ws.send_str(str(i))
        await ws.send_bytes(b"\x00\x01\xff")
        await self._serve(ws)
        return ws

    async def _big(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self._accept(request)
        await ws.send_str("small")
        await ws.send_str("x" * int(request.query.get("size", "300000")))
        await self._serve(ws)
        return ws

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query.get("to", f"ws://127.0.0.1:{self.port}/feed"))

    async def _plain(self, request: web.Request) -> web.Response:
        return web.Response(text="not a websocket")

    async def push(self, data: str | bytes) -> None:
        """Send ``data`` on every open socket."""
        for ws in list(self.sockets):
            if isinstance(data, str):
                await ws.send_str(data)
            else:
                await ws.send_bytes(data)

    async def drop(self) -> None:
        """Close every open socket from the server side (the broker must reconnect)."""
        self.connected.clear()
        for ws in list(self.sockets):
            await ws.close(code=1012, message=b"restarting")
