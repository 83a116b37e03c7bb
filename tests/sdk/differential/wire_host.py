"""An in-test host for the wire corpus: runs ``wire_plugin.py`` under one SDK and records the bytes it sends.

Stdlib only. Each case is delivered as an event; every request the plugin makes is answered
from the case's ``answers`` (in order; ``{}`` when they run out) and recorded as the exact line
written, with the request id made relative to the case's first request (so one case's extra call
does not shift every later case). Notifications the plugin sends during the case are recorded
too. The outcome comes back on stderr from ``wire_plugin.py``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "wire_plugin.py"
_ID = re.compile(rb'^\{"jsonrpc":"2.0","id":(\d+),')


def boot_params(mode: str = "single", capabilities: list[str] | None = None) -> dict[str, Any]:
    return {
        "mode": mode,
        "discord_srv_id": "" if mode == "pool" else "5",
        "plugin_id": "wire_corpus",
        "version": "1.0.0",
        "capabilities": capabilities or [],
    }


class WireRun:
    """One plugin process speaking to this host."""

    def __init__(self, python: str, sdk: str = "yourbot_sdk", *, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MMO_SDK_", "YOURBOT_SDK_"))}
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [python, str(PLUGIN), sdk],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=str(HERE),
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.results: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.rstrip(b"\n"))
        self.lines.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            if text.startswith("RESULT "):
                self.results.put(json.loads(text[7:]))
            else:
                self.stderr.append(text)

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg, separators=(",", ":")) + "\n").encode())
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def collect(self, until: float) -> list[bytes]:
        """Protocol lines written until ``until`` (monotonic), without answering anything."""
        out = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                return out
            if line is None:
                return out
            out.append(line)

    def boot(self, params: dict[str, Any], settle: float = 0.3, started_within: float = 15.0) -> list[bytes]:
        """Wait for the process's first line (the "started" log), boot it, collect what it says meanwhile."""
        first = self.collect_one(time.monotonic() + started_within)
        self.notify("host.boot", params)
        return [*first, *self.collect(time.monotonic() + settle)]

    def collect_one(self, until: float) -> list[bytes]:
        try:
            line = self.lines.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            return []
        return [] if line is None else [line]

    def run_case(self, case: dict[str, Any], *, tenant: dict[str, Any] | None = None, timeout: float = 10.0):
        """Deliver one case; return ``(recorded lines, outcome)``."""
        answers = list(case.get("answers", ()))
        event = {
            "case": case["id"],
            "code": case["code"],
            "interaction_id": case.get("interaction_id", f"ia-{case['id']}"),
            "interaction_type": 2,
        }
        event_type = case.get("event_type", "interaction_create")
        if event_type != "interaction_create":
            event.pop("interaction_id")
        params = {"event_id": f"ev-{case['id']}", "event": event, **(tenant or {})}
        self.notify(f"event.{event_type}", params)
        recorded: list[bytes] = []
        first_id: int | None = None
        deadline = time.monotonic() + timeout
        outcome = None
        while outcome is None or not self._acked(recorded, params["event_id"]):
            try:
                line = self.lines.get(timeout=0.02)
            except queue.Empty:
                line = b""
            if line is None:
                raise AssertionError(f"plugin exited during case {case['id']}: {self.stderr[-15:]}")
            if line:
                match = _ID.match(line)
                if match:  # a request: answer it, record it with a case-relative id
                    rid = int(match.group(1))
                    first_id = rid if first_id is None else first_id
                    line = line[: match.start(1)] + str(rid - first_id + 1).encode() + line[match.end(1) :]
                    answer = answers.pop(0) if answers else {"result": {}}
                    self.send({"jsonrpc": "2.0", "id": rid, **answer})
                recorded.append(line)
            if outcome is None and not self.results.empty():
                outcome = self.results.get_nowait()
            if time.monotonic() > deadline:
                raise AssertionError(f"case {case['id']} did not finish: {recorded[-5:]} {self.stderr[-15:]}")
        return recorded, outcome

    @staticmethod
    def _acked(recorded: list[bytes], event_id: str) -> bool:
        needle = json.dumps(event_id).encode()
        return any(line.startswith(b'{"jsonrpc":"2.0","method":"event.ack"') and needle in line for line in recorded)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.notify("host.shutdown", {})
                self.proc.wait(timeout=5)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def run_corpus(
    python: str,
    cases: list[dict[str, Any]],
    *,
    sdk: str = "yourbot_sdk",
    mode: str = "single",
    capabilities: list[str] | None = None,
) -> dict[str, Any]:
    """Every case through one plugin process: ``{"boot": [...], "cases": {id: {"lines", "outcome"}}}``."""
    run = WireRun(python, sdk)
    try:
        boot = run.boot(boot_params(mode, capabilities))
        tenant = {"discord_srv_id": "77", "capabilities": capabilities or []} if mode == "pool" else None
        out: dict[str, Any] = {}
        for case in cases:
            lines, outcome = run.run_case(case, tenant=tenant)
            out[case["id"]] = {"lines": [line.decode("utf-8", "replace") for line in lines], "outcome": outcome}
        return {"boot": [line.decode("utf-8", "replace") for line in boot], "cases": out}
    finally:
        run.close()


