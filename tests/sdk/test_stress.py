"""The transport under load and abuse: pipelined events, slow and lost calls, stray output, garbage input."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

KV_ECHO = """
@plugin.on_event("message_create")
def on_message(ctx, event):
    n = event["n"]
    if n % 500 == 0:
        print(f"stray print {n}")
    value = ctx.kv.get(f"k{n}")
    if value != n * 2:
        ctx.log(f"MISMATCH {n} {value}", level="error")
"""


class ShuffledResponder:
    """Answers ``kv.get`` requests from a separate thread, newest first, so calls overlap and complete out of order."""

    def __init__(self) -> None:
        self.pending: list[dict] = []
        self.lock = threading.Lock()
        self.max_in_flight = 0
        self.answered = 0

    def __call__(self, msg: dict) -> None:
        with self.lock:
            self.pending.append(msg)
            self.max_in_flight = max(self.max_in_flight, len(self.pending))
        return None

    def drain_forever(self, proc) -> None:
        while proc.proc.poll() is None:
            with self.lock:
                batch, self.pending = self.pending, []
            for msg in reversed(batch):
                n = int(msg["params"]["key"][1:])
                proc.respond(msg, {"value": n * 2})
                self.answered += 1
            time.sleep(0.0005)


@pytest.mark.slow
def test_ten_thousand_pipelined_events_with_calls_in_flight(spawn):
    responder = ShuffledResponder()
    proc = spawn(KV_ECHO, responder=responder)
    proc.boot()
    threading.Thread(target=responder.drain_forever, args=(proc,), daemon=True).start()
    total = 10_000
    lines = [
        (json.dumps({"jsonrpc": "2.0", "method": "event.message_create", "params": {"event_id": i, "event": {"n": i}}})
         + "\n").encode()
        for i in range(total)
    ]  # fmt: skip
    # Pipelined in bursts of 1,000 with up to 2,000 outstanding, so the dispatch queue (2048) never overflows.
    for start in range(0, total, 1000):
        proc.write_raw(b"".join(lines[start : start + 1000]))
        proc.wait_until(lambda start=start: len(proc.acked()) >= start, timeout=60, what="acks to catch up")
    proc.wait_until(lambda: len(proc.acked()) == total, timeout=60, what="all 10,000 acks")
    acked = proc.acked()
    assert Counter(acked) == Counter(range(total))
    assert responder.answered == total
    assert responder.max_in_flight > 1, "calls never overlapped"
    assert not [line for line in proc.logs() if line.startswith("MISMATCH")]
    assert any("event_ids" in m["params"] for m in proc.messages if m.get("method") == "event.ack")
    assert proc.stray == []
    assert proc.shutdown() == 0
    time.sleep(0.1)
    assert "stray print 500" in proc.stderr


def test_a_slow_call_times_out_and_its_late_answer_is_discarded(spawn):
    proc = spawn(
        """
@plugin.on_event("message_create")
def on_message(ctx, event):
    try:
        ctx.log(f"got {ctx.kv.get(event['key'])}")
    except RpcTimeoutError as exc:
        ctx.log(f"timeout: {exc} code={exc.code} is TimeoutError alias: {TimeoutError is RpcTimeoutError}")
""",
        env={"MMO_SDK_RPC_TIMEOUT": "0.5"},
    )
    proc.boot()
    sent = time.monotonic()
    proc.event("message_create", {"key": "slow"}, event_id=1)
    slow = proc.wait_for(method="kv.get")
    proc.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"]["message"].startswith("timeout:"))
    assert 0.5 <= time.monotonic() - sent < 10
    assert "timeout: RPC timeout: kv.get (0.5s) code=RPC_TIMEOUT is TimeoutError alias: True" in proc.logs()
    proc.respond(slow, {"value": "too late"})
    proc.event("message_create", {"key": "fast"}, event_id=2)
    fast = proc.wait_for(method="kv.get")
    proc.respond(fast, {"value": "on time"})
    proc.wait_until(lambda: "got on time" in proc.logs(), what="second call answered")
    assert "got too late" not in proc.logs()
    proc.wait_until(lambda: sorted(proc.acked()) == [1, 2], what="both events acked")


def test_a_handler_blocked_on_a_slow_call_does_not_stall_the_others(spawn):
    proc = spawn(
        """
@plugin.on_event("message_create")
def on_message(ctx, event):
    ctx.log(f"{event['key']}={ctx.kv.get(event['key'])}")
