"""The attach-stream demultiplexer and line buffers, fed real frames over a real socket pair."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from maidcore_docker.streams import LineBuffer, demultiplex

from maidcore.layers.sandbox import LineTooLong

KEEP: list = []


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


async def pipe(*chunks: bytes, max_line=64, cap=256):
    left, right = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=left)
    KEEP.append(writer)  # a collected StreamWriter closes its transport
    stdout = LineBuffer(max_line=max_line, cap=cap, drop_over_cap=False, what="stdout")
    stderr = LineBuffer(max_line=max_line, cap=cap, drop_over_cap=True, what="stderr")
    task = asyncio.ensure_future(demultiplex(reader, stdout, stderr))
    for chunk in chunks:
        right.sendall(chunk)
    right.close()
    return stdout, stderr, task


async def test_frames_split_into_stdout_and_stderr_lines_across_frame_boundaries():
    data = frame(1, b'{"a": 1}\n{"b"') + frame(2, b"warn") + frame(1, b": 2}\n") + frame(2, b"ing\n")
    # deliver byte by byte: frame headers split too
    stdout, stderr, task = await pipe(*[data[i : i + 1] for i in range(len(data))])
    assert await stdout.readline() == b'{"a": 1}\n'
    assert await stdout.readline() == b'{"b": 2}\n'
    assert await stdout.readline() == b""
    assert await stderr.readline() == b"warning\n"
    assert await stderr.readline() == b""
    await task


async def test_unterminated_last_line_is_returned_at_eof():
    stdout, _, task = await pipe(frame(1, b"partial"))
    assert await stdout.readline() == b"partial"
    assert await stdout.readline() == b""
    await task


async def test_stdout_line_over_the_limit_raises():
    stdout, _, task = await pipe(frame(1, b"x" * 100 + b"\n"), max_line=64, cap=512)
    with pytest.raises(LineTooLong, match="over the 64-byte limit"):
        await stdout.readline()
    await task


async def test_stdout_without_newline_over_the_limit_raises_before_eof():
    left, right = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=left)
    KEEP.append(writer)
    stdout = LineBuffer(max_line=64, cap=1024, drop_over_cap=False, what="stdout")
    stderr = LineBuffer(max_line=64, cap=1024, drop_over_cap=True, what="stderr")
    task = asyncio.ensure_future(demultiplex(reader, stdout, stderr))
    right.sendall(frame(1, b"y" * 80))
    with pytest.raises(LineTooLong, match="without a newline"):
        await asyncio.wait_for(stdout.readline(), 5)
    right.close()
    await task


async def test_stderr_is_cut_and_capped_and_counts_what_it_dropped():
    payload = b"e" * 100 + b"\n" + b"f" * 1000
    _, stderr, task = await pipe(frame(2, payload), max_line=64, cap=256)
    first = await stderr.readline()
    assert first == b"e" * 64 + b"\n"  # cut at max_line
    assert stderr.dropped == len(payload) - 256
    await task


async def test_stdout_applies_back_pressure_instead_of_buffering_without_bound():
    left, right = socket.socketpair()
    right.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=left)
    KEEP.append(writer)
    stdout = LineBuffer(max_line=64, cap=128, drop_over_cap=False, what="stdout")
    stderr = LineBuffer(max_line=64, cap=128, drop_over_cap=True, what="stderr")
    task = asyncio.ensure_future(demultiplex(reader, stdout, stderr))
    line = frame(1, b"z" * 31 + b"\n")
    for _ in range(2000):
        try:
            right.send(line)
        except BlockingIOError:
            break
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)
    assert len(stdout) <= 128 + 32  # the pump stopped reading; the rest waits in the socket
    for _ in range(10):
        assert await stdout.readline() == b"z" * 31 + b"\n"
    task.cancel()
    right.close()


async def test_a_discarded_stdout_lets_the_pump_take_the_whole_stream_to_its_end():
    # a worker being killed while it floods a stdout nobody reads: the engine ends it only once its
    # output is taken, so the pump must keep reading (and dropping) instead of waiting for room
    flood = frame(1, b"z" * 31 + b"\n") * 200 + frame(2, b"last words\n")
    stdout, stderr, task = await pipe(flood, cap=128)
    await asyncio.sleep(0.1)
    assert not task.done()  # held: stdout is over its cap and nobody reads it
    stdout.discard()
    await asyncio.wait_for(task, 5)  # the pump read to the end of the stream
    assert await stdout.readline() == b"" and stdout.dropped >= 200 * 32 - 128 - 32
    assert await stderr.readline() == b"last words\n"
