"""Supervision of one worker slot: spawn, boot, read, restart with backoff, park, shut down.

A slot is one plugin version in pool mode (serving every server that
installed it) or one install in single mode. The slot outlives its worker
processes: deliveries wait in its window while a replacement starts, and the
un-acked ones are redelivered to it. A slot never sees the runner: it gets the
few callables it needs as ``SlotServices``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from maidcore import metrics
from maidcore.errors import InvalidArgument
from maidcore.layers.sandbox import LineTooLong, Worker, WorkerSpec
from maidcore.records import PluginLog
from maidcore.runner.attribution import CORRELATION, Attribution
from maidcore.runner.deliveries import Delivery, Window
from maidcore.runner.lograte import BURST_SECONDS, LogRate
from maidcore.runner.registrations import Registration
from maidcore.runner.rpc import Connection, ProtocolViolation, RemoteError, decode, error_response, notification
from maidcore.settings import RunnerSettings

if TYPE_CHECKING:
    from maidcore.runner.tenants import Tenant, VersionInfo

log = logging.getLogger("maidcore.runner")
plugin_log = logging.getLogger("maidcore.plugin")

LOG_LEVELS = {"debug": "debug", "info": "info", "warning": "warning", "warn": "warning", "error": "error"}
GARBAGE_LOGGED = 20  # non-protocol stdout lines logged per incarnation before going quiet
GARBAGE_FLOOD_LINES = 1000  # this many within GARBAGE_FLOOD_SECONDS restart the worker
GARBAGE_FLOOD_SECONDS = 10.0
STDERR_WINDOW_SECONDS = 10.0  # runner.stderr_lines_stored counts per window this long
MAX_LOG_CHARS = 4000  # one plugin.log message is cut to this
KILLED_EXIT_SECONDS = 10.0  # past the deadline, a stopping slot's supervisor winds down within this or is cancelled


class WorkerParked(ConnectionError):
    """A host→plugin request found no worker and none will start: the slot is parked after crashes, or shut down."""

    def __init__(self, message: str, *, parked: bool) -> None:
        super().__init__(message)
        self.parked = parked


class WorkerStarting(TimeoutError):
    """A host→plugin request's time ran out while the worker was still starting (spawn queue, boot, restart)."""


class SlotState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    PARKED = "parked"
    STOPPED = "stopped"
    IDLE = "idle"  # no worker: stopped after runner.idle_stop_seconds without work; the next event starts one


@dataclass(frozen=True)
class SlotServices:
    """What a worker slot needs from around it, as callables (the runner provides them)."""

    settings: RunnerSettings
    spawn: Callable[[WorkerSpec], Awaitable[Worker]]  # the sandbox backend starts a worker
    tenant: Callable[[str, str], Tenant | None]  # (server, plugin) -> its install (single mode boots with its grant)
    serve: Callable[[WorkerSlot, Connection, dict[str, Any]], None]  # the host API answers one request
    registered: Callable[[WorkerSlot], None]  # the worker sent plugin.register
    settled: Callable[[WorkerSlot, Delivery, bool], None]  # a delivery ended: acked (True) or dead-lettered
    dead_letter: Callable[[WorkerSlot, Delivery, str, int], None]  # keep an undeliverable event (reason, attempts)
    store_log: Callable[[PluginLog], None]  # a plugin log line, stored in batches
    logged: Callable[[WorkerSlot, str, str, str], None]  # plugin.log observers (server, level, message)
    stderr: Callable[[WorkerSlot, str], None]  # stderr observers
    count: Callable[[str, int], None]  # the runner's counters
    background: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]  # a task the runner awaits on close