"""
    )
    proc.boot()
    proc.event("message_create", {"key": "slow"}, event_id="slow")
    slow = proc.wait_for(lambda m: m.get("method") == "kv.get" and m["params"]["key"] == "slow")
    for i in range(6):
        proc.event("message_create", {"key": f"fast{i}"}, event_id=f"fast{i}")
        fast = proc.wait_for(lambda m: m.get("method") == "kv.get" and m["params"]["key"].startswith("fast"))
        proc.respond(fast, {"value": i})
    proc.wait_until(lambda: len(proc.acked()) == 6, what="fast events acked")
    assert "slow" not in proc.acked()
    proc.respond(slow, {"value": "done"})
    proc.wait_until(lambda: "slow" in proc.acked(), what="slow event acked")
    assert "slow=done" in proc.logs()


def test_host_closing_stdin_mid_call_ends_the_call_and_the_process(spawn):
    proc = spawn(
        """
@plugin.on_event("message_create")
def on_message(ctx, event):
    try:
        ctx.kv.get("never answered")
    except RpcError as exc:
        print(f"call ended: {exc}", file=sys.stderr)
"""
    )
    proc.boot()
    proc.event("message_create", {}, event_id=1)
    proc.wait_for(method="kv.get")
    started = time.monotonic()
    proc.close_stdin()
    assert proc.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    time.sleep(0.1)
    assert "call ended: RPC error (kv.get): host connection closed" in proc.stderr


def test_malformed_host_lines_are_skipped_with_a_note_on_stderr(spawn):
    proc = spawn(
        """
@plugin.on_event("message_create")
def on_message(ctx, event):
    ctx.log(f"handled {event['n']}")
"""
    )
    proc.boot()
    proc.event("message_create", {"n": 1}, event_id=1)
    proc.write_raw(b"this is not json\n")
    proc.write_raw(b'{"jsonrpc": "2.0", "method": "event.message_create", "params": \n')
    proc.write_raw(b"[1, 2, 3]\n")
    proc.write_raw(b"\xff\xfe garbage bytes\n")
    proc.write_raw(b'{"jsonrpc": "2.0", "method": 12}\n')
    proc.write_raw(b"\n")
    proc.write_raw(b'{"jsonrpc": "2.0", "id": 999999, "result": {}}\n')  # answer to nothing
    proc.write_raw(b'{"jsonrpc": "2.0", "method": "event.message_create", "params": "not an object"}\n')
    proc.event("message_create", {"n": 2}, event_id=2)
    proc.wait_until(lambda: "handled 2" in proc.logs(), what="the event after the garbage")
    proc.wait_until(lambda: len([x for x in proc.stderr if "skipped malformed protocol line" in x]) == 4)
    assert not [line for line in proc.logs() if line.startswith("Malformed")]  # the protocol stays as the official one
    assert proc.proc.poll() is None
    assert 1 in proc.acked() and 2 in proc.acked()


def test_a_full_dispatch_queue_drops_with_a_warning_and_no_ack(spawn):
    release = threading.Event()
    proc = spawn(
        """
@plugin.on_event("message_create")
def on_message(ctx, event):
    ctx.kv.get("k")
""",
        env={"MMO_SDK_DISPATCH_THREADS": "1"},
    )
    proc.boot()
    proc.event("message_create", {}, event_id=0)
    first = proc.wait_for(method="kv.get")  # the only worker is now blocked
    lines = b"".join(
        (
            json.dumps({"jsonrpc": "2.0", "method": "event.message_create", "params": {"event_id": i, "event": {}}})
            + "\n"
        ).encode()
        for i in range(1, 2100)
    )
    proc.write_raw(lines)
    proc.wait_until(
        lambda: sum(line == "Dispatch queue full — dropped event.message_create" for line in proc.logs()) == 51,
        what="51 drop warnings",
    )
    proc.responder = lambda msg: {"jsonrpc": "2.0", "id": msg["id"], "result": {"value": 1}}
    for m in list(proc.messages):
        if m.get("method") == "kv.get":
            proc.respond(m, {"value": 1})
    release.set()
    proc.wait_until(lambda: len(proc.acked()) == 2049, timeout=30, what="2049 acks")
    time.sleep(0.2)
    assert sorted(proc.acked()) == list(range(2049))
    assert first["params"]["key"] == "k"
