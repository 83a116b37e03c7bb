"""The runtime: JSON-RPC 2.0 over stdio between the plugin process and the host.

This is the only module that touches file descriptors. ``serve()`` moves the protocol to
private descriptors (so a stray ``print()`` lands on stderr), then a reader thread parses host
lines and queues deliveries for a small pool of worker threads; the main thread waits for
``host.shutdown`` or end of input. What goes over the wire — message shapes, key order,
correlation ids, acks, rejection warnings — is what the official SDK 0.10.1 sends (docs/sdk.md).
"""

from __future__ import annotations

import _thread
import itertools
import json
import os
import sys
import threading
import time

from ._context import Context
from ._exceptions import RpcError, RpcTimeoutError, error_from_response, rejection_code

try:
    from _queue import SimpleQueue
except ImportError:  # not CPython
    from queue import SimpleQueue  # type: ignore[assignment]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LINE_LIMIT = 16 * 1024 * 1024
QUEUE_LIMIT = 2048
ACK_BATCH = 512
TRACEBACK_LIMIT = 3900
SHUTDOWN_GRACE = 5.0
OUTPUT_BACKLOG = 4096
REJECTION_WARNINGS_PER_HOUR = 3
REJECTION_TEXT_LIMIT = 300
_LIFECYCLE = frozenset({"host.install", "host.enable", "host.disable", "host.uninstall"})
_WS_KINDS = {"ws_message": "message", "ws_open": "open", "ws_closed": "close"}
_CLOSED = object()
# How hosts write event notifications (compact or json.dumps defaults); anything else takes the general path.
_EVENT_PREFIXES = (b'{"jsonrpc":"2.0","method":"event.', b'{"jsonrpc": "2.0", "method": "event.')
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


class _Boot:
    __slots__ = ("capabilities", "maidcore", "plugin_id", "pool", "server_id", "version")

    def __init__(self, params: dict[str, Any]) -> None:
        self.pool = params.get("mode") == "pool"
        self.server_id = str(params.get("discord_srv_id") or "")
        self.plugin_id = str(params.get("plugin_id") or "")
        self.version = str(params.get("version") or "")
        caps = params.get("capabilities")
        self.capabilities = frozenset(c for c in caps if isinstance(c, str)) if isinstance(caps, list) else frozenset()
        # A maidcore host drives @schedule/@cron itself and wants plugin.register and discord_srv_id.
        self.maidcore = params.get("host_scheduler") is True


