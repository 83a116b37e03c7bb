"""The two Docker API calls that must not hold a thread: the hijacked attach stream and ``wait``.

Everything else (create, start, inspect, kill, remove) goes through the docker SDK
in a worker thread. Attach and wait stay open for a worker's whole life, so they
are spoken here directly over asyncio streams to the engine's socket: one
connection each, no thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlparse


class EngineError(Exception):
    """The engine answered an attach or wait request with an error."""


@dataclass(frozen=True)
class EngineAddress:
    """Where the engine listens, as the docker SDK resolved ``DOCKER_HOST``."""

    scheme: str  # "unix", "tcp" or "tls"
    path: str = ""  # unix socket path
    host: str = ""
    port: int = 0
    api_version: str = "1.41"

    @classmethod
    def from_client(cls, client) -> EngineAddress:
        """Read the address and the negotiated API version from a connected ``docker.DockerClient``."""
        base = client.api.base_url
        version = client.api.api_version
        if base.startswith("http+docker://"):
            adapter = client.api.get_adapter(base)
            path = getattr(adapter, "socket_path", None)
            if path is None:
                raise EngineError(f"unsupported Docker transport {base!r} (use a unix socket or tcp:// DOCKER_HOST)")
            return cls("unix", path=path, api_version=version)
        parsed = urlparse(base)
        if parsed.scheme in ("http", "https") and parsed.hostname:
            scheme = "tls" if parsed.scheme == "https" else "tcp"
            return cls(scheme, host=parsed.hostname, port=parsed.port or 2375, api_version=version)
        raise EngineError(f"unsupported Docker transport {base!r} (use a unix socket or tcp:// DOCKER_HOST)")

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        cert_path = os.environ.get("DOCKER_CERT_PATH")
        if cert_path:
            context.load_verify_locations(os.path.join(cert_path, "ca.pem"))
            context.load_cert_chain(os.path.join(cert_path, "cert.pem"), os.path.join(cert_path, "key.pem"))
        if os.environ.get("DOCKER_TLS_VERIFY", "") in ("", "0"):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.scheme == "unix":
            return await asyncio.open_unix_connection(self.path, limit=1 << 20)
        context = self._ssl_context() if self.scheme == "tls" else None
        return await asyncio.open_connection(self.host, self.port, ssl=context, limit=1 << 20)

    def _request(self, method: str, path: str, headers: dict[str, str]) -> bytes:
        lines = [f"{method} /v{self.api_version}{path} HTTP/1.1", "Host: docker", "Content-Length: 0"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def attach(self, container_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Hijack ``/attach`` for stdin, stdout and stderr; afterwards the connection carries the raw stream."""
        reader, writer = await self.connect()
        writer.write(
            self._request(
                "POST",
                f"/containers/{container_id}/attach?stream=1&stdin=1&stdout=1&stderr=1",
                {"Connection": "Upgrade", "Upgrade": "tcp"},
            )
        )
        await writer.drain()
        status, _headers = await _read_head(reader)
        if status not in (101, 200):
            body = await _read_rest(reader, _headers)
            writer.close()
            raise EngineError(f"attach to {container_id[:12]} failed: HTTP {status} {body.decode(errors='replace')}")
        return reader, writer

    async def open_wait(self, container_id: str) -> asyncio.Task[dict]:
        """Arm ``/wait?condition=next-exit`` (before the container starts); the task ends at its exit."""
        reader, writer = await self.connect()
        writer.write(
            self._request("POST", f"/containers/{container_id}/wait?condition=next-exit", {"Connection": "close"})
        )
        await writer.drain()
        # The engine sends the header once the waiter is registered: reading it here means an
        # exit right after start cannot slip past a waiter that is not there yet.
        try:
            status, headers = await _read_head(reader)
        except BaseException:
            writer.close()
            raise

        async def finish() -> dict:
            try:
                body = await _read_rest(reader, headers)
            finally:
                writer.close()
            if status != 200:
                raise EngineError(f"wait for {container_id[:12]} failed: HTTP {status} {body.decode(errors='replace')}")
            return json.loads(body or b"{}")

        return asyncio.ensure_future(finish())


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return status, headers


async def _read_rest(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The body: chunked, by length, or up to EOF."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return bytes(body)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read()