SCENARIO_PLUGIN = HERE / "scenario_plugin.py"


def normalise(line: str) -> str:
    """A recorded line with what may differ between SDKs without meaning anything stripped:
    tracebacks (file paths, frames) are cut to their headline."""
    if '"Traceback' in line or "\\nTraceback" in line:
        msg = json.loads(line)
        text = msg.get("params", {}).get("message", "")
        msg["params"]["message"] = text.split("\n", 1)[0] + " <traceback>"
        return json.dumps(msg, separators=(",", ":"))
    return line


def run_scenarios(
    python: str, steps: list[dict[str, Any]], *, sdk: str = "yourbot_sdk", boot: dict[str, Any] | None = None
) -> dict[str, list[str]]:
    """Run ``scenario_plugin.py`` under one SDK and feed it ``steps`` in order.

    Each step ``{"id", "send": message or [messages], "until": substring, "settle": seconds}`` sends
    its messages, answers every request with ``{"result": {}}``, and records the lines written until
    a line containing ``until`` arrived (then ``settle`` more seconds, default 0.15) or, without
    ``until``, for ``settle`` seconds (default 0.4).
    """
    run = _ScenarioRun(python, sdk)
    try:
        started = [line.decode() for line in run.collect_one(time.monotonic() + 15.0)]
        run.send({"jsonrpc": "2.0", "method": "host.boot", "params": boot or boot_params()})
        out: dict[str, list[str]] = {"boot": started + run.serve(None, 0.4)}
        for step in steps:
            sends = step["send"] if isinstance(step["send"], list) else [step["send"]]
            for msg in sends:
                if isinstance(msg, bytes):
                    run.proc.stdin.write(msg)  # type: ignore[union-attr]
                    run.proc.stdin.flush()  # type: ignore[union-attr]
                else:
                    run.send(msg)
            out[step["id"]] = [normalise(line) for line in run.serve(step.get("until"), step.get("settle"))]
        return out
    finally:
        run.close()


class _ScenarioRun(WireRun):
    def __init__(self, python: str, sdk: str) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MMO_SDK_", "YOURBOT_SDK_"))}
        self.proc = subprocess.Popen(
            [python, str(SCENARIO_PLUGIN), sdk],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=str(HERE),
        )
        self.lines = queue.Queue()
        self.results = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def serve(self, until: str | None, settle: float | None) -> list[str]:
        deadline = time.monotonic() + (10.0 if until else (settle if settle is not None else 0.4))
        out: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                if until:
                    raise AssertionError(f"no line containing {until!r}; got {out[-5:]} {self.stderr[-10:]}") from None
                return out
            if line is None:
                return out
            match = _ID.match(line)
            if match:
                self.send({"jsonrpc": "2.0", "id": int(match.group(1)), "result": {}})
            text = line.decode("utf-8", "replace")
            out.append(text)
            if until and until in text:
                deadline = time.monotonic() + (settle if settle is not None else 0.15)
                until = None