class Transport:
    """Protocol state for one plugin process: pending calls, acks, on_ready gates, worker pool."""

    def __init__(self, plugin: Any, in_fd: int, out_fd: int, *, timeout: float = 30.0, threads: int = 4) -> None:
        self._plugin = plugin
        self._in_fd = in_fd
        self._out_fd = out_fd
        self._timeout = timeout
        self._threads = threads
        self._out_cond = threading.Condition(threading.Lock())
        self._out: list[bytes] = []
        self._writing = False
        self._out_waiters = 0
        self._ids = itertools.count(1)
        self._pending: dict[int, list[Any]] = {}
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._acks: list[Any] = []
        self._ack_lock = threading.Lock()
        self._ack_wakeup = threading.Event()
        self._started = itertools.count()  # next() on a count is atomic: no lock on the hot path
        self._finished = itertools.count()
        self._ready: dict[str, threading.Event] = {}
        self._ready_lock = threading.Lock()
        self._delivery = threading.local()  # .corr: correlation params of the delivery this thread handles
        self._rejections: dict[str, list[float]] = {}
        self._rejections_lock = threading.Lock()
        self._boot: _Boot | None = None
        self._server_param = False
        self._stopping = False
        self._closed = False
        self._stop = threading.Event()

    # -- output -----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Write one message. Messages that arrive while another thread is in ``write()`` go out together
        in that thread's next write (fewer syscalls under load); past ``OUTPUT_BACKLOG`` queued messages a
        caller waits, so a host that stops reading cannot make the plugin buffer without bound.
        """
        with self._out_cond:
            self._out.append(data)
            if self._writing:
                if len(self._out) >= OUTPUT_BACKLOG:
                    self._out_waiters += 1
                    while self._writing and len(self._out) >= OUTPUT_BACKLOG:
                        self._out_cond.wait(1.0)
                    self._out_waiters -= 1
                return
            self._writing = True
        fd = self._out_fd
        while True:
            with self._out_cond:
                if self._out_waiters:
                    self._out_cond.notify_all()
                if not self._out:
                    self._writing = False
                    return
                chunk = self._out[0] if len(self._out) == 1 else b"".join(self._out)
                self._out.clear()
            try:
                n = os.write(fd, chunk)
                if n < len(chunk):  # a pipe may take a large write in pieces
                    view = memoryview(chunk)[n:]
                    while view:
                        view = view[os.write(fd, view) :]
            except OSError:
                with self._out_cond:
                    self._out.clear()
                    self._writing = False
                    self._out_cond.notify_all()
                raise

    def _drain_output(self, timeout: float) -> None:
        """Wait (bounded) until messages queued behind another thread's write have gone out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._out_cond:
                if not self._writing and not self._out:
                    return
            time.sleep(0.002)

    def _send(self, msg: dict[str, Any]) -> None:
        self._write((_encode(msg) + "\n").encode("utf-8", "surrogatepass"))

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Fire-and-forget notification; transport failures are swallowed (the host is gone)."""
        try:  # noqa: SIM105 - hot path; contextlib.suppress costs a call per message
            self._send({"jsonrpc": "2.0", "method": method, "params": params})
        except (OSError, ValueError, TypeError):
            pass

    def log(self, level: str, message: str) -> None:
        self.notify("plugin.log", {"level": level, "message": message[:4000]})

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Send a request and block for its answer: the result, or the mapped ``SdkError``.

        Inside a delivery the request carries its correlation (``_event_id`` and, when the host
        named the server, ``_pool_discord_srv_id``). After ``RPC_TIMEOUT`` seconds: ``RpcTimeoutError``.
        """
        corr = getattr(self._delivery, "corr", None)
        if corr is not None:
            params.update(corr)
        rid = next(self._ids)
        data = f'{{"jsonrpc":"2.0","id":{rid},"method":{_encode(method)},"params":{_encode(params)}}}\n'.encode(
            "utf-8", "surrogatepass"
        )
        if self._closed:
            raise _closed(method)
        lock = _thread.allocate_lock()
        lock.acquire()
        slot = [lock, None]
        self._pending[rid] = slot
        try:
            self._write(data)
        except OSError:
            self._pending.pop(rid, None)
            raise _closed(method) from None
        if not lock.acquire(timeout=self._timeout):
            self._pending.pop(rid, None)
            raise RpcTimeoutError(f"RPC timeout: {method} ({self._timeout:g}s)")
        msg = slot[1]
        if msg is _CLOSED:
            raise _closed(method)
        if "error" in msg:
            error = msg["error"]
            self._warn_rejection(method, error)
            raise error_from_response(method, error)
        return msg.get("result")

    def _warn_rejection(self, method: str, error: Any) -> None:
        """Tell the admin the platform refused a call: at most 3 ``plugin.log`` warnings per method per hour."""
        now = time.monotonic()
        with self._rejections_lock:
            recent = [t for t in self._rejections.get(method, ()) if now - t < 3600.0]
            if len(recent) >= REJECTION_WARNINGS_PER_HOUR:
                self._rejections[method] = recent
                return
            recent.append(now)
            self._rejections[method] = recent
            last = len(recent) == REJECTION_WARNINGS_PER_HOUR
        text = error.get("message", "unknown error") if isinstance(error, dict) else error
        message = f"SDK call {method} was rejected by the platform: {str(text)[:REJECTION_TEXT_LIMIT]}"
        if last:
            message += " (further rejections this hour are counted, not logged)"
        extra = {"method": method, "code": rejection_code(error)}
        self.notify("plugin.log", {"level": "warning", "message": message, "tags": ["sdk", "rejected"], "extra": extra})

    # -- acks -------------------------------------------------------------------------------

    def _ack(self, event_id: Any) -> None:
        with self._ack_lock:
            acks = self._acks
            acks.append(event_id)
            n = len(acks)
        if n >= ACK_BATCH or self._queue.empty():
            self._flush_acks()
        else:
            self._ack_wakeup.set()

    def _flush_acks(self) -> None:
        with self._ack_lock:
            if not self._acks:
                return
            ids, self._acks = self._acks, []
        try:
            line = f'{{"jsonrpc":"2.0","method":"event.ack","params":{{"event_ids":{_encode(ids)}}}}}\n'
            self._write(line.encode("utf-8", "surrogatepass"))
        except (OSError, ValueError, TypeError):
            pass  # the host is gone; it redelivers unacknowledged events to the next worker

    def _ack_flusher(self) -> None:
        """Flush acks that wait behind busy workers, a couple of milliseconds later at most."""
        while True:
            self._ack_wakeup.wait()
            self._ack_wakeup.clear()
            time.sleep(0.002)
            self._flush_acks()

    def _auto_ack(self, params: dict[str, Any]) -> None:
        """An event no handler takes: acknowledged at once, in the single-id form."""
        if params.get("event_id") is not None:
            self.notify("event.ack", {"event_id": params["event_id"]})

    # -- reading ----------------------------------------------------------------------------

    def _read_loop(self) -> None:
        stream = open(self._in_fd, "rb", buffering=1 << 16, closefd=False)  # noqa: SIM115 - lives as long as the process
        try:
            while True:
                line = stream.readline(LINE_LIMIT + 1)
                if not line:
                    break
                if len(line) > LINE_LIMIT:
                    while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
                        line = stream.readline(LINE_LIMIT + 1)
                    self._malformed(b"<oversized line>", f"longer than {LINE_LIMIT} bytes")
                    continue
                if line.strip():
                    self._on_line(line)
        except OSError:
            pass
        finally:
            self._on_eof()

    def _on_line(self, line: bytes) -> None:
        """Route one host line. Event notifications for a handled type skip the full parse here."""
        if self._boot is not None and not self._stopping and line.startswith(_EVENT_PREFIXES):
            start = line.index(b"event.") + 6
            end = line.find(b'"', start)
            etype = line[start:end].decode("ascii", "replace") if end > 0 else ""
            if self._plugin._event_handlers.get(etype) and etype != "cron":
                self._enqueue("event." + etype, (self._run_event_line, etype, line))
                return
        self._parse_and_handle(line)

    def _parse_and_handle(self, line: bytes) -> None:
        try:
            msg = _decode(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            self._malformed(line, str(exc))
            return
        if isinstance(msg, dict):
            self._on_message(msg)
        else:
            self._malformed(line, "not a JSON object")

    def _run_event_line(self, etype: str, line: bytes) -> None:
        try:
            msg = _decode(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            self._malformed(line, str(exc))
            return
        params = msg.get("params")
        self._run_event(etype, params if isinstance(params, dict) else {})

    def _malformed(self, line: bytes, reason: str) -> None:
        text = line[:200].decode("utf-8", "replace").rstrip()
        # One write per note: the reader and the event threads both report, and print()'s separate
        # newline write would let their notes run together.
        sys.stderr.write(f"yourbot_sdk: skipped malformed protocol line ({reason}): {text}\n")

    def _on_eof(self) -> None:
        self._closed = True
        pending, self._pending = self._pending, {}
        for slot in pending.values():
            slot[1] = _CLOSED
            slot[0].release()
        self._begin_stop()

    def _begin_stop(self) -> None:
        self._stopping = True
        self._stop.set()

    def _enqueue(self, method: str, item: tuple[Any, ...]) -> None:
        if self._queue.qsize() >= QUEUE_LIMIT:
            self.log("warning", f"Dispatch queue full — dropped {method}")
            return
        self._queue.put(item)

    def _on_message(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if method is None:
            rid = msg.get("id")
            slot = self._pending.pop(rid, None) if not isinstance(rid, (list, dict)) else None
            if slot is not None:
                slot[1] = msg
                slot[0].release()
            return
        if not isinstance(method, str):
            return
        params = msg.get("params")
        if not isinstance(params, dict):
            params = {}
        if method == "host.shutdown":
            self._begin_stop()
            return
        if self._boot is None:
            if method == "host.boot":
                self._on_boot(params)
            return
        if self._stopping:
            return
        if method.startswith("event."):
            self._on_event(method[6:], params)
        elif method.startswith("dashboard."):
            self._enqueue(method, (self._run_dashboard, method[10:], msg.get("id", _CLOSED), params))
        elif method in _LIFECYCLE:
            self._enqueue(method, (self._run_lifecycle, params))
        elif method == "schedule.tick" and self._boot.maidcore:
            self._enqueue(method, (self._run_tick, params.get("name"), params))
        elif "id" in msg and method != "host.boot":
            self.notify_raw({"jsonrpc": "2.0", "id": msg["id"], "error": {"message": f"unknown method: {method}"}})

    def _on_event(self, etype: str, params: dict[str, Any]) -> None:
        plugin = self._plugin
        if etype in ("ack", "fail"):
            return
        if etype in _WS_KINDS:
            self._enqueue("event." + etype, (self._run_ws, _WS_KINDS[etype], params))
        elif plugin._event_handlers.get(etype):
            self._enqueue("event." + etype, (self._run_event, etype, params))
        elif etype == "cron" and (self._boot.pool or self._boot.maidcore):
            event = params.get("event")
            name = event.get("name") if isinstance(event, dict) else None
            if name is None and self._boot.maidcore:  # a maidcore host puts the tick's fields at the top
                name = params.get("name")
            self._enqueue("event.cron", (self._run_tick, name, params))
        else:
            self._auto_ack(params)

    # -- boot and on_ready ----------------------------------------------------------------------

    def _on_boot(self, params: dict[str, Any]) -> None:
        boot = self._boot = _Boot(params)
        self._server_param = boot.maidcore
        if boot.maidcore:
            self.notify("plugin.register", self._plugin._registration())
        ready = None
        if not boot.pool and self._plugin._ready_handlers:
            ready = threading.Event()
            self._ready[boot.server_id] = ready
            threading.Thread(target=self._run_ready, args=({}, ready), daemon=True).start()
        if not boot.pool and not boot.maidcore:
            for fn, interval in self._plugin._scheduled_tasks:
                threading.Thread(target=self._fallback_schedule, args=(fn, interval, ready), daemon=True).start()
            for fn, spec in self._plugin._cron_tasks:
                threading.Thread(target=self._fallback_cron, args=(fn, spec, ready), daemon=True).start()

    def _run_ready(self, params: dict[str, Any], done: threading.Event) -> None:
        try:
            ctx = self._context(params)
            for handler in list(self._plugin._ready_handlers):
                try:
                    handler(ctx)
                except BaseException:
                    self.log("error", "on_ready error: " + _tb(user=True))
        finally:
            done.set()

    def _ensure_ready(self, server_id: str, params: dict[str, Any]) -> None:
        if not self._plugin._ready_handlers or not server_id:
            return
        gate = self._ready.get(server_id)
        if gate is None:
            with self._ready_lock:
                gate = self._ready.get(server_id)
                if gate is None:
                    gate = self._ready[server_id] = threading.Event()
                    owner = True
                else:
                    owner = False
            if owner:
                self._run_ready(params, gate)
                return
        gate.wait()

    # -- deliveries ---------------------------------------------------------------------------

    def _context(self, params: dict[str, Any], request_id: str = "", *, named: bool = False) -> Context:
        """The ctx of a delivery. In pool mode the delivery names the server (capabilities: what it grants
        within the boot grant); a single-server process acts for its boot server, except that lifecycle
        and dashboard requests (``named=True``) may name another, as with the official SDK."""
        boot = self._boot
        assert boot is not None
        if not boot.pool and not named:
            return Context._build(
                self, boot.server_id, boot.plugin_id, boot.version, set(boot.capabilities), request_id
            )
        caps = params.get("capabilities")
        capabilities = set(boot.capabilities)
        if isinstance(caps, list):
            capabilities.intersection_update(caps)
        server = params.get("discord_srv_id")
        plugin_id = params.get("plugin_id")
        version = params.get("version")
        return Context._build(
            self,
            str(server) if server else boot.server_id,
            str(plugin_id) if plugin_id else boot.plugin_id,
            str(version) if version else boot.version,
            capabilities,
            request_id,
        )

    def _correlation(self, params: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        corr: dict[str, Any] = {}
        if params.get("event_id") is not None:
            corr["_event_id"] = params["event_id"]
        server = params.get("discord_srv_id")
        if server:
            corr["_pool_discord_srv_id"] = server
        if self._server_param:
            corr["discord_srv_id"] = ctx.server_id
        return corr or None

    def _finish(self, event_id: Any, failure: BaseException | None) -> None:
        if event_id is None:
            return
        if failure is not None:
            self.notify(
                "event.fail",
                {
                    "event_id": event_id,
                    "reason": "handler_exception",
                    "error": f"{type(failure).__name__}: {str(failure)[:500]}",
                },
            )
        self._ack(event_id)

    def _run_event(self, etype: str, params: dict[str, Any]) -> None:
        event = params.get("event")
        if not isinstance(event, dict):
            event = {}
        event_id = params.get("event_id")
        request_id = str(event.get("interaction_id") or "") if etype == "interaction_create" else ""
        ctx = self._context(params, request_id)
        local = self._delivery
        local.corr = self._correlation(params, ctx)
        failure = None
        try:
            if self._boot.pool:  # type: ignore[union-attr]
                self._ensure_ready(ctx.server_id, params)
            else:
                self._wait_boot_ready()
            for handler in self._plugin._event_handlers.get(etype, ()):
                try:
                    handler(ctx, event)
                except BaseException as exc:
                    failure = failure or exc
                    self.log("error", f"Event handler error ({etype}):\n" + _tb(user=True))
        finally:
            local.corr = None
        self._finish(event_id, failure)

    def _wait_boot_ready(self) -> None:
        gate = self._ready.get(self._boot.server_id) if self._ready else None  # type: ignore[union-attr]
        if gate is not None:
            gate.wait()

    def _run_tick(self, name: Any, params: dict[str, Any]) -> None:
        """A host-driven ``@cron`` (or, from a maidcore host, ``@schedule``) firing."""
        event_id = params.get("event_id")
        fn = self._plugin._task(name) if isinstance(name, str) else None
        if fn is None:
            self._finish(event_id, None)
            return
        ctx = self._context(params)
        local = self._delivery
        local.corr = self._correlation(params, ctx)
        failure = None
        try:
            if self._boot.pool:  # type: ignore[union-attr]
                self._ensure_ready(ctx.server_id, params)
            else:
                self._wait_boot_ready()
            fn(ctx)
        except BaseException as exc:
            failure = exc
            self.log("error", f"Scheduled task error ({name}):\n" + _tb(user=True))
        finally:
            local.corr = None
        self._finish(event_id, failure)

    def _run_ws(self, kind: str, params: dict[str, Any]) -> None:
        """Frames and connection changes of a platform-held WebSocket; never acknowledged."""
        name = params.get("name")
        if not isinstance(name, str):
            return
        ctx = self._context(params)
        if self._server_param:
            self._delivery.corr = {"discord_srv_id": ctx.server_id}
        try:
            for key in self._plugin._match_ws_keys(name):
                for fn in list(self._plugin._ws_handlers[key].get(kind, ())):
                    try:
                        if kind == "open":
                            fn(ctx)
                        elif kind == "close":
                            fn(ctx, {"reason": params.get("reason"), "will_reconnect": params.get("will_reconnect")})
                        else:
                            fn(
                                ctx,
                                {
                                    "name": name,
                                    "conn_id": params.get("conn_id"),
                                    "data": params.get("data"),
                                    "binary": bool(params.get("binary", False)),
                                    "reason": params.get("reason"),
                                    "will_reconnect": params.get("will_reconnect"),
                                },
                            )
                    except BaseException:
                        self.log("error", f"ws handler error ({kind}/{name}):\n" + _tb(user=True))
        finally:
            self._delivery.corr = None

    def _run_lifecycle(self, params: dict[str, Any]) -> None:
        hook = params.get("lifecycle") or params.get("type")
        handler = self._plugin._lifecycle_handlers.get(hook) if isinstance(hook, str) else None
        if handler is None:
            return
        ctx = self._context(params, named=True)
        if self._server_param:
            self._delivery.corr = {"discord_srv_id": ctx.server_id}
        try:
            handler(ctx)
        except BaseException:
            self.log("error", f"Lifecycle handler error ({hook}):\n" + _tb(user=True))
        finally:
            self._delivery.corr = None

    def _run_dashboard(self, name: str, rid: Any, params: dict[str, Any]) -> None:
        handler = self._plugin._dashboard(name)
        if handler is None:
            if rid is not _CLOSED:
                error = {"message": f"unknown method: dashboard.{name}"}
                self.notify_raw({"jsonrpc": "2.0", "id": rid, "error": error})
            return
        ctx = self._context(params, named=True)
        if self._server_param:
            self._delivery.corr = {"discord_srv_id": ctx.server_id}
        try:
            result = handler(ctx, params)
        except BaseException as exc:
            self.log("error", f"Dashboard handler error ({name}):\n" + _tb(user=True))
            result = {"error": str(exc)}
        finally:
            self._delivery.corr = None
        if rid is _CLOSED:  # a notification: nobody waits for the answer
            return
        try:
            line = _encode({"jsonrpc": "2.0", "id": rid, "result": result})
        except (TypeError, ValueError) as exc:
            line = _encode({"jsonrpc": "2.0", "id": rid, "error": {"message": str(exc)}})
        try:  # noqa: SIM105
            self._write((line + "\n").encode("utf-8", "surrogatepass"))
        except OSError:
            pass

    def notify_raw(self, msg: dict[str, Any]) -> None:
        try:  # noqa: SIM105 - contextlib is not imported in the plugin process
            self._send(msg)
        except (OSError, ValueError, TypeError):
            pass

    # -- in-process scheduling (hosts that do not drive @schedule/@cron) --------------------------

    def _fallback_schedule(self, fn: Any, interval: Any, ready: threading.Event | None) -> None:
        if ready is not None:
            ready.wait()
        try:
            period = max(1.0, float(interval))
        except (TypeError, ValueError):
            return
        while not self._stop.wait(period):
            self._run_fallback(fn)

    def _fallback_cron(self, fn: Any, spec: Any, ready: threading.Event | None) -> None:
        import datetime as _dt

        if ready is not None:
            ready.wait()
        if not spec.can_fire():
            return
        while True:
            if self._stop.wait(spec.wait_seconds(_dt.datetime.now(_dt.timezone.utc))):  # noqa: UP017 - Python 3.10
                return
            now = _dt.datetime.now(_dt.timezone.utc)  # noqa: UP017 - Python 3.10
            if spec.matches(now):
                self._run_fallback(fn)
                if self._stop.wait(60.0):
                    return

    def _run_fallback(self, fn: Any) -> None:
        ctx = self._context({})
        try:
            fn(ctx)
        except BaseException:
            self.log("error", f"Scheduled task error ({getattr(fn, '__name__', '?')}):\n" + _tb(user=True))

    # -- workers and lifetime ---------------------------------------------------------------------

    def _active(self) -> int:
        """Deliveries started but not finished (reads the counters without advancing them)."""
        return self._started.__reduce__()[1][0] - self._finished.__reduce__()[1][0]

    def _worker(self) -> None:
        get = self._queue.get
        started, finished = self._started, self._finished
        while True:
            item = get()
            next(started)
            try:
                if not self._stopping:
                    item[0](*item[1:])
            except BaseException:
                self.log("error", "Dispatch error: " + _tb())
            finally:
                next(finished)

    def serve_forever(self) -> int:
        """Start the reader, workers and ack flusher; return the exit status after shutdown or EOF."""
        self.log("info", "SDK plugin process started")
        for i in range(self._threads):
            threading.Thread(target=self._worker, name=f"yourbot-dispatch-{i}", daemon=True).start()
        threading.Thread(target=self._ack_flusher, name="yourbot-acks", daemon=True).start()
        threading.Thread(target=self._read_loop, name="yourbot-reader", daemon=True).start()
        self._stop.wait()
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while self._active() and time.monotonic() < deadline:
            time.sleep(0.005)
        self._flush_acks()
        self._drain_output(2.0)
        return 0


def _closed(method: str) -> RpcError:
    exc = RpcError(f"RPC error ({method}): host connection closed")
    exc.method = method
    return exc


def _tb(*, user: bool = False) -> str:
    """The current exception's traceback, cut to 3900 characters.

    ``user=True`` drops the SDK frame that called the plugin's function, so admins see the
    plugin's code first.
    """
    import traceback  # only when something failed: keeps start-up fast

    exc = sys.exc_info()[1]
    if exc is None:
        return ""
    tb = exc.__traceback__
    if user and tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))[-TRACEBACK_LIMIT:]


def _env_number(names: tuple[str, ...], default: float) -> float:
    for name in names:
        value = os.environ.get(name, "")
        if value:
            try:
                return float(value)
            except ValueError:
                return default
    return default


def serve(plugin: Any) -> None:
    """Protect the protocol stream, serve the host, and exit the process with status 0."""
    timeout = _env_number(("YOURBOT_SDK_RPC_TIMEOUT", "MMO_SDK_RPC_TIMEOUT"), 30.0)
    threads = int(max(1, min(32, _env_number(("YOURBOT_SDK_DISPATCH_THREADS", "MMO_SDK_DISPATCH_THREADS"), 4))))
    try:  # noqa: SIM105 - contextlib is not imported in the plugin process
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        pass
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    in_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    code = Transport(plugin, in_fd, out_fd, timeout=timeout, threads=threads).serve_forever()
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
