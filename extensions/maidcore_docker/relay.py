"""The dependency build's only way out: connections it asks for, opened by the host to the package index only.

The build container has no network. Its build entry (``sandbox/build.py``) runs an
HTTP proxy on the container's own loopback and relays each connection over the
attached stdin/stdout as frames: kind (1 byte) | channel (4 bytes, big endian) |
length (4 bytes, big endian) | payload. Container to host: ``O`` open, ``D`` data,
``E`` closed, ``T`` bytes of the result tar. Host to container: ``D`` and ``E``.

Here each channel's first bytes must be one proxy request: ``CONNECT host:port``
(HTTPS; TLS then runs end to end between pip and the index) or an absolute-form
``GET http://host/...`` (a plain-HTTP index, forwarded one request per connection).
Anything not addressed to an allowed index host is answered ``403`` and recorded in
``refused``. Every byte from the container is untrusted: build code runs as the same
user as the entry and can write any frame, so sizes are capped and a malformed frame
ends the build.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

HEADER = struct.Struct(">cII")
MAX_FRAME = 1 << 20  # the entry sends at most 64 KiB per frame
MAX_HEAD = 16 << 10  # a proxy request head
MAX_PENDING = 1 << 20  # bytes from the container waiting for one upstream to take them
MAX_CHANNELS = 10_000  # connections over one build's life
CONNECT_TIMEOUT = 30.0
CHUNK = 64 << 10
DEFAULT_PORTS = {"http": 80, "https": 443}


class RelayError(Exception):
    """The container broke the frame protocol (or exceeded a cap); the build is abandoned."""


def allowed_destinations(index_urls: Iterable[str], index_hosts: Iterable[str]) -> frozenset[tuple[str, int]]:
    """``(host, port)`` pairs a build may reach: each index URL's, and each of ``index_hosts``
    (``host`` means port 443, ``host:port`` that port)."""
    allowed = set()
    for url in index_urls:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"package index {url!r} is not an http(s) URL; use e.g. https://pypi.org/simple")
        allowed.add((parts.hostname.lower(), parts.port or DEFAULT_PORTS[parts.scheme]))
    for entry in index_hosts:
        host, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        allowed.add((host.lower(), int(port) if port else 443))
    return frozenset(allowed)


class _Channel:
    """One connection pip opened to the proxy, as the host sees it."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.pending = 0  # bytes queued in inbox
        self.closed = False
        self.task: asyncio.Task | None = None


