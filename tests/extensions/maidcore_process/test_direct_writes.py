"""Lines to a worker: handed over at the end of their loop turn while it keeps up, queued while it does not.

``Connection`` hands a turn's lines straight to the worker's stdin
(``write_nowait``) only when nothing waits to be written, so switching between
that and the writer task never reorders lines, and a worker that stops reading
is still caught by the bound on queued bytes. Run against the real process backend here and the Docker backend
in ``tests/extensions/maidcore_docker/test_direct_writes.py``.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest
from maidcore_process import ProcessBackend

from maidcore.layers import DirectWriter, WorkerSpec
from maidcore.runner.rpc import Connection, notification

# Sleeps before reading (the pipe fills: the host must queue), then checks every line's number.
CHECKER = """
import json, sys, time
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
expected = out_of_order = 0
for line in sys.stdin:
    message = json.loads(line)
    if message["params"]["n"] != expected:
        out_of_order += 1
    expected = message["params"]["n"] + 1
    if message["method"] == "end":
        break
sys.stdout.write(json.dumps({"seen": expected, "out_of_order": out_of_order}) + "\\n")
sys.stdout.flush()
"""
DEAF = """
import sys, time
sys.stdout.write("up\\n"); sys.stdout.flush()
time.sleep(600)
"""
PAD = "x" * 1024
HIGH_WATER = 64 * 1024  # asyncio's default for a write transport


def write_bundle(root: Path, code: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "__main__.py").write_text(textwrap.dedent(code), encoding="utf-8")
    return root


def counted(worker) -> dict[str, int]:
    """Count which path each write took (wrapping the worker's own methods)."""
    counts = {"direct": 0, "queued": 0}
    write_nowait, write = worker.write_nowait, worker.write

    def direct(data: bytes) -> bool:
        taken = write_nowait(data)
        counts["direct"] += taken
        return taken

    async def queued(data: bytes) -> None:
        counts["queued"] += 1
        await write(data)

    worker.write_nowait, worker.write = direct, queued
    return counts


async def lines_keep_their_order(worker, buffered) -> None:
    """Direct, then queued while the worker sleeps, then direct again: the worker sees 0..n-1 in order.

    ``buffered()``: bytes the worker's stdin transport still holds (the backend's own buffer).
    """
    assert isinstance(worker, DirectWriter)
    counts = counted(worker)
    conn = Connection(worker)
    n = turn = 0
    # while the worker sleeps: at least ~300 KiB, and on until the host queues (a Docker attach socket and the
    # engine buffer several hundred KiB more than a pipe); 8 MiB without queueing fails below
    while turn < 150 or (conn.pending() == 0 and n * len(PAD) < 8 * 1024 * 1024):
        for _ in range(1 if turn % 2 else 3):  # one line in some loop turns, several in others
            conn.notify("line", {"n": n, "pad": PAD})
            n += 1
        turn += 1
        await asyncio.sleep(0)
    first = dict(counts)
    assert first["direct"] > 0, "no line was handed over at the end of its loop turn"
    assert conn.pending() > 0, "the full pipe did not make the host queue"
    deadline = asyncio.get_running_loop().time() + 30
    while conn.pending() or buffered():  # the worker wakes and reads; the writer task empties the outbox
        assert asyncio.get_running_loop().time() < deadline, "the outbox never drained"
        await asyncio.sleep(0.02)
    for _ in range(50):  # the worker keeps up again: back to direct writes
        conn.notify("line", {"n": n, "pad": ""})
        n += 1
        await asyncio.sleep(0.001)
    conn.notify("end", {"n": n})
    n += 1
    assert counts["queued"] > 0, "no line went through the writer task"
    assert counts["direct"] > first["direct"], "writes did not go direct again once the worker kept up"
    answer = json.loads(await asyncio.wait_for(worker.readline(), 30))
    assert answer == {"seen": n, "out_of_order": 0}
    await conn.close()


async def test_lines_keep_their_order_across_direct_and_queued_writes(tmp_path):
    backend = ProcessBackend()
    worker = await backend.spawn(WorkerSpec("order", "1.0.0", write_bundle(tmp_path / "b", CHECKER), "maidcore-order"))
    try:
        await lines_keep_their_order(worker, worker._proc.stdin.transport.get_write_buffer_size)
    finally:
        await worker.stop(grace=1)
        await backend.close()


async def test_a_deaf_worker_is_reported_and_holds_at_most_the_bound_plus_one_turn_of_lines(tmp_path):
    backend = ProcessBackend()
    worker = await backend.spawn(WorkerSpec("deaf", "1.0.0", write_bundle(tmp_path / "d", DEAF), "maidcore-deaf"))
    bound = 256 * 1024
    overflowed: list[int] = []
    try:
        assert await worker.readline() == b"up\n"
        counts = counted(worker)
        conn = Connection(worker, max_pending_bytes=bound, on_overflow=overflowed.append)
        line = len(json.dumps(notification("line", {"n": 0, "pad": PAD}), separators=(",", ":"))) + 1
        held = 0
        for n in range(10_000):
            conn.notify("line", {"n": n, "pad": PAD})
            # what the host holds for it: the outbox and the pipe transport's buffer (lines being written are in both
            # ``pending_bytes`` and the buffer, so they are counted once here)
            buffered = worker._proc.stdin.transport.get_write_buffer_size()
            held = max(held, sum(map(len, conn._outbox)) + buffered)
            if overflowed:
                break
            if n % 16 == 0:
                await asyncio.sleep(0)  # the writer task runs (and blocks on the deaf pipe)
        assert overflowed, "a worker that never reads was not reported"
        assert counts["direct"] > 0 and counts["queued"] > 0
        # queued and being-written bytes within the bound; the transport may also keep up to its high-water mark
        # (asyncio's 64 KiB: below it a write's drain returns at once, as before direct writes) and what the one
        # hand-off that found the pipe full left buffered (one loop turn's lines: 16 here)
        assert held <= bound + HIGH_WATER + 16 * line, held
        assert conn.closed and conn.pending() == 0
        conn.notify("line", {"n": -1, "pad": ""})  # after the overflow nothing more is taken
        assert conn.pending() == 0
        await conn.close()
    finally:
        await worker.stop(grace=1)
        await backend.close()


@pytest.mark.parametrize("closed", ["stdin", "exited"])
async def test_a_gone_worker_refuses_direct_writes_so_the_error_surfaces_in_write(tmp_path, closed):
    backend = ProcessBackend()
    worker = await backend.spawn(WorkerSpec("gone", "1.0.0", write_bundle(tmp_path / "g", DEAF), "maidcore-gone"))
    try:
        assert await worker.readline() == b"up\n"
        if closed == "stdin":
            await worker.close_stdin()
        else:
            await worker.stop(grace=0.5)
        assert worker.write_nowait(b"{}\n") is False or closed == "exited"
        broken: list[BaseException] = []
        conn = Connection(worker, on_broken=broken.append)
        for n in range(3):  # a write into a pipe whose reader is gone closes the transport; then write() raises
            conn.notify("line", {"n": n})
            await asyncio.sleep(0.05)
        assert conn.closed and isinstance(broken[0], BrokenPipeError)
        await conn.close()
    finally:
        await worker.stop(grace=0.5)
        await backend.close()
