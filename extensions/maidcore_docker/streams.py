"""Split Docker's multiplexed attach stream into stdout and stderr lines.

Without a TTY the engine frames output as ``[stream, 0, 0, 0, size (4 bytes, big
endian)] + payload``. One asyncio task per worker reads whole frames (two
``readexactly`` calls per frame, whatever its size) and appends the payload to
the stream's buffer; readers cut lines out of the buffers. Stdout applies
back-pressure (the task stops reading while the runner lags); stderr is for
diagnostics only, so past its cap it drops output and says how much.
"""

from __future__ import annotations

import asyncio
import contextlib

from maidcore.layers.sandbox import LineTooLong

STDOUT, STDERR = 1, 2


class LineBuffer:
    """Bytes from one stream, read back as lines; ``readline`` never rescans bytes it has already searched."""

    def __init__(self, *, max_line: int, cap: int, drop_over_cap: bool, what: str) -> None:
        self.max_line = max_line
        self.cap = cap
        self.drop_over_cap = drop_over_cap
        self.what = what
        self.dropped = 0
        self._buf = bytearray()
        self._scanned = 0
        self._eof = False
        self._discarding = False
        self._readable = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()

    def feed(self, data: bytes) -> None:
        if self._discarding:
            self.dropped += len(data)
            return
        if self.drop_over_cap and len(self._buf) + len(data) > self.cap:
            room = max(0, self.cap - len(self._buf))
            self.dropped += len(data) - room
            data = data[:room]
        self._buf += data
        self._readable.set()
        if len(self._buf) > self.cap:
            self._drained.clear()

    def discard(self) -> None:
        """Nobody reads this stream any more (the worker is being killed): drop what is buffered and all that
        comes, so the pump keeps taking the engine's stream (the engine finishes a container's exit only
        once its attached output is taken: a full stdout buffer would hold the kill forever)."""
        self._discarding = True
        self.dropped += len(self._buf)
        self._buf.clear()
        self._scanned = 0
        self._drained.set()

    def feed_eof(self) -> None:
        self._eof = True
        self._readable.set()
        self._drained.set()

    @property
    def eof(self) -> bool:
        return self._eof

    def __len__(self) -> int:
        return len(self._buf)

    async def drained(self) -> None:
        """Wait until the buffer is back under its cap."""
        await self._drained.wait()

    def _take(self, end: int) -> bytes:
        line = bytes(self._buf[:end])
        del self._buf[:end]
        self._scanned = 0
        if len(self._buf) <= self.cap:
            self._drained.set()
        return line

    async def readline(self) -> bytes:
        """The next line with its newline; the unterminated rest at EOF; ``b""`` after that.

        Stdout raises ``LineTooLong`` for a line over ``max_line``; stderr returns it cut at ``max_line``.
        """
        while True:
            index = self._buf.find(b"\n", self._scanned)
            if index >= 0:
                if index + 1 > self.max_line and not self.drop_over_cap:
                    raise LineTooLong(f"{self.what} line of {index + 1} bytes is over the {self.max_line}-byte limit")
                if index + 1 > self.max_line:
                    return self._take(self.max_line) + b"\n"
                return self._take(index + 1)
            if len(self._buf) > self.max_line:
                if not self.drop_over_cap:
                    raise LineTooLong(
                        f"{self.what} line of over {self.max_line} bytes without a newline (limit {self.max_line})"
                    )
                return self._take(self.max_line) + b"\n"
            self._scanned = len(self._buf)
            if self._eof:
                return self._take(len(self._buf)) if self._buf else b""
            self._readable.clear()
            await self._readable.wait()


async def demultiplex(reader: asyncio.StreamReader, stdout: LineBuffer, stderr: LineBuffer) -> None:
    """Read frames until the engine closes the stream, then mark both buffers at EOF."""
    try:
        while True:
            header = await reader.readexactly(8)
            size = int.from_bytes(header[4:8], "big")
            payload = await reader.readexactly(size) if size else b""
            if header[0] == STDERR:
                stderr.feed(payload)
            else:
                stdout.feed(payload)
                if len(stdout) > stdout.cap:
                    await stdout.drained()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        stdout.feed_eof()
        stderr.feed_eof()


async def cancel_quietly(task: asyncio.Future | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