class Relay:
    """Feed it the container's stdout bytes; it opens allowed connections and answers through ``send``."""

    def __init__(
        self,
        allowed: frozenset[tuple[str, int]],
        *,
        send: Callable[[bytes], Awaitable[None]],
        on_tar: Callable[[bytes], None],
        max_connections: int = 32,
    ) -> None:
        self.allowed = allowed
        self._send_raw = send
        self._on_tar = on_tar
        self.max_connections = max_connections
        self.refused: list[str] = []  # destinations the build asked for and did not get
        self.opened: list[str] = []  # destinations it reached
        self._buffer = bytearray()
        self._channels: dict[int, _Channel] = {}
        self._send_lock = asyncio.Lock()

    # --- container -> host ---------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Take bytes of the container's stdout; dispatch every complete frame (``RelayError`` if malformed)."""
        self._buffer += data
        while len(self._buffer) >= HEADER.size:
            kind, number, length = HEADER.unpack_from(self._buffer)
            if length > MAX_FRAME:
                raise RelayError(f"the build sent a frame of {length} bytes (at most {MAX_FRAME})")
            if len(self._buffer) < HEADER.size + length:
                return
            payload = bytes(self._buffer[HEADER.size : HEADER.size + length])
            del self._buffer[: HEADER.size + length]
            self._dispatch(kind, number, payload)

    def _dispatch(self, kind: bytes, number: int, payload: bytes) -> None:
        if kind == b"T":
            self._on_tar(payload)
        elif kind == b"O":
            if number in self._channels:
                raise RelayError(f"the build opened connection {number} twice")
            if len(self._channels) >= MAX_CHANNELS:
                raise RelayError(f"the build opened over {MAX_CHANNELS} connections")
            channel = _Channel(number)
            self._channels[number] = channel
            open_now = sum(1 for c in self._channels.values() if not c.closed)
            if open_now > self.max_connections:
                channel.task = asyncio.ensure_future(
                    self._answer(channel, 503, f"more than {self.max_connections} connections at once")
                )
            else:
                channel.task = asyncio.ensure_future(self._serve(channel))
        elif kind == b"D":
            channel = self._channels.get(number)
            if channel is None or channel.closed:
                return  # data after the host closed the connection: dropped
            channel.pending += len(payload)
            if channel.pending > MAX_PENDING:
                raise RelayError(f"connection {number} queued over {MAX_PENDING} bytes its destination did not take")
            channel.inbox.put_nowait(payload)
        elif kind == b"E":
            channel = self._channels.get(number)
            if channel is not None:
                channel.inbox.put_nowait(None)
        else:
            raise RelayError(f"the build sent an unknown frame kind {kind!r}")

    # --- host -> container -----------------------------------------------------------

    async def _send(self, kind: bytes, number: int, payload: bytes = b"") -> None:
        async with self._send_lock:
            await self._send_raw(HEADER.pack(kind, number, len(payload)) + payload)

    async def _answer(self, channel: _Channel, status: int, reason: str) -> None:
        body = f"maidcore build relay: {reason}\n".encode()
        phrase = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway", 503: "Service Unavailable"}[status]
        head = (
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        with contextlib.suppress(Exception):
            await self._send(b"D", channel.number, head + body)
            await self._send(b"E", channel.number)
        channel.closed = True

    # --- one connection ------------------------------------------------------------

    async def _read_head(self, channel: _Channel) -> tuple[bytes, bytes] | None:
        data = bytearray()
        while b"\r\n\r\n" not in data:
            chunk = await channel.inbox.get()
            if chunk is None:
                return None
            channel.pending -= len(chunk)
            data += chunk
            if len(data) > MAX_HEAD and b"\r\n\r\n" not in data[:MAX_HEAD]:
                raise ValueError("request head over 16 KiB")
        end = data.index(b"\r\n\r\n") + 4
        return bytes(data[:end]), bytes(data[end:])

    async def _serve(self, channel: _Channel) -> None:
        try:
            try:
                got = await self._read_head(channel)
            except ValueError as exc:
                await self._answer(channel, 400, str(exc))
                return
            if got is None:
                channel.closed = True
                return
            head, rest = got
            lines = head.decode("latin-1").split("\r\n")
            method, _, rest_of_line = lines[0].partition(" ")
            target = rest_of_line.rpartition(" ")[0]
            if method == "CONNECT":
                host, _, port_text = target.rpartition(":")
                host = host.strip("[]")
                port = int(port_text) if port_text.isdigit() else 443
                forward = b""
            else:
                parts = urlsplit(target)
                if parts.scheme != "http" or not parts.hostname:
                    await self._answer(channel, 400, f"expected CONNECT or an absolute http:// URL, got {target!r}")
                    return
                host, port = parts.hostname, parts.port or 80
                forward = _origin_form(method, parts, lines[1:])
            host = host.lower()
            if (host, port) not in self.allowed:
                self.refused.append(f"{host}:{port}")
                allowed = ", ".join(f"{h}:{p}" for h, p in sorted(self.allowed))
                await self._answer(channel, 403, f"{host}:{port} is not a package index host (allowed: {allowed})")
                return
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                await self._answer(channel, 502, f"cannot reach {host}:{port} ({exc.__class__.__name__}: {exc})")
                return
            self.opened.append(f"{host}:{port}")
            try:
                if method == "CONNECT":
                    await self._send(b"D", channel.number, b"HTTP/1.1 200 Connection established\r\n\r\n")
                else:
                    writer.write(forward)
                if rest:
                    writer.write(rest)
                upstream = asyncio.ensure_future(self._to_upstream(channel, writer))
                try:
                    await self._to_container(channel, reader)
                finally:
                    upstream.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await upstream
            finally:
                writer.close()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one connection's failure never ends the relay
            log.debug("build relay channel %d: %s", channel.number, exc)
        finally:
            channel.closed = True

    async def _to_upstream(self, channel: _Channel, writer: asyncio.StreamWriter) -> None:
        while True:
            chunk = await channel.inbox.get()
            if chunk is None:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            channel.pending -= len(chunk)
            writer.write(chunk)
            await writer.drain()

    async def _to_container(self, channel: _Channel, reader: asyncio.StreamReader) -> None:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            await self._send(b"D", channel.number, data)
        await self._send(b"E", channel.number)

    async def close(self) -> None:
        tasks = [c.task for c in self._channels.values() if c.task is not None and not c.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _origin_form(method: str, parts, header_lines: list[str]) -> bytes:
    """The request as the origin expects it: path-only request line, one request (``Connection: close``)."""
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    dropped = ("connection", "proxy-connection", "proxy-authorization")
    keep = [line for line in header_lines if line and line.split(":", 1)[0].strip().lower() not in dropped]
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{line}\r\n" for line in keep) + "Connection: close\r\n\r\n"
    return head.encode("latin-1")
