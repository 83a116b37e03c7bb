"""A small JSON-RPC host for tests: runs a plugin file in a subprocess and speaks the wire protocol over pipes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Message = dict[str, Any]

PLUGIN_HEADER = """\
import json, sys, threading, time
from yourbot_sdk import *
from yourbot_sdk import ActionRow, Button, TextInput
plugin = Plugin()
"""


class PluginProcess:
    """One plugin process. Messages it writes are collected; ``wait_for`` consumes them in order."""

    def __init__(
        self,
        directory: Path,
        body: str,
        *,
        env: dict[str, str] | None = None,
        responder: Callable[[Message], Any] | None = None,
        run: bool = True,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "plugin.py"
        self.path.write_text(PLUGIN_HEADER + body + ("\nplugin.run()\n" if run else ""), encoding="utf-8")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MMO_SDK_")}
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=directory,
            env=full_env,
        )
        self.responder = responder
        self.messages: list[Message] = []
        self.raw: list[bytes] = []  # every protocol line as written, requests the responder answered included
        self.stray: list[str] = []
        self.stderr: list[str] = []
        self._consumed: set[int] = set()
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._eof = False
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- plumbing -------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                self.stray.append(raw.decode("utf-8", "replace").rstrip("\n"))
                continue
            self.raw.append(raw.rstrip(b"\n"))
            if self.responder is not None and "method" in msg and "id" in msg:
                answer = self.responder(msg)
                if answer is not None:
                    self.send(answer)
                    continue
            with self._cond:
                self.messages.append(msg)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def write_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, msg: Message) -> None:
        self.write_raw((json.dumps(msg) + "\n").encode())

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params or {}})

    def request(self, rid: Any, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})

    def boot(
        self,
        *,
        mode: str = "single",
        server: str = "5",
        capabilities: list[str] | None = None,
        host_scheduler: bool | None = True,
    ) -> Message:
        params: dict[str, Any] = {
            "mode": mode,
            "discord_srv_id": server if mode != "pool" else "",
            "plugin_id": "wire_test",
            "version": "1.2.3",
            "capabilities": capabilities if capabilities is not None else ["storage:kv", "discord:send_message"],
        }
        if host_scheduler is not None:
            params["host_scheduler"] = host_scheduler
        self.wait_for(lambda m: m.get("params", {}).get("message") == "SDK plugin process started", timeout=20)
        self.notify("host.boot", params)
        if host_scheduler:  # a maidcore host: the SDK registers its handlers
            return self.wait_for(method="plugin.register")
        return {}

    def event(self, event_type: str, event: dict[str, Any], event_id: Any = "e1", **tenant: Any) -> None:
        self.notify(f"event.{event_type}", {"event_id": event_id, "event": event, "attempt": 1, **tenant})

    def respond(self, request: Message, result: Any) -> None:
        self.send({"jsonrpc": "2.0", "id": request["id"], "result": result})

    def respond_error(self, request: Message, error: Any) -> None:
        self.send({"jsonrpc": "2.0", "id": request["id"], "error": error})

    def wait_for(
        self, pred: Callable[[Message], bool] | None = None, *, method: str | None = None, timeout: float = 10
    ):
        """The first not-yet-consumed message matching; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, msg in enumerate(self.messages):
                    if i in self._consumed:
                        continue
                    if method is not None and msg.get("method") != method:
                        continue
                    if pred is not None and not pred(msg):
                        continue
                    self._consumed.add(i)
                    return msg
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._eof and self.proc.poll() is not None):
                    seen = [m.get("method", m.get("id")) for m in self.messages]
                    raise AssertionError(
                        f"no message (method={method}) within {timeout}s; seen {seen[-20:]}; stderr {self.stderr[-10:]}"
                    )
                self._cond.wait(min(remaining, 0.2))

    def raw_messages(self) -> list[Message]:
        """Every protocol message written so far, in order (answered requests included)."""
        return [json.loads(line) for line in list(self.raw)]

    def logs(self) -> list[str]:
        with self._cond:
            return [m["params"]["message"] for m in self.messages if m.get("method") == "plugin.log"]

    def acked(self) -> list[Any]:
        """Every event id acknowledged so far, in order, from both ack shapes."""
        out: list[Any] = []
        with self._cond:
            for m in self.messages:
                if m.get("method") == "event.ack":
                    p = m["params"]
                    out.extend(p["event_ids"] if "event_ids" in p else [p["event_id"]])
        return out

    def wait_until(self, check: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; stderr {self.stderr[-10:]}")
            time.sleep(0.01)

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def shutdown(self, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, ValueError):
                self.notify("host.shutdown")
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
