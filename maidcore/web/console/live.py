"""Server-Sent Events for pages that change while open (plugin logs, permission requests, upgrades).

Each stream re-reads the records on an interval and sends only what changed, so
it shows what every node wrote (the records are shared), not only this node's
work. Streams end when the client goes away or the server shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from maidcore.web.console import security

SHUTDOWN: web.AppKey[asyncio.Event] = web.AppKey("console_shutdown", asyncio.Event)
KEEPALIVE_SECONDS = 15.0

#: Returns the events to send now: ``[(event name, JSON-able data)]``.
Poll = Callable[[], Awaitable[list[tuple[str, Any]]]]


def setup(app: web.Application) -> None:
    async def on_startup(app: web.Application) -> None:
        app[SHUTDOWN] = asyncio.Event()

    async def on_shutdown(app: web.Application) -> None:
        if SHUTDOWN in app:
            app[SHUTDOWN].set()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)


async def stream(request: web.Request, poll: Poll, *, interval: float = 1.0) -> web.StreamResponse:
    """Send ``poll()``'s events every ``interval`` seconds until the client leaves or the server stops."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            **security.HEADERS,
        }
    )
    await response.prepare(request)
    stopping = request.app.get(SHUTDOWN) or asyncio.Event()
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    try:
        await response.write(b"retry: 2000\n\n")
        while not stopping.is_set():
            events = await poll()
            for name, data in events:
                payload = json.dumps(data, separators=(",", ":"), default=str)
                await response.write(f"event: {name}\ndata: {payload}\n\n".encode())
            if events:
                quiet_since = loop.time()
            elif loop.time() - quiet_since > KEEPALIVE_SECONDS:
                await response.write(b": keep-alive\n\n")
                quiet_since = loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)
    except ConnectionError:  # the client went away
        pass
    return response


def changed(render: Callable[[], Awaitable[str]], event: str) -> Poll:
    """A poll that sends ``render()``'s HTML whenever it differs from what was sent last."""
    last: list[str] = []

    async def poll() -> list[tuple[str, Any]]:
        html = await render()
        if last and last[0] == html:
            return []
        last[:] = [html]
        return [(event, {"html": html})]

    return poll
