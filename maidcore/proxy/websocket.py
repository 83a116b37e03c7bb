"""The WebSocket broker behind ``ctx.ws`` (capability ``proxy:websocket``).

The sandbox has no network, so the host holds each plugin's sockets: a plugin
asks for a named socket (``ws.ensure``), sends frames through it (``ws.send``)
and gets what arrives as ``event.ws_message`` deliveries, in order per socket,
plus ``event.ws_open`` / ``event.ws_closed``. Every connect — the first and
each automatic reconnect — re-checks the host policy (the caller's ``prepare``:
is the host still allowed, which ``Authorization`` goes with it) and the
addresses, exactly as the HTTP proxy does (public addresses only, the checked
addresses pinned for the connection). Redirects are refused: a handshake must
answer 101 from the host that was approved. Limits: sockets per (server,
plugin), frame size both ways, frames per second out (``RATE_LIMITED``) and in
(read more slowly: the peer feels TCP back-pressure).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from maidcore import metrics
from maidcore.errors import HostError, InvalidArgument, RateLimited, RpcFailure
from maidcore.proxy.addresses import networks
from maidcore.proxy.resolver import CheckingResolver
from maidcore.scope import Scope
from maidcore.settings import ProxySettings, WebSocketSettings

log = logging.getLogger("maidcore.proxy.websocket")

CAPABILITY = "proxy:websocket"
SEND_BUCKET = "websocket frames"
SOCKET_BUCKET = "websocket connections"

#: ``(event, params)`` → whether the plugin still wants frames; ``event``: ``ws_open``, ``ws_message``, ``ws_closed``.
Deliver = Callable[[str, dict[str, Any]], Awaitable[bool]]
#: Re-checks the host policy before every connect; returns extra handshake headers; raises ``HostError`` to refuse.
Prepare = Callable[[], Awaitable[dict[str, str]]]


class RedirectRefused(RpcFailure):
    """The handshake answered with a redirect; the broker only talks to the host that was approved."""


class _Closed(Exception):
    """The socket was closed by the plugin or the host while connecting."""


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``rate`` banked (so a burst of one second's worth passes)."""

    rate: float
    tokens: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = max(self.rate, 1.0)

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self) -> float:
        """Take one token; return 0 on success, else the seconds until one is there (nothing taken)."""
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    async def wait(self) -> None:
        while (delay := self.take()) > 0:
            await asyncio.sleep(delay)


def socket_url(url: Any, *, allow_plain: bool) -> URL:
    """The validated ``wss://`` (or, when plain connections are allowed, ``ws://``) URL of a socket."""
    if not isinstance(url, str) or not url:
        raise InvalidArgument("url", "an absolute wss:// URL string")
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        raise InvalidArgument("url", "an absolute wss:// URL") from None
    schemes = ("wss", "ws") if allow_plain else ("wss",)
    if parsed.scheme not in schemes or not parsed.raw_host:
        if parsed.scheme == "ws":
            raise InvalidArgument("url", "a wss:// URL (plain ws:// is turned off on this host)")
        raise InvalidArgument("url", f"an absolute {' or '.join(s + '://' for s in schemes)} URL with a host")
    if parsed.user is not None or parsed.password is not None:
        raise InvalidArgument("url", "a URL without user info (use secret_auth for credentials)")
    return parsed.with_fragment(None)


