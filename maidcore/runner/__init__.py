"""The runner: workers, deliveries and the host API (architecture: "The path of one event").

``Runner(platform)`` is where the runner's parts are wired together; the parts
themselves depend on narrow interfaces, never on the runner or the platform:

- ``Router`` (the platform's ``EventSink``: sources publish to it) gets the
  ``Tenants`` directory, the layers (``RunnerLayers``), interaction ownership
  and the command sync;
- each ``WorkerSlot`` gets ``SlotServices``, the callables it needs;
- ``HostApi`` gets the tenants, the layers and interaction ownership, and for
  the network methods a ``Network`` (host approvals, live installs, the way
  WebSocket frames reach a plugin);
- ``Scheduler`` gets the tenants; ``LogBook`` gets the storage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from maidcore import metrics
from maidcore.bundles import BundleUnavailable
from maidcore.proxy.websocket import CAPABILITY as WS_CAPABILITY
from maidcore.records import DeadLetter, InstallRecord
from maidcore.runner.deliveries import Delivery
from maidcore.runner.hostapi import HostApi
from maidcore.runner.hostapi.network import HostApprovals, Network
from maidcore.runner.logbook import LogBook
from maidcore.runner.plugin_errors import PluginErrorLog
from maidcore.runner.registrations import Registrations
from maidcore.runner.router import Router
from maidcore.runner.scheduler import Scheduler
from maidcore.runner.tenants import Tenant, Tenants, VersionInfo
from maidcore.runner.worker import SlotServices, WorkerSlot
from maidcore.scope import Scope

if TYPE_CHECKING:
    from maidcore.platform import Platform

log = logging.getLogger("maidcore.runner")

__all__ = ["Runner"]

SettledObserver = Callable[[WorkerSlot, Delivery, bool], None]
STARTUP_READS = 16  # plugin versions read (records, bundles) at once while a node loads its installs


class Runner:
    """Routes events to plugin workers and serves their host calls."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.runner
        self.single = self.settings.mode == "single"
        self.counters: Counter[str] = Counter()
        self.scope_counters: dict[Scope, Counter[str]] = {}
        self.tenants = Tenants()
        self.slots: dict[tuple[str, str, str], WorkerSlot] = {}
        self.versions: dict[tuple[str, str], VersionInfo] = {}
        self.registrations = Registrations(lambda: platform.storage.records)
        self.logs = LogBook(lambda: platform.storage, self.settings.log_flush_seconds)
        self.approvals = HostApprovals(lambda: platform.storage.records)
        network = Network(
            layers=platform,
            approvals=self.approvals,
            tenant=self.tenants.get,
            deliver_ws=self.deliver_ws,
            proxy=platform.settings.proxy,
            websocket=platform.settings.websocket,
        )
        self.hostapi = HostApi(
            self.tenants,
            platform,
            platform.interactions,
            timeout=self.settings.call_timeout_seconds,
            network=network,
            ledger=self.logs,
            max_in_flight=self.settings.max_requests_in_flight,
            max_in_flight_per_plugin=self.settings.max_requests_in_flight_per_plugin,
        )
        self.router = Router(
            tenants=self.tenants,
            load_server=self.load_server,
            layers=platform,
            interactions=platform.interactions,
            command_sync=platform.command_sync,
            counters=self.counters,
            count_scope=self.count_scope,
            spawn=self.spawn,
        )
        self.scheduler = Scheduler(self.tenants, self.settings.min_schedule_interval_seconds)
        self.slot_services = SlotServices(
            settings=self.settings,
            spawn=lambda spec: platform.sandbox.spawn(spec),
            tenant=self.tenants.get,
            serve=self.hostapi.handle,
            registered=self.slot_registered,
            settled=self.delivery_settled,
            dead_letter=self.dead_letter,
            store_log=self.logs.add,
            logged=self.observe_log,
            stderr=self.observe_stderr,
            count=self._count,
            background=self.spawn,
        )
        self.settled_observers: list[SettledObserver] = []
        self.log_observers: list[Callable[[WorkerSlot, str, str, str], None]] = []
        self.plugin_errors = PluginErrorLog(self.settings.error_log_burst, self.settings.error_log_window_seconds)
        self.stderr_observers: list[Callable[[WorkerSlot, str], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writes: set[asyncio.Task[Any]] = set()  # dead letters being stored
        self._install_lock = asyncio.Lock()
        self._started = False
        self._loading = False
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Load every install; start a worker only for versions whose registration is not remembered.

        A version that registered before (``maidcore.runner.registrations``) gets an idle slot: its worker
        starts with its first event, tick, lifecycle call or dashboard request.
        """
        if self._started:
            return
        self._started = True
        metrics.RUNNER.bind(self)
        records = await self.platform.storage.records.list_installs()
        versions = sorted({(r.plugin_id, r.version) for r in records})
        reading = asyncio.Semaphore(STARTUP_READS)

        async def read(plugin_id: str, version: str) -> VersionInfo | None:
            async with reading:
                return await self._version_info(plugin_id, version, load_registration=False)

        infos = await asyncio.gather(*(read(*key) for key in versions))
        await self.registrations.load([info.code_digest for info in infos if info is not None])
        self._loading = True  # the handled event types are worked out once, after every install
        try:
            for record in records:
                await self._apply(record.server_id, record.plugin_id, record, announce=False)
        finally:
            self._loading = False
        self._event_types_changed()
        self.scheduler.start()
        self.logs.start()

    async def close(self) -> None:
        """Graceful shutdown: every worker at once gets one deadline to drain, ``host.shutdown``, exit; then logs.

        All slots stop together against the same deadline (``shutdown_grace_seconds`` from now): a worker
        that has not exited by then is killed, so the node closes in about that grace plus the kill
        (and, on Docker, the containers' removal), whatever its number of workers or what one of them does.
        """
        if self._closing:
            return
        self._closing = True
        self.router.closing = True
        await self.scheduler.close()
        grace = self.settings.shutdown_grace_seconds
        deadline = time.monotonic() + grace
        slots = list(self.slots.values())
        await asyncio.gather(*(slot.stop(grace, deadline=deadline) for slot in slots), return_exceptions=True)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5.0)
        await self.logs.close()
        self.plugin_errors.close()

    async def install_changed(self, server_id: str, plugin_id: str) -> None:
        """Re-read one install: grant, upgrade, enable/disable and uninstall take effect at once."""
        record = await self.platform.storage.records.get_install(server_id, plugin_id)
        await self._apply(server_id, plugin_id, record, announce=True)

    async def load_server(self, server_id: str) -> dict[str, Tenant]:
        """The installs of a server this runner has not seen yet (another process may have added them)."""
        async with self._install_lock:
            known = self.tenants.of_server(server_id)
            if known is not None:
                return known
            records = await self.platform.storage.records.list_installs(server_id=server_id)
        for record in records:
            await self._apply(server_id, record.plugin_id, record, announce=False)
        return self.tenants.loaded(server_id)

    async def _version_info(
        self, plugin_id: str, version: str, *, load_registration: bool = True
    ) -> VersionInfo | None:
        key = (plugin_id, version)
        info = self.versions.get(key)
        if info is None:
            record = await self.platform.storage.records.get_version(plugin_id, version)
            if record is None:
                return None
            try:
                bundle_dir = await self.platform.bundles.bundle_dir(record)
                site_dir = await self.platform.bundles.site_dir(record)
            except BundleUnavailable as exc:
                log.error("%s", exc)
                return None
            info = self.versions[key] = VersionInfo.from_record(record, bundle_dir=bundle_dir, site_dir=site_dir)
            if load_registration:
                await self.registrations.load([info.code_digest])
        return info

    def _slot(self, info: VersionInfo, server_id: str) -> WorkerSlot:
        boot_server = server_id if self.single else ""
        key = (info.plugin_id, info.version, boot_server)
        slot = self.slots.get(key)
        if slot is None:
            registration = self.registrations.get(info.code_digest)
            slot = self.slots[key] = WorkerSlot(
                self.slot_services, info, boot_server=boot_server, registration=registration
            )
            slot.start()
            self._event_types_changed()
        return slot

    async def _apply(self, server_id: str, plugin_id: str, record: InstallRecord | None, *, announce: bool) -> None:
        old = self.tenant(server_id, plugin_id)
        if record is None:
            if old is None:
                return
            self.tenants.remove(server_id, plugin_id)
            if announce:
                old.slot.notify_lifecycle(old, "uninstall")
            self.scheduler.tenant_changed(None, old)
            await self._sockets_changed(None, old)
            self._release_if_unused(old.slot)
            return
        info = await self._version_info(plugin_id, record.version)
        if info is None:
            log.error("install of %s on %s names version %s, which is not stored", plugin_id, server_id, record.version)
            return
        slot = self._slot(info, server_id)
        tenant = Tenant.build(record, info, slot)
        if old is not None and old.slot is slot and old.enabled == tenant.enabled:
            tenant.enabled_at = old.enabled_at
        self.tenants.put(tenant)
        if announce:
            if old is None or old.slot is not slot:
                slot.notify_lifecycle(tenant, "install")
            elif old.enabled != tenant.enabled:
                slot.notify_lifecycle(tenant, "enable" if tenant.enabled else "disable")
            if slot.parked:
                slot.unpark()
        self.scheduler.tenant_changed(tenant, old)
        await self._sockets_changed(tenant, old)
        if old is not None and old.slot is not slot:
            self._release_if_unused(old.slot)

    async def _sockets_changed(self, tenant: Tenant | None, old: Tenant | None) -> None:
        """Sockets close on uninstall, disable and a withdrawn grant; an upgrade keeps those its manifest allows."""
        broker = getattr(self.platform, "websocket", None)
        if broker is None or old is None or not broker.sockets(old.scope):
            return
        scope = old.scope
        self.approvals.forget(scope)
        if tenant is None:
            why = "the plugin was uninstalled"
        elif not tenant.enabled:
            why = "the plugin was disabled"
        elif WS_CAPABILITY not in tenant.capabilities:
            why = "proxy:websocket is no longer granted"
        elif tenant.info is not old.info:
            hosts = tenant.info.proxy_domains | await self.approvals.hosts(scope, "ws")
            self.spawn(
                broker.close_scope(
                    scope,
                    f"version {tenant.version} does not allow this host",
                    keep=lambda socket: socket.host in hosts,
                    notify=True,
                )
            )
            return
        else:
            return
        self.spawn(broker.close_scope(scope, why))

    def _release_if_unused(self, slot: WorkerSlot) -> None:
        if self.tenants.uses(slot):
            return
        self.slots.pop(slot.key, None)
        self.spawn(slot.stop(self.settings.shutdown_grace_seconds))
        self._event_types_changed()

    def slot_registered(self, slot: WorkerSlot) -> None:
        """A (re)started worker announced its handlers and schedules (``plugin.register``): remembered for its code."""
        self.scheduler.slot_registered(slot)
        self._event_types_changed()
        if slot.registration is not None:
            self.spawn(self.registrations.remember(slot.info.code_digest, slot.registration))

    def _event_types_changed(self) -> None:
        if not self._loading:
            self.platform.event_types.update(self.event_types())

    def event_types(self) -> frozenset[str]:
        """Types the installed plugins handle, once every worker registered; empty (= all types) before."""
        slots = list(self.slots.values())
        if not slots or any(slot.registration is None for slot in slots):
            return frozenset()
        return frozenset().union(*(slot.registration.event_types for slot in slots if slot.registration))

    async def deliver_ws(self, scope: Scope, event: str, params: dict[str, Any]) -> bool:
        """A WebSocket event for the plugin (``maidcore.proxy.websocket``); ``False``: it takes no more frames."""
        tenant = self.tenant(scope.server_id, scope.plugin_id)
        if tenant is None or not tenant.enabled or WS_CAPABILITY not in tenant.capabilities:
            return False
        settings = self.platform.settings.websocket
        await tenant.slot.deliver_ws(
            tenant, event, params, hold_seconds=settings.attribution_seconds, max_pending=settings.max_pending_frames
        )
        return True

    # -- lookups ---------------------------------------------------------------------

    def tenant(self, server_id: str, plugin_id: str) -> Tenant | None:
        return self.tenants.get(server_id, plugin_id)

    # -- dashboards --------------------------------------------------------------------

    async def call_dashboard(
        self, server_id: str, plugin_id: str, name: str, params: dict[str, Any] | None = None
    ) -> Any:
        """Ask a plugin's ``@on_dashboard`` handler for a widget's data (host→plugin request)."""
        tenant = self.tenant(server_id, plugin_id)
        if tenant is None or not tenant.enabled:
            raise LookupError(f"plugin {plugin_id} is not installed and enabled on server {server_id}")
        method = name if name.startswith("dashboard.") else f"dashboard.{name}"
        return await tenant.slot.request(
            server_id, method, {**(params or {}), **tenant.fields}, self.settings.call_timeout_seconds + 5
        )

    # -- outcomes ----------------------------------------------------------------------

    def delivery_settled(self, slot: WorkerSlot, delivery: Delivery, acked: bool) -> None:
        self.counters["acked" if acked else "dead_lettered"] += 1
        event_type = metrics.event_type_of(delivery.method)
        metrics.child(metrics.EVENTS_DELIVERED, event_type, "acked" if acked else "dead_lettered").inc()
        if acked and delivery.redeliver:
            metrics.child(metrics.DELIVERY_LATENCY, event_type).observe(time.monotonic() - delivery.published_at)
        self.logs.count_metric(delivery.scope, "deliveries_acked" if acked else "dead_letters")
        for observer in self.settled_observers:
            observer(slot, delivery, acked)
        if delivery.handout is not None:
            delivery.handout.done()

    def dead_letter(self, slot: WorkerSlot, delivery: Delivery, error: str, attempts: int) -> None:
        """Keep an event that could not be delivered (listable with ``maidcore dead-letters``)."""
        if delivery.handout is not None and self.router.closing:
            # a cluster's logged event this node is shutting down on: left unacked, the next holder delivers it
            delivery.handout.abandon()
            delivery.handout.done()
            return
        letter = DeadLetter(
            id=None,
            server_id=delivery.scope.server_id,
            plugin_id=delivery.scope.plugin_id,
            version=delivery.version,
            event_id=delivery.event_id,
            event=delivery.event or {},
            attempts=attempts,
            error=error[:2000],
        )
        log.warning("dead letter %s for %s after %d attempts: %s", delivery.event_id, delivery.scope, attempts, error)
        write = self.spawn(self.platform.storage.records.add_dead_letter(letter))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        self.delivery_settled(slot, delivery, False)

    def _count(self, name: str, n: int) -> None:
        self.counters[name] += n

    def count_scope(self, scope: Scope, name: str, n: int = 1) -> None:
        counters = self.scope_counters.get(scope)
        if counters is None:
            counters = self.scope_counters[scope] = Counter()
        counters[name] += n
        self.counters[name] += n
        self.logs.count_metric(scope, name, n)

    def observe_log(self, slot: WorkerSlot, server_id: str, level: str, message: str) -> None:
        if level == "error":
            self.plugin_errors.report(slot.plugin_id, server_id, message)
        for observer in self.log_observers:
            observer(slot, server_id, level, message)

    def observe_stderr(self, slot: WorkerSlot, text: str) -> None:
        for observer in self.stderr_observers:
            observer(slot, text)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background task the runner keeps a reference to (and awaits on close)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("runner background task failed", exc_info=task.exception())

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no delivery is in flight or waiting anywhere and dead letters are stored; ``False`` on timeout."""

        async def idle() -> None:
            while True:
                await asyncio.gather(*(slot.window.wait_idle() for slot in list(self.slots.values())))
                if self.router.delayed or self.router.held:
                    await asyncio.sleep(0.05)
                    continue
                if self._writes:
                    await asyncio.wait(list(self._writes))
                    continue
                if all(not len(slot.window) for slot in self.slots.values()):
                    return

        try:
            await asyncio.wait_for(idle(), timeout)
        except TimeoutError:
            return False
        return True

    def stats(self) -> dict[str, Any]:
        """Workers, in-flight and waiting deliveries, restarts, parked plugins, rate-limit drops per scope."""
        workers = [slot.stats() for slot in self.slots.values()]
        return {
            "mode": self.settings.mode,
            "workers": workers,
            "in_flight": sum(w["in_flight"] for w in workers),
            "waiting": sum(w["waiting"] for w in workers),
            "restarts": sum(w["restarts"] for w in workers),
            "parked": {f"{w['plugin_id']} {w['version']}": w["parked_reason"] for w in workers if w["parked_reason"]},
            "counters": dict(self.counters),
            "rate_limited": {
                str(scope): {
                    "dropped": counters.get("events_dropped", 0),
                    "delayed": counters.get("events_delayed", 0),
                }
                for scope, counters in self.scope_counters.items()
            },
            "host_calls": self.hostapi.calls,
            "host_call_errors": self.hostapi.errors,
            "schedule_ticks": self.scheduler.fired,
        }
