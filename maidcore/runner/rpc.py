"""JSON-RPC 2.0 over a worker's byte stream: the line codec and one connection's outbox (contract §10.1).

Writes never block the caller: messages go into the connection's outbox. When
the worker keeps up (no write in progress, nothing left in its own buffer) the
lines of one event-loop turn are handed to its stdin together at the end of the
turn (one ``loop.call_soon`` callback and one ``DirectWriter.write_nowait``: no
writer-task wake-up per line, still one write for a burst). Otherwise one writer
task per worker writes them and waits for the worker to drain, so a worker that
stops reading stdin can only stall itself. Either way every line leaves the
outbox in order, the whole outbox at a time. The bytes not yet taken by the
worker are bounded (``runner.max_outgoing_bytes``): past it the outbox is
dropped and ``on_overflow`` is told, and the runner restarts the worker. A
hand-off only happens while the worker's buffer is empty, so a deaf worker holds
at most the bound plus one turn's lines (itself within the bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from maidcore.layers.sandbox import DirectWriter, Worker

log = logging.getLogger("maidcore.runner")

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


def encode(message: dict[str, Any]) -> bytes:
    """One compact JSON object and a newline (JSON escapes every control character, so no raw newline)."""
    return (_dumps(message) + "\n").encode("utf-8")


class ProtocolViolation(Exception):
    """A line no worker may send (nested past what the host parses): the runner restarts that worker."""


def decode(line: bytes) -> dict[str, Any] | None:
    """The JSON-RPC 2.0 object on ``line``, or ``None`` when the line is anything else (to be logged and ignored).

    Raises ``ProtocolViolation`` for JSON nested deeper than the parser's recursion limit.
    """
    if not line.strip():
        return None
    try:
        message = _loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    except RecursionError:
        raise ProtocolViolation("a protocol line nested deeper than the host parses") from None
    if type(message) is not dict or message.get("jsonrpc") != "2.0":
        return None
    return message


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def result_response(request_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: Any, error: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


class RemoteError(Exception):
    """A plugin answered a host request with an error object."""

    def __init__(self, error: Any) -> None:
        message = error.get("message", "") if isinstance(error, dict) else str(error)
        super().__init__(message)
        self.error = error


class Connection:
    """The host's end of one worker incarnation: an outbox, a writer task, and host→plugin requests."""

    def __init__(
        self,
        worker: Worker,
        *,
        on_broken: Callable[[BaseException], None] | None = None,
        max_pending_bytes: int = 0,
        on_overflow: Callable[[int], None] | None = None,
    ) -> None:
        self.worker = worker
        self.max_pending_bytes = max_pending_bytes  # 0 = unbounded
        self.pending_bytes = 0  # queued or being written, not yet taken by the worker
        self.overflowed = False
        self._on_overflow = on_overflow
        self._outbox: list[bytes] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._on_broken = on_broken
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._writing = False  # the writer task is between taking lines from the outbox and their drain
        self._write_nowait = worker.write_nowait if isinstance(worker, DirectWriter) else None
        self._flush_soon = False  # a hand-off is scheduled for the end of this loop turn
        self._loop = asyncio.get_running_loop()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name=f"write:{worker.name}")

    @property
    def closed(self) -> bool:
        return self._closed

    def pending(self) -> int:
        """Messages queued and not yet written to the worker."""
        return len(self._outbox)

    def send(self, message: dict[str, Any]) -> None:
        """Queue one message for this loop turn's hand-off (or the writer task); returns at once."""
        if self._closed:
            return
        data = encode(message)
        if self.max_pending_bytes and self.pending_bytes + len(data) > self.max_pending_bytes:
            self._overflow(self.pending_bytes + len(data))
            return
        self.pending_bytes += len(data)
        self._outbox.append(data)
        if self._flush_soon:
            return  # this turn's hand-off takes it too
        if self._write_nowait is not None and not self._writing:
            self._flush_soon = True
            self._loop.call_soon(self._hand_off)
        else:
            self._wake.set()

    def _hand_off(self) -> None:
        """End of the loop turn: give the turn's lines to the worker in one write, or to the writer task if it lags."""
        self._flush_soon = False
        if self._closed or self._writing or not self._outbox:
            return  # the writer task is on it (it takes every line queued before it looks again)
        lines = self._outbox
        data = lines[0] if len(lines) == 1 else b"".join(lines)
        assert self._write_nowait is not None
        if self._write_nowait(data):
            self._outbox = []
            self.pending_bytes = max(0, self.pending_bytes - len(data))
        else:
            self._wake.set()  # something still waits in the worker's buffer: the writer task drains it first

    def _overflow(self, size: int) -> None:
        """The worker stopped reading: drop what waits for it (freeing host memory) and stop writing."""
        self.overflowed = True
        self._closed = True
        self._outbox = []
        self.pending_bytes = 0
        self._writer.cancel()
        if self._on_overflow is not None:
            self._on_overflow(size)

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send(notification(method, params))

    async def request(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        """Send a host→plugin request (e.g. ``dashboard.<name>``) and wait for its answer."""
        request_id = f"h{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    def resolve(self, message: dict[str, Any]) -> bool:
        """Deliver a response to a pending host request; ``False`` if nobody waits for that id."""
        future = self._pending.get(str(message.get("id")))
        if future is None or future.done():
            return False
        if "error" in message:
            future.set_exception(RemoteError(message["error"]))
        else:
            future.set_result(message.get("result"))
        return True

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._outbox:
                    chunk, self._outbox = self._outbox, []
                    data = b"".join(chunk)
                    del chunk
                    self._writing = True
                    try:
                        await self.worker.write(data)
                    finally:
                        self._writing = False
                    self.pending_bytes = max(0, self.pending_bytes - len(data))
                if self._closed:
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # BrokenPipeError and friends: the worker is gone
            self._closed = True
            if self._on_broken is not None:
                self._on_broken(exc)

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until queued messages reached the worker (best effort)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._outbox and not self._writer.done() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Stop writing; fail pending host requests."""
        self._closed = True
        self._wake.set()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._writer
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("worker stopped before answering"))
        self._pending.clear()