def subscribe_frames(items: Any, *, limit: int, max_bytes: int) -> tuple[str, ...]:
    """The frames sent after every connect: strings as they are, anything else as compact JSON text."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise InvalidArgument("subscribe", "a list of messages to send after each connect")
    if len(items) > limit:
        raise InvalidArgument("subscribe", f"a list of at most {limit} messages (got {len(items)})")
    frames = []
    for item in items:
        text = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"), ensure_ascii=False)
        if len(text.encode("utf-8")) > max_bytes:
            raise InvalidArgument("subscribe", f"messages of at most {max_bytes} bytes")
        frames.append(text)
    return tuple(frames)


class Socket:
    """One named socket of one (server, plugin): connects, reads in order, reconnects with backoff."""

    def __init__(
        self,
        broker: WebSocketBroker,
        scope: Scope,
        name: str,
        url: URL,
        *,
        prepare: Prepare,
        deliver: Deliver,
        subscribe: tuple[str, ...],
        binary: bool,
    ) -> None:
        self.broker = broker
        self.scope = scope
        self.name = name
        self.url = url
        self.prepare = prepare
        self.deliver = deliver
        self.subscribe = subscribe
        self.binary = binary
        self.conn_id = uuid.uuid4().hex[:16]
        self.state = "connecting"
        self.closed = False
        self.close_reason = ""
        self.frames_in = 0
        self.frames_out = 0
        self.connects = 0
        self.last_error = ""
        self.opened_at = 0.0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._send_bucket = TokenBucket(broker.settings.send_frames_per_second)
        self._receive_bucket = TokenBucket(broker.settings.receive_frames_per_second)
        self._send_lock = asyncio.Lock()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"ws:{scope}:{name}")

    @property
    def host(self) -> str:
        return (self.url.raw_host or "").rstrip(".").lower()

    def describe(self) -> dict[str, Any]:
        """What ``ws.ensure`` answers and ``stats()`` lists."""
        return {
            "name": self.name,
            "conn_id": self.conn_id,
            "url": str(self.url),
            "state": self.state,
            "binary": self.binary,
        }

    # -- connecting and reading --------------------------------------------------------

    async def first_outcome(self) -> None:
        """Wait for the first connect attempt; its failure is raised (and the socket is gone)."""
        await asyncio.shield(self._first)

    async def _run(self) -> None:
        settings = self.broker.settings
        delay = settings.reconnect_initial_seconds
        try:
            while not self.closed:
                try:
                    ws = await self._connect()
                except asyncio.CancelledError:
                    raise
                except _Closed:
                    return
                except Exception as exc:
                    error = exc if isinstance(exc, HostError) else RpcFailure(f"websocket {self.name} failed: {exc}")
                    self.last_error = error.message
                    if not self._first.done():
                        self._first.set_exception(error)
                        return
                    if _final(error):  # the host is no longer allowed, or resolves somewhere it must not go
                        await self._ended(error.message, will_reconnect=False)
                        return
                    log.info("%s: websocket %s reconnect failed: %s", self.scope, self.name, error.message)
                    await self._sleep(delay)
                    delay = min(delay * 2, settings.reconnect_max_seconds)
                    continue
                if not self._first.done():
                    self._first.set_result(None)
                reason = await self._session(ws)
                if self.closed:
                    return
                if time.monotonic() - self.opened_at >= settings.reconnect_reset_seconds:
                    delay = settings.reconnect_initial_seconds
                if not await self._notify("ws_closed", {"reason": reason, "will_reconnect": True}):
                    return
                self.state = "reconnecting"
                await self._sleep(delay)
                delay = min(delay * 2, settings.reconnect_max_seconds)
        finally:
            self.state = "closed"
            self.closed = True
            if not self._first.done():
                self._first.set_exception(RpcFailure(f"websocket {self.name} was closed before it connected"))
            self.broker._forget(self)

    async def _sleep(self, delay: float) -> None:
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        headers = await self.prepare()  # the policy of this moment: host still allowed, current secret
        if self.closed:
            raise _Closed
        broker = self.broker
        await broker.check_address(self.url)
        settings = broker.settings
        try:
            async with asyncio.timeout(settings.connect_timeout_seconds):
                ws = await broker.session.ws_connect(
                    self.url,
                    headers=headers,
                    max_msg_size=settings.max_frame_bytes,
                    heartbeat=settings.heartbeat_seconds or None,
                    timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
                    autoping=True,
                )
        except HostError:
            raise  # the checking resolver or the redirect guard refused
        except aiohttp.WSServerHandshakeError as exc:
            raise RpcFailure(
                f"{self.host} answered the WebSocket handshake with HTTP {exc.status} instead of 101"
            ) from None
        except aiohttp.ClientConnectorCertificateError:
            raise RpcFailure(f"TLS certificate of {self.host} could not be verified") from None
        except aiohttp.ClientConnectorError as exc:
            why = exc.strerror or exc.os_error.__class__.__name__
            raise RpcFailure(f"could not connect to {self.host}:{self.url.port} ({why})") from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise RpcFailure(
                f"{self.host} did not complete the WebSocket handshake within {settings.connect_timeout_seconds:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise RpcFailure(f"websocket to {self.host} failed: {exc.__class__.__name__}") from None
        if self.closed:
            await ws.close()
            raise _Closed
        return ws

    async def _session(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """One connection: open event, subscribe frames, every inbound frame in order; returns why it ended."""
        self._ws = ws
        self.connects += 1
        self.opened_at = time.monotonic()
        self.state = "open"
        try:
            if not await self._notify("ws_open", {"url": str(self.url)}):
                return "the plugin no longer takes frames"
            for frame in self.subscribe:
                await ws.send_str(frame)
                self.frames_out += 1
                metrics.BROKER_MESSAGES.labels("out").inc()
            while True:
                msg = await ws.receive()
                if msg.type is aiohttp.WSMsgType.TEXT:
                    data, binary = msg.data, False
                    if self.binary:
                        data, binary = base64.b64encode(msg.data.encode("utf-8")).decode("ascii"), True
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    data, binary = base64.b64encode(msg.data).decode("ascii"), True
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    error = msg.data if isinstance(msg.data, BaseException) else ws.exception()
                    return _error_reason(error, self.broker.settings.max_frame_bytes)
                else:  # CLOSE, CLOSING, CLOSED
                    code = ws.close_code
                    return f"closed by {self.host}" + (f" (code {code})" if code is not None else "")
                self.frames_in += 1
                metrics.BROKER_MESSAGES.labels("in").inc()
                await self._receive_bucket.wait()
                if not await self._notify("ws_message", {"data": data, "binary": binary}):
                    return "the plugin no longer takes frames"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("%s: websocket %s failed", self.scope, self.name, exc_info=True)
            return f"connection to {self.host} failed ({exc.__class__.__name__})"
        finally:
            self._ws = None
            with contextlib.suppress(Exception):
                await ws.close()

    async def _notify(self, event: str, params: dict[str, Any]) -> bool:
        try:
            wanted = await self.deliver(event, {"name": self.name, "conn_id": self.conn_id, **params})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: delivering %s of websocket %s failed", self.scope, event, self.name)
            return True
        if not wanted and not self.closed:
            self.closed = True
            self.close_reason = "the plugin no longer takes frames"
        return wanted

    async def _ended(self, reason: str, *, will_reconnect: bool) -> None:
        self.close_reason = reason
        await self._notify("ws_closed", {"reason": reason, "will_reconnect": will_reconnect})

    # -- what the plugin does ------------------------------------------------------------

    async def send(self, data: str | bytes) -> None:
        size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
        limit = self.broker.settings.max_frame_bytes
        if size > limit:
            raise InvalidArgument("data", f"a frame of at most {limit} bytes (got {size})")
        wait = self._send_bucket.take()
        if wait > 0:
            metrics.RATE_LIMIT_DENIALS.labels(SEND_BUCKET).inc()
            raise RateLimited(SEND_BUCKET, wait)
        ws = self._ws
        if ws is None or ws.closed or self.state != "open":
            raise RpcFailure(f"websocket {self.name} is {self.state}; send again after its on_ws_open")
        async with self._send_lock:
            try:
                if isinstance(data, str):
                    await ws.send_str(data)
                else:
                    await ws.send_bytes(data)
            except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
                raise RpcFailure(f"websocket {self.name} could not send ({exc.__class__.__name__})") from None
        self.frames_out += 1
        metrics.BROKER_MESSAGES.labels("out").inc()

    async def close(self, reason: str, *, notify: bool) -> None:
        """Close for good (no reconnect); ``notify`` sends the plugin its ``ws_closed``."""
        if self.closed and self._task.done():
            return
        was_open = self.state == "open"
        self.closed = True
        self.close_reason = reason
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2.0)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        if notify and was_open:
            await self._notify("ws_closed", {"reason": reason, "will_reconnect": False})


def _final(error: HostError) -> bool:
    """Refusals a reconnect cannot cure: the policy said no, or the name now resolves where it must not go."""
    from maidcore.errors import CapabilityDenied
    from maidcore.proxy.resolver import AddressRefused

    return isinstance(error, (CapabilityDenied, AddressRefused, RedirectRefused, InvalidArgument))


def _error_reason(exc: BaseException | None, max_bytes: int) -> str:
    if isinstance(exc, aiohttp.WebSocketError) and exc.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
        return f"a frame over {max_bytes} bytes arrived"
    return f"connection failed ({exc.__class__.__name__ if exc else 'error'})"


class WebSocketBroker:
    """Holds every plugin's sockets on this node; one session (and checked, pinned resolver) for all."""

    def __init__(
        self, settings: WebSocketSettings, proxy: ProxySettings, *, resolver: AbstractResolver | None = None
    ) -> None:
        self.settings = settings
        self.proxy = proxy
        self._inner_resolver = resolver
        self.resolver: CheckingResolver | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sockets: dict[Scope, dict[str, Socket]] = {}
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._start_lock:
            if self._session is not None:
                return
            p = self.proxy
            self.resolver = CheckingResolver(
                self._inner_resolver or aiohttp.ThreadedResolver(),
                allow_private=p.allow_private_addresses,
                cache_seconds=p.dns_cache_seconds,
                allowed_networks=networks(p.allowed_private_networks),
            )
            tls = ssl.create_default_context()
            if p.extra_ca_file:
                tls.load_verify_locations(cafile=p.extra_ca_file)
            trace = aiohttp.TraceConfig()
            trace.on_request_redirect.append(_refuse_redirect)
            connector = aiohttp.TCPConnector(ssl=tls, resolver=self.resolver, use_dns_cache=False, family=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=self.settings.connect_timeout_seconds,
                    sock_connect=self.settings.connect_timeout_seconds,
                ),
                trust_env=False,
                trace_configs=[trace],
            )

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "WebSocketBroker.start() was not awaited"
        return self._session

    async def check_address(self, url: URL) -> None:
        assert self.resolver is not None
        await self.resolver.check(url.raw_host or "", url.port or 0)

    async def close(self) -> None:
        """Close every socket (no events: the host is going away) and the session."""
        for scope in list(self._sockets):
            await self.close_scope(scope, "the host shut down", notify=False)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the host API's calls ---------------------------------------------------------------

    async def ensure(
        self,
        scope: Scope,
        name: str,
        url: URL,
        *,
        prepare: Prepare,
        deliver: Deliver,
        subscribe: tuple[str, ...] = (),
        binary: bool = False,
    ) -> dict[str, Any]:
        """The socket named ``name`` of ``scope``: the existing one if it has this URL, else a new connection.

        Waits for the first connect attempt and raises its failure; after that the
        socket reconnects on its own until closed.
        """
        await self.start()
        sockets = self._sockets.setdefault(scope, {})
        existing = sockets.get(name)
        if existing is not None and not existing.closed:
            if existing.url == url and existing.binary == binary and existing.subscribe == subscribe:
                return {**existing.describe(), "created": False}
            await existing.close(f"replaced by a socket to {url}", notify=False)
        open_count = sum(1 for s in sockets.values() if not s.closed)
        if open_count >= self.settings.max_connections_per_scope:
            raise RateLimited(SOCKET_BUCKET, self.settings.reconnect_max_seconds)
        socket = Socket(self, scope, name, url, prepare=prepare, deliver=deliver, subscribe=subscribe, binary=binary)
        sockets[name] = socket
        try:
            await socket.first_outcome()
        except BaseException:
            self._forget(socket)
            raise
        return {**socket.describe(), "created": True}

    def get(self, scope: Scope, name: str) -> Socket:
        socket = self._sockets.get(scope, {}).get(name)
        if socket is None or socket.closed:
            raise RpcFailure(f"no open websocket named {name!r}; call ws.ensure first")
        return socket

    async def send(self, scope: Scope, name: str, data: str | bytes) -> dict[str, Any]:
        await self.get(scope, name).send(data)
        return {"sent": True}

    async def close_socket(self, scope: Scope, name: str, reason: str = "closed by the plugin") -> dict[str, Any]:
        socket = self._sockets.get(scope, {}).get(name)
        if socket is None or socket.closed:
            return {"closed": False}
        await socket.close(reason, notify=True)
        return {"closed": True}

    async def close_scope(
        self, scope: Scope, reason: str, *, keep: Callable[[Socket], bool] | None = None, notify: bool = False
    ) -> int:
        """Close the sockets of ``scope`` (those ``keep`` rejects, or all); returns how many were closed."""
        closed = 0
        for socket in list(self._sockets.get(scope, {}).values()):
            if keep is not None and keep(socket):
                continue
            await socket.close(reason, notify=notify)
            closed += 1
        return closed

    def sockets(self, scope: Scope | None = None) -> list[Socket]:
        scopes: Iterable[dict[str, Socket]] = (
            self._sockets.values() if scope is None else [self._sockets.get(scope, {})]
        )
        return [s for sockets in scopes for s in sockets.values() if not s.closed]

    def _forget(self, socket: Socket) -> None:
        sockets = self._sockets.get(socket.scope)
        if sockets is not None and sockets.get(socket.name) is socket:
            del sockets[socket.name]
            if not sockets:
                del self._sockets[socket.scope]

    def stats(self) -> dict[str, Any]:
        return {
            str(scope): [{**s.describe(), "frames_in": s.frames_in, "frames_out": s.frames_out} for s in socks.values()]
            for scope, socks in self._sockets.items()
        }


async def _refuse_redirect(session: Any, context: Any, params: aiohttp.TraceRequestRedirectParams) -> None:
    location = params.response.headers.get("Location", "")
    target = URL(location) if location else None
    where = f" to {target.host}" if target is not None and target.host else ""
    raise RedirectRefused(
        f"{params.url.host} answered the WebSocket handshake with a redirect ({params.response.status}){where}; "
        "the broker only connects to the approved host itself"
    )