class WorkerSlot:
    """One supervised worker and its deliveries."""

    def __init__(
        self,
        services: SlotServices,
        info: VersionInfo,
        *,
        boot_server: str = "",
        registration: Registration | None = None,
    ) -> None:
        """``registration``: what this code announced before (``maidcore.runner.registrations``); with it the
        slot starts idle, and its first worker starts when work arrives."""
        self.services = services
        self.info = info
        self.plugin_id = info.plugin_id
        self.version = info.version
        self.boot_server = boot_server  # "" in pool mode
        self.key = (info.plugin_id, info.version, boot_server)
        settings = services.settings
        self.settings = settings
        self.window = Window(settings.max_in_flight, settings.queue_size, self._send)
        self.attribution = Attribution(self.window, boot_server=boot_server)
        self.window.admits = self.attribution.admits
        self.state = SlotState.IDLE if registration is not None else SlotState.STARTING
        self.ready = False  # the SDK took host.boot: official SDKs drop (and ack) what they get before that
        self.booted = False  # ... and proved it (answered a request, registered), not "delivering anyway"
        self.park_reason = ""
        self.registration = registration  # the last one announced (or remembered): kept while a worker restarts
        self.conn: Connection | None = None
        self.worker: Worker | None = None
        self.restarts = 0
        self.incarnations = 0
        self.garbage_lines = 0
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self._crash_times: deque[float] = deque()
        self._pending_lifecycle: list[tuple[Tenant, str]] = []  # waiting for a running worker
        self._stopping = False
        self._idling = False  # this incarnation ends because it had nothing to do
        self._until_work = registration is not None  # no worker until an event, tick, lifecycle call or request
        self._last_active = time.monotonic()
        self.idle_stops = 0
        self._violation: str | None = None  # set from outside the read loop (the outgoing buffer overflowed)
        self._stray_stops: set[asyncio.Task[Any]] = set()
        self.log_rate = LogRate(settings.log_lines_per_second, settings.log_bytes_per_second)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._exited = asyncio.Event()

    def __repr__(self) -> str:
        return f"<WorkerSlot {self.plugin_id} {self.version}{' @' + self.boot_server if self.boot_server else ''}>"

    # -- what the router and host API ask ------------------------------------------

    @property
    def registered(self) -> bool:
        return self.registration is not None

    @property
    def parked(self) -> bool:
        return self.state is SlotState.PARKED

    def handles(self, event_type: str) -> bool:
        """Whether to deliver this type: every type until (or unless) the SDK registered its handlers."""
        registration = self.registration
        return registration is None or event_type in registration.event_types

    def active_servers(self) -> set[str]:
        return self.attribution.active()

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"slot:{self.key}")

    def unpark(self) -> None:
        """Give a parked slot another run (an admin changed the install)."""
        if self.state is SlotState.PARKED and not self._stopping:
            log.info("%s: unparked", self)
            self.park_reason = ""
            self._crash_times.clear()
            self.state = SlotState.STARTING
            self._task = None
            self._exited.clear()
            self.start()

    async def submit(self, delivery: Delivery) -> bool:
        """Queue a delivery (waits while the queue is full); ``False`` if the slot is parked or stopping."""
        if self.state is SlotState.PARKED or self._stopping:
            return False
        self._last_active = time.monotonic()
        if self.state is SlotState.IDLE:
            self._wakeup.set()  # an idle slot starts its worker again (from the warm pool when the backend has one)
        if len(self.window.waiting) >= self.window.queue_size:
            metrics.BACKPRESSURE_WAITS.labels(self.plugin_id).inc()
        await self.window.submit(delivery)
        if (self.state is SlotState.PARKED or self._stopping) and delivery in self.window.waiting:
            # the slot stopped while this delivery waited for room: keep it as a dead letter, never strand it
            self.window.waiting.remove(delivery)
            reason = self.park_reason or "the plugin version was shut down"
            self.services.dead_letter(self, delivery, reason, delivery.attempt)
        return True

    def offer(self, delivery: Delivery) -> bool | None:
        """Queue a delivery without waiting: ``True`` queued, ``False`` parked or stopping, ``None`` queue full."""
        if self.state is SlotState.PARKED or self._stopping:
            return False
        self._last_active = time.monotonic()
        if self.state is SlotState.IDLE:
            self._wakeup.set()  # as in submit: the router's fast path must wake an idle slot too
        return True if self.window.offer(delivery) else None

    def _send(self, delivery: Delivery) -> bool:
        conn = self.conn
        if conn is None or self.state is not SlotState.RUNNING or conn.closed or not self.ready:
            return False
        self._last_active = time.monotonic()
        params = delivery.params
        params["attempt"] = delivery.attempt
        conn.send(notification(delivery.method, params))
        return True

    def boot_params(self) -> dict[str, Any]:
        if self.boot_server:
            tenant = self.services.tenant(self.boot_server, self.plugin_id)
            caps = sorted(tenant.capabilities) if tenant is not None else []
        else:
            caps = sorted(self.info.capabilities)
        return {
            "mode": "single" if self.boot_server else "pool",
            "discord_srv_id": self.boot_server,
            "plugin_id": self.plugin_id,
            "version": self.version,
            "capabilities": caps,
            "host_scheduler": True,
        }

    async def _supervise(self) -> None:
        consecutive = 0
        settings = self.settings
        try:
            while not self._stopping:
                if self._until_work:  # idle: no worker until something arrives for it
                    self._until_work = False
                    if not self.window.waiting and not self._pending_lifecycle:
                        self.state = SlotState.IDLE
                        await self._wakeup.wait()
                    continue
                started = time.monotonic()
                try:
                    reason = await self._incarnation()
                except Exception as exc:  # never lose the supervisor: whatever happened costs one restart
                    log.exception("%s: supervising the worker failed", self)
                    reason = f"supervisor error: {exc.__class__.__name__}: {exc}"
                    await self._stop_stray_worker()
                if self._stopping:
                    break
                if self._idling:  # stopped for want of work, not a crash: wait for the next event
                    self._idling = False
                    self._until_work = True
                    continue
                self.restarts += 1
                metrics.WORKER_CRASHES.labels(self.plugin_id).inc()
                now = time.monotonic()
                consecutive = 1 if now - started > settings.circuit_breaker_window_seconds else consecutive + 1
                self._crash_times.append(now)
                while self._crash_times and now - self._crash_times[0] > settings.circuit_breaker_window_seconds:
                    self._crash_times.popleft()
                tail = " | ".join(list(self.stderr_tail)[-5:])
                detail = f"{reason}; stderr: {tail}" if tail else reason
                self._redeliver_after_crash(detail)
                if len(self._crash_times) >= settings.circuit_breaker_crashes:
                    self._park(
                        f"crashed {len(self._crash_times)} times within "
                        f"{settings.circuit_breaker_window_seconds:g}s; last exit: {detail}"
                    )
                    return
                delay = min(
                    settings.restart_backoff_initial_seconds * 2 ** (consecutive - 1),
                    settings.restart_backoff_max_seconds,
                )
                log.warning("%s: worker ended (%s); restarting in %.2fs", self, detail, delay)
                metrics.WORKER_RESTARTS.labels(self.plugin_id).inc()
                self.services.store_log(PluginLog("", self.plugin_id, "error", f"worker crashed: {detail}"[:4000]))
                self.state = SlotState.BACKOFF
                self._wakeup.clear()
                if self._stopping:  # stop() may have woken us before the clear
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), delay)
        finally:
            if self.state is not SlotState.PARKED:
                self.state = SlotState.STOPPED
            self._exited.set()

    async def _incarnation(self) -> str:
        """Run one worker process until it ends; return why it ended."""
        self.state = SlotState.STARTING
        self.incarnations += 1
        self.stderr_tail.clear()
        spec = WorkerSpec(
            plugin_id=self.plugin_id,
            version=self.version,
            bundle_dir=self.info.bundle_dir,
            name=f"maidcore-{self.plugin_id}-{self.version}-{uuid.uuid4().hex[:6]}",
            site_dir=self.info.site_dir,
            labels={"maidcore.plugin": self.plugin_id, "maidcore.version": self.version},
        )
        try:
            worker = await self.services.spawn(spec)
        except Exception as exc:
            log.warning("%s: could not start a worker: %s", self, exc)
            return f"could not start: {exc.__class__.__name__}: {exc}"
        if self._stopping:
            await worker.stop(grace=1.0)
            return "stopped before boot"
        metrics.WORKER_STARTS.labels(self.plugin_id).inc()
        self.worker = worker
        self._violation = None
        conn = Connection(
            worker,
            on_broken=lambda exc: None,
            max_pending_bytes=self.settings.max_outgoing_bytes,
            on_overflow=lambda size: self._outgoing_overflow(worker, size),
        )
        self.attribution.registered = False  # this incarnation has not registered yet
        self.ready = self.booted = False
        self.conn = conn
        conn.notify("host.boot", self.boot_params())
        self.state = SlotState.RUNNING
        loop = asyncio.get_running_loop()
        stderr_task = loop.create_task(self._read_stderr(worker))
        sweep_task = loop.create_task(self._sweep_overdue())
        ready_task = loop.create_task(self._await_ready(conn))
        idle_task = (
            loop.create_task(self._stop_when_idle(worker, conn)) if self.settings.idle_stop_seconds > 0 else None
        )
        try:
            violation = await self._read_stdout(worker, conn)
        except Exception as exc:
            log.exception("%s: reading the worker failed", self)
            violation = f"protocol violation: unreadable stdout ({exc.__class__.__name__})"
        finally:
            if not self._idling:
                self.state = SlotState.STARTING
            self.ready = self.booted = False
            self.conn = None
            ready_task.cancel()
            sweep_task.cancel()
            if idle_task is not None:
                idle_task.cancel()
        await conn.close()
        if violation is not None:
            log.warning("%s: %s; stopping the worker", self, violation)
            status = await worker.stop(grace=1.0)
        else:
            try:
                status = await asyncio.wait_for(worker.wait(), timeout=5.0)
            except TimeoutError:
                status = await worker.stop(grace=1.0)
            else:
                await worker.stop(grace=0.5)  # release whatever the backend still holds
        try:
            await asyncio.wait_for(stderr_task, timeout=1.0)
        except (TimeoutError, asyncio.CancelledError):
            stderr_task.cancel()
        self.worker = None
        reason = status.reason or "worker ended"
        return f"{reason} ({violation})" if violation else reason

    async def _stop_when_idle(self, worker: Worker, conn: Connection) -> None:
        """End this incarnation once nothing was delivered, held or pending for ``idle_stop_seconds``."""
        idle = self.settings.idle_stop_seconds
        self._last_active = time.monotonic()
        while True:
            await asyncio.sleep(max(0.05, min(idle / 4, 30.0)))
            busy = len(self.window) or self.attribution.held() or self._pending_lifecycle or self._stopping
            if busy:
                self._last_active = time.monotonic()
            elif time.monotonic() - self._last_active >= idle:
                break
        log.info("%s: idle for %gs; stopping its worker until the next event", self, idle)
        self._idling = True
        self.idle_stops += 1
        self._wakeup.clear()
        self.state = SlotState.IDLE  # deliveries from now on wait for the next worker
        conn.notify("host.shutdown", {})
        await conn.flush(timeout=1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker.close_stdin(), 1.0)

    async def _read_stdout(self, worker: Worker, conn: Connection) -> str | None:
        """Read protocol lines until EOF (``None``) or a violation that needs a restart (its description)."""
        flood: deque[float] = deque()
        garbage_here = 0
        on_message = self._on_message
        while True:
            try:
                line = await worker.readline()
            except LineTooLong as exc:
                return f"protocol violation: {exc}"
            except (OSError, ValueError) as exc:
                return f"stdout unreadable: {exc}"
            if not line:
                return self._violation
            if self._violation is not None:
                return self._violation
            try:
                message = decode(line)
            except ProtocolViolation as exc:
                return f"protocol violation: {exc}"
            if message is not None:
                try:
                    on_message(message, conn)
                except Exception:
                    log.exception("%s: could not process a message", self)
                continue
            if not line.strip():
                continue
            self.garbage_lines += 1
            garbage_here += 1
            if garbage_here <= GARBAGE_LOGGED:
                log.info("%s: ignored non-protocol stdout line: %r", self, line[:200])
            now = time.monotonic()
            flood.append(now)
            while flood and now - flood[0] > GARBAGE_FLOOD_SECONDS:
                flood.popleft()
            if len(flood) >= GARBAGE_FLOOD_LINES:
                return (
                    f"protocol violation: {GARBAGE_FLOOD_LINES} non-protocol stdout lines "
                    f"within {GARBAGE_FLOOD_SECONDS:g}s"
                )

    def _outgoing_overflow(self, worker: Worker, size: int) -> None:
        """The worker left more than ``max_outgoing_bytes`` unread: restart it (its queued bytes are freed)."""
        limit = self.settings.max_outgoing_bytes
        self._violation = f"protocol violation: over {limit} bytes queued for the worker's stdin (it stopped reading)"
        self.services.count("outgoing_overflows", 1)
        task = asyncio.get_running_loop().create_task(worker.stop(grace=0.5))
        self._stray_stops.add(task)
        task.add_done_callback(self._stray_stops.discard)

    async def _stop_stray_worker(self) -> None:
        worker, self.worker, conn, self.conn = self.worker, None, self.conn, None
        self.state = SlotState.STARTING
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
        if worker is not None:
            with contextlib.suppress(Exception):
                await worker.stop(grace=0.5)

    async def _read_stderr(self, worker: Worker) -> None:
        """Stderr is free text: logged, kept for crash reasons, and stored (rate-bounded) as plugin log lines.

        It is read at most ``stderr_lines_per_second`` (burst of ``BURST_SECONDS``): a worker writing
        faster waits on its own full pipe, so a flood costs the host a bounded share of its loop."""
        prefix = f"[{self.plugin_id} {self.version}]"
        per_window = self.settings.stderr_lines_stored
        rate = self.settings.stderr_lines_per_second
        burst = rate * BURST_SECONDS
        window_start, stored, skipped = time.monotonic(), 0, 0
        allowance, refilled = burst, window_start
        while True:
            try:
                line = await worker.stderr_lines()
            except Exception:
                return
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip()
            self.stderr_tail.append(text[:500])
            plugin_log.info("%s %s", prefix, text)
            self.services.stderr(self, text)
            now = time.monotonic()
            if now - window_start > STDERR_WINDOW_SECONDS:
                if skipped:
                    note = f"{skipped} stderr lines not stored (over {per_window} per {STDERR_WINDOW_SECONDS:g}s)"
                    self.services.store_log(PluginLog("", self.plugin_id, "warning", note, {"stream": "stderr"}))
                window_start, stored, skipped = now, 0, 0
            if stored < per_window:
                stored += 1
                self.services.store_log(PluginLog("", self.plugin_id, "debug", text[:4000], {"stream": "stderr"}))
            else:
                skipped += 1
            allowance = min(burst, allowance + (now - refilled) * rate) - 1
            refilled = now
            if allowance < 0:  # over the read rate: the next line waits until it is earned
                await asyncio.sleep(-allowance / rate)

    async def _sweep_overdue(self) -> None:
        """Redeliver events not acked within the ack timeout (contract §10.5.6)."""
        timeout = self.settings.ack_timeout_seconds
        period = max(0.05, min(timeout / 4, 5.0))
        while True:
            await asyncio.sleep(period)
            for delivery in self.window.overdue(time.monotonic(), timeout):
                self.window.settle(delivery.event_id)
                reason = f"not acked within {timeout:g}s"
                if delivery.redeliver:
                    self._retry_or_dead_letter([delivery], reason)
                else:
                    log.warning("%s: %s %s not acked within %gs", self, delivery.method, delivery.event_id, timeout)

    # -- messages from the worker --------------------------------------------------------

    async def _await_ready(self, conn: Connection) -> None:
        """Wait until the SDK took ``host.boot``; only then may deliveries go out.

        The official SDKs boot on a thread of their own and silently ack an event that overtakes it, so
        the first line a worker writes proves nothing. A request is answered only once booted (it is
        ignored before), so ``host.ping`` is asked until some answer comes: any answer, "unknown method"
        included, means booted. ``plugin.register`` (ours) proves it too.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.boot_ready_seconds
        while not self.ready and not conn.closed and loop.time() < deadline:
            try:
                with contextlib.suppress(RemoteError):  # an error answer ("unknown method") is an answer too
                    await conn.request("host.ping", {}, 0.05)
            except TimeoutError:
                continue
            except ConnectionError:
                return
            self._became_ready()
            return
        if not self.ready and not conn.closed:
            self._became_ready(f"host.ping unanswered for {self.settings.boot_ready_seconds:g}s")

    def _became_ready(self, why: str = "") -> None:
        """The worker took ``host.boot``: send what waited for it (lifecycle signals, then deliveries)."""
        if self.state is not SlotState.RUNNING:
            return
        self.booted = self.booted or not why
        if self.ready:
            return
        if why:
            log.info("%s: delivering anyway (%s)", self, why)
        self.ready = True
        pending, self._pending_lifecycle = self._pending_lifecycle, []
        for tenant, lifecycle in pending:
            self.notify_lifecycle(tenant, lifecycle)
        self.window.pump()

    def _on_message(self, message: dict[str, Any], conn: Connection) -> None:
        method = message.get("method")
        if method is None:
            if "id" in message and not conn.resolve(message):
                log.debug("%s: response to unknown request %r", self, message.get("id"))
            return
        if type(method) is not str:
            if message.get("id") is not None:
                conn.send(error_response(message["id"], InvalidArgument("method", "a string").to_rpc()))
            return
        if "id" in message:
            self.services.serve(self, conn, message)
            return
        params = message.get("params")
        if type(params) is not dict:
            params = {}
        if method == "event.ack":
            ids = params.get("event_ids")
            if type(ids) is list:
                for event_id in ids:
                    self._ack(event_id)
            if "event_id" in params:
                self._ack(params["event_id"])
        elif method == "plugin.log":
            self._plugin_log(params)
        elif method == "event.fail":
            delivery = self.window.in_flight.get(str(params.get("event_id")))
            if delivery is not None:
                error = params.get("error") or params.get("reason") or "handler_exception"
                delivery.failure = str(error)[:500]
                self.services.count("failed", 1)
        elif method == "plugin.register":
            if not self.attribution.registered:  # once per incarnation
                self.registration = Registration.parse(params)
                self.attribution.registered = True
                self.services.registered(self)
                self._became_ready()
                self.window.pump()
        else:
            log.debug("%s: ignored notification %s", self, method)

    def _ack(self, event_id: Any) -> None:
        if event_id is None or isinstance(event_id, (dict, list)):
            return
        delivery = self.window.settle(str(event_id))
        if delivery is not None:
            self.services.settled(self, delivery, True)

    def _plugin_log(self, params: dict[str, Any]) -> None:
        level = LOG_LEVELS.get(str(params.get("level", "info")).lower(), "info")
        message = str(params.get("message", ""))[:MAX_LOG_CHARS]
        named = params.get("discord_srv_id")
        active = self.active_servers()
        if self.boot_server:
            server = self.boot_server
        elif isinstance(named, str) and named in active:
            server = named
        elif len(active) == 1:
            server = next(iter(active))
        else:
            server = ""
        extra: dict[str, Any] = {}
        tags = params.get("tags")
        if isinstance(tags, list):
            extra["tags"] = [str(t)[:100] for t in tags[:10]]
        more = params.get("extra")
        if isinstance(more, dict):
            extra.update({str(k)[:100]: str(v)[:500] for k, v in list(more.items())[:20]})
        if params.get("event_id") is not None:
            extra["event_id"] = str(params["event_id"])[:100]
        admitted, report = self.log_rate.admit(server, len(message.encode("utf-8", "replace")), time.monotonic())
        if not admitted:
            self.services.count("log_lines_dropped", 1)
            return
        if report is not None:
            self.services.store_log(PluginLog(server, self.plugin_id, "warning", report, {"stream": "maidcore"}))
        self.services.store_log(PluginLog(server, self.plugin_id, level, message, extra))
        self.services.logged(self, server, level, message)

    # -- crashes, redelivery, parking ----------------------------------------------------

    def _redeliver_after_crash(self, reason: str) -> None:
        taken = self.window.take_in_flight()
        events = [d for d in taken if d.redeliver]
        for delivery in taken:
            if not delivery.redeliver:
                log.info("%s: %s lost with the worker (ticks are at most once)", self, delivery.method)
        self._retry_or_dead_letter(events, f"worker ended: {reason}")

    def _retry_or_dead_letter(self, deliveries: list[Delivery], reason: str) -> None:
        retry = []
        limit = 1 + self.settings.max_redeliveries
        for delivery in deliveries:
            delivery.attempt += 1
            if delivery.attempt > limit:
                self.services.dead_letter(self, delivery, delivery.failure or reason, delivery.attempt - 1)
            else:
                delivery.failure = delivery.failure or reason
                retry.append(delivery)
        self.services.count("redelivered", len(retry))
        self.window.requeue_front(retry)

    def _park(self, reason: str) -> None:
        self.state = SlotState.PARKED
        self.park_reason = reason
        metrics.WORKER_PARKS.labels(self.plugin_id).inc()
        log.error("%s: parked: %s", self, reason)
        self.services.store_log(PluginLog("", self.plugin_id, "error", f"plugin parked: {reason}"[:4000]))
        for delivery in self.window.take_in_flight() + self.window.take_waiting():
            if delivery.redeliver:
                self.services.dead_letter(self, delivery, f"plugin parked: {reason}", delivery.attempt)

    # -- host → plugin requests ------------------------------------------------------------

    async def request(self, server_id: str, method: str, params: dict[str, Any], timeout: float) -> Any:
        """A host→plugin request for one server (``dashboard.<name>``); calls it makes are attributed to it.

        A worker that is not ready yet is waited for, up to ``timeout``: an idle slot starts one now, and a
        start (its turn in the spawn queue, the interpreter and the plugin's imports until the SDK takes
        ``host.boot``, at most ``boot_ready_seconds`` once spawned) or a restart after a crash takes seconds
        on a busy machine. ``WorkerParked`` when no worker will come (parked after crashes, shut down),
        ``WorkerStarting`` when the time ran out first.
        """
        conn = await self._running_connection(timeout)
        attribution = self.attribution
        await attribution.enter_lane(server_id, timeout)  # an SDK naming no server: nothing else may be running
        attribution.hold(server_id)
        try:
            return await conn.request(method, params, timeout)
        except RemoteError:
            raise
        finally:
            attribution.release(server_id)

    async def _running_connection(self, timeout: float) -> Connection:
        """The ready worker's connection, once there is one (see ``request``)."""
        deadline = time.monotonic() + timeout
        while True:
            conn = self.conn
            if conn is not None and self.state is SlotState.RUNNING and self.ready and not conn.closed:
                if self.booted:
                    return conn
                # delivering anyway (boot_ready_seconds passed unanswered): an official SDK ignores a request
                # that overtakes its boot, so this one asks host.ping itself until the SDK proves it booted
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerStarting(f"{self.plugin_id} {self.version}: its SDK did not boot in {timeout:g}s")
                with contextlib.suppress(TimeoutError, ConnectionError):
                    with contextlib.suppress(RemoteError):  # "unknown method" is an answer too
                        await conn.request("host.ping", {}, max(0.05, min(0.5, left)))
                    self._became_ready()
                continue
            if self.state is SlotState.PARKED:
                raise WorkerParked(f"plugin {self.plugin_id} {self.version} is parked: {self.park_reason}", parked=True)
            if self._stopping or self.state is SlotState.STOPPED:
                raise WorkerParked(f"plugin {self.plugin_id} {self.version} is shut down on this node", parked=False)
            if self.state is SlotState.IDLE:
                self._last_active = time.monotonic()
                self._wakeup.set()  # (again: the slot may have gone idle meanwhile)
            if time.monotonic() >= deadline:
                raise WorkerStarting(
                    f"plugin {self.plugin_id} {self.version}: its worker was still {self.state} after {timeout:g}s"
                )
            await asyncio.sleep(0.05)

    def notify_lifecycle(self, tenant: Tenant, lifecycle: str) -> None:
        """``host.install`` / ``host.enable`` / ``host.disable`` / ``host.uninstall`` for one server.

        Sent at once to a ready worker, else right after the next ``host.boot`` is taken (a new version's
        first worker). It carries a correlation id (``_event_id``), which the official SDKs from 0.8.3 send
        back with the calls the hook makes. An SDK that did not register (the official ones) gets it as a
        request, which it answers once the hook returned: the server is held exactly that long (at most
        ``lifecycle_attribution_seconds``); ours names the server in every call and gets a notification.
        """
        conn = self.conn
        if conn is None or self.state is not SlotState.RUNNING or not self.ready:
            self._pending_lifecycle.append((tenant, lifecycle))
            if self.state is SlotState.IDLE:
                self._wakeup.set()
            return
        server = tenant.scope.server_id
        seconds = self.settings.lifecycle_attribution_seconds
        correlation = self.attribution.correlation(server, seconds, install=tenant)
        params = {"lifecycle": lifecycle, CORRELATION: correlation, **tenant.fields}
        if self.registration is not None:
            self.attribution.hold_for(server, seconds, install=tenant)  # the hook's calls name this server
            conn.notify(f"host.{lifecycle}", params)
            return
        self.services.background(self._lifecycle_request(conn, tenant, f"host.{lifecycle}", params, seconds))

    async def _lifecycle_request(
        self, conn: Connection, tenant: Tenant, method: str, params: dict[str, Any], seconds: float
    ) -> None:
        server = tenant.scope.server_id
        attribution = self.attribution
        try:
            await attribution.enter_lane(server, seconds)
        except TimeoutError:
            log.warning("%s: %s for %s waited %gs for other servers' deliveries", self, method, server, seconds)
        attribution.hold(server, install=tenant)
        try:
            await conn.request(method, params, seconds)
        except (TimeoutError, RemoteError, ConnectionError):
            pass  # an SDK that does not answer lifecycle requests: the hold ends with the timeout
        finally:
            attribution.release(server)

    async def deliver_ws(
        self, tenant: Tenant, event: str, params: dict[str, Any], *, hold_seconds: float, max_pending: int
    ) -> bool:
        """An ``event.ws_open`` / ``ws_message`` / ``ws_closed`` for one server, in the order given (at most once).

        Waits while the worker's outbox is full (the socket is read more slowly); ``False`` when no worker
        runs to take it (the frame is lost, as a frame to a restarting worker is).
        """
        conn = self.conn
        if conn is None or self.state is not SlotState.RUNNING or not self.ready or conn.closed:
            self.services.count("ws_frames_dropped", 1)
            return False
        server = tenant.scope.server_id
        await self.attribution.enter_lane(server, self.settings.call_timeout_seconds)
        self.attribution.hold_for(server, hold_seconds)
        conn.notify(f"event.{event}", {**params, **tenant.fields})
        while conn.pending() > max_pending and not conn.closed:
            await asyncio.sleep(0.005)
        return True

    async def stop(self, grace: float, *, deadline: float | None = None) -> None:
        """Graceful shutdown: drain in-flight deliveries, ``host.shutdown`` and EOF, kill what is left at the deadline.

        ``deadline`` (``time.monotonic()``) is the node's when it stops every slot at once (``Runner.close``),
        else ``grace`` seconds from now. Draining and the worker's own shutdown (the SDK finishes running
        handlers and flushes acks) share that time; a worker still there at the deadline is killed at once
        (the backend's ``stop(grace=0)``: SIGTERM and SIGKILL of the process group, or the container killed),
        whatever it does, so a plugin ignoring the stop costs the deadline plus the kill, never more.
        Deliveries still unacked then are kept as dead letters.
        """
        if self._stopping:
            await self._exited.wait()
            return
        self._stopping = True
        self._wakeup.set()
        if self.worker is None and self.state is SlotState.STARTING and self._task is not None:
            # waiting for its turn in the spawn queue: a worker started now would only be stopped again
            # (a node closing right after an eager start had hundreds queued); the backend undoes a start
            # cancelled half-way
            self._task.cancel()
        if deadline is None:
            deadline = time.monotonic() + grace

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        if self.state is SlotState.RUNNING:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.window.wait_idle(), left())
        conn, worker = self.conn, self.worker
        if conn is not None and worker is not None:
            conn.notify("host.shutdown", {})
            await conn.flush(timeout=min(1.0, max(0.1, left())))
            with contextlib.suppress(Exception):  # EOF: SDKs without host.shutdown exit too
                await asyncio.wait_for(worker.close_stdin(), min(1.0, max(0.1, left())))
            try:
                await asyncio.wait_for(worker.wait(), max(0.1, left()))
            except TimeoutError:
                await worker.stop(grace=0)
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._exited.wait()), left() + KILLED_EXIT_SECONDS)
            except TimeoutError:
                self._task.cancel()
        for delivery in self.window.take_in_flight() + self.window.take_waiting():
            if delivery.redeliver:
                self.services.dead_letter(self, delivery, "host shut down before the event was acked", delivery.attempt)
        self.state = SlotState.STOPPED

    def stats(self) -> dict[str, Any]:
        return {
            "plugin_id": self.plugin_id,
            "version": self.version,
            "server_id": self.boot_server or None,
            "state": self.state.value,
            "registered": self.registered,
            "in_flight": len(self.window.in_flight),
            "waiting": len(self.window.waiting),
            "restarts": self.restarts,
            "idle_stops": self.idle_stops,
            "parked_reason": self.park_reason or None,
            "garbage_lines": self.garbage_lines,
            "log_lines_dropped": self.log_rate.dropped,
        }
