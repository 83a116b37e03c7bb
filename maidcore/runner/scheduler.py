"""Host-driven ``@schedule`` ticks and ``@cron`` firings (contract §3.3).

``schedule.tick`` goes to every enabled server of a registered worker every
``max(n, 60)`` seconds, the first one a period after the server was enabled
or the worker registered; ``event.cron`` fires each UTC minute a manifest
entry matches. Both are at most once per (server, name, slot): a missed slot
is never replayed, and a tick that cannot be queued right away is skipped.

Manifest cron reaches every SDK line in the shape it reads: the tick's fields
at the top level (ours) and under ``event`` (the official SDKs from 0.8.4,
which run the ``@plugin.cron`` function of that name, or ``on_event("cron")``).
A single-mode worker that never registered runs its own cron threads (the
official SDKs do in single mode), so the host sends it none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from yourbot_sdk.spec.cron import CronSpec

from maidcore.runner.deliveries import Delivery, new_event_id

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from maidcore.runner.tenants import Tenant, Tenants
    from maidcore.runner.worker import WorkerSlot

log = logging.getLogger("maidcore.runner.scheduler")

Key = tuple[str, str, str]  # (server, plugin, task name)


class Scheduler:
    """Ticks and cron firings for the ``tenants`` the runner serves."""

    def __init__(self, tenants: Tenants, min_interval: float) -> None:
        self.tenants = tenants
        self.min_interval = min_interval
        self._due: dict[Key, tuple[float, float]] = {}  # key -> (next due monotonic, period)
        self._cron_fired: dict[Key, datetime] = {}  # key -> last fired minute
        self._cron_specs: dict[str, CronSpec | None] = {}
        self._task: asyncio.Task[None] | None = None
        self.fired = 0
        self.skipped = 0
        #: In a cluster: ``once(key, ttl)`` is True on one node only, so each (server, schedule, period) fires once.
        self.once: Callable[[str, float], Awaitable[bool]] | None = None
        self._claims: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="scheduler")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- bookkeeping -------------------------------------------------------------------

    def _period(self, interval: int) -> float:
        return max(float(interval), self.min_interval)

    def slot_registered(self, slot: WorkerSlot) -> None:
        """A (re)started worker announced its schedules: a new one first ticks one period from now.

        A schedule already counting (the same name and period, e.g. remembered before its worker
        started, or a worker woken after an idle stop) keeps its time: restarts never postpone it.
        """
        now = time.monotonic()
        registration = slot.registration
        if registration is None:
            return
        for tenant in self.tenants.enabled_on(slot):
            server = tenant.scope.server_id
            for key in [k for k in self._due if k[0] == server and k[1] == slot.plugin_id]:
                if key[2] not in registration.schedules:
                    del self._due[key]
            for name, interval in registration.schedules.items():
                period = self._period(interval)
                key = (server, slot.plugin_id, name)
                due = self._due.get(key)
                if due is None or due[1] != period:
                    self._due[key] = (now + period, period)

    def tenant_changed(self, tenant: Tenant | None, old: Tenant | None) -> None:
        """An install was added, enabled, disabled, upgraded or removed."""
        if old is not None and (tenant is None or not tenant.enabled or tenant.slot is not old.slot):
            self.forget(old.scope.server_id, old.scope.plugin_id)
        if tenant is None or not tenant.enabled:
            return
        registration = tenant.slot.registration
        if registration is None:
            return
        now = time.monotonic()
        for name, interval in registration.schedules.items():
            key = (tenant.scope.server_id, tenant.scope.plugin_id, name)
            if key not in self._due:
                period = self._period(interval)
                self._due[key] = (now + period, period)

    def forget(self, server_id: str, plugin_id: str) -> None:
        for key in [k for k in self._due if k[0] == server_id and k[1] == plugin_id]:
            del self._due[key]

    # -- firing --------------------------------------------------------------------------

    def _fire_once(self, key: str, ttl: float, tenant: Tenant, method: str, params: dict[str, Any]) -> bool:
        """``_fire``, on one node of a cluster only: the first to claim ``key`` fires."""
        if self.once is None:
            return self._fire(tenant, method, params)
        task = asyncio.get_running_loop().create_task(self._claim_and_fire(key, ttl, tenant, method, params))
        self._claims.add(task)
        task.add_done_callback(self._claims.discard)
        return True

    async def _claim_and_fire(self, key: str, ttl: float, tenant: Tenant, method: str, params: dict[str, Any]) -> None:
        assert self.once is not None
        try:
            mine = await self.once(key, ttl)
        except Exception as exc:  # cannot tell whether another node fired it: skip (ticks are at most once)
            log.warning("%s: %s %s skipped, the cluster could not be asked: %s", tenant.scope, method, key, exc)
            self.skipped += 1
            return
        if mine:
            self._fire(tenant, method, params)

    def _fire(self, tenant: Tenant, method: str, params: dict[str, Any]) -> bool:
        slot = tenant.slot
        if slot.parked:
            return False
        event_id = new_event_id()
        delivery = Delivery(
            event_id=event_id,
            scope=tenant.scope,
            version=tenant.version,
            method=method,
            params={**params, "event_id": event_id, **tenant.fields},
            redeliver=False,
        )
        if not slot.offer(delivery):  # an idle slot starts its worker for the tick
            self.skipped += 1
            log.warning(
                "%s: %s %s skipped, the worker's queue is full (or it is stopping)",
                tenant.scope,
                method,
                params.get("name"),
            )
            return False
        self.fired += 1
        return True

    def run_schedules(self, now: float | None = None) -> int:
        """Fire every schedule tick due at monotonic ``now``; returns how many were sent."""
        now = time.monotonic() if now is None else now
        sent = 0
        scheduled_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        for key, (due, period) in list(self._due.items()):
            if due > now:
                continue
            missed = math.floor((now - due) / period)
            self._due[key] = (due + (missed + 1) * period, period)
            tenant = self.tenants.get(key[0], key[1])
            if tenant is None or not tenant.enabled:
                del self._due[key]
                continue
            # periods counted on the wall clock, so every node names the same period the same way
            once_key = f"schedule:{key[0]}:{key[1]}:{key[2]}:{period:g}:{math.floor(time.time() / period)}"
            params = {"name": key[2], "scheduled_at": scheduled_at}
            if self._fire_once(once_key, period * 2, tenant, "schedule.tick", params):
                sent += 1
        return sent

    def run_cron(self, minute: datetime) -> int:
        """Fire every manifest cron entry matching the UTC ``minute``; at most once per (server, name, minute)."""
        minute = minute.astimezone(UTC).replace(second=0, microsecond=0)
        scheduled_at = minute.isoformat().replace("+00:00", "Z")
        sent = 0
        for tenant in self.tenants.all():
            if not tenant.enabled or not tenant.info.crons:
                continue
            if tenant.slot.registration is None and tenant.slot.boot_server:
                continue  # a single-mode official SDK runs its manifest's cron itself
            for name, spec_text in tenant.info.crons:
                spec = self._spec(spec_text)
                if spec is None or not spec.matches(minute):
                    continue
                key = (tenant.scope.server_id, tenant.scope.plugin_id, name)
                if self._cron_fired.get(key) == minute:
                    continue
                self._cron_fired[key] = minute
                once_key = f"cron:{key[0]}:{key[1]}:{name}:{scheduled_at}"
                tick = {"name": name, "spec": spec_text, "scheduled_at": scheduled_at}
                event = {"type": "cron", "event_type": "cron", "guild_id": tenant.scope.server_id, **tick}
                if self._fire_once(once_key, 180.0, tenant, "event.cron", {**tick, "event": event}):
                    sent += 1
        return sent

    def _spec(self, text: str) -> CronSpec | None:
        if text not in self._cron_specs:
            try:
                self._cron_specs[text] = CronSpec(text)
            except ValueError as exc:
                log.warning("ignoring manifest cron spec %r: %s", text, exc)
                self._cron_specs[text] = None
        return self._cron_specs[text]

    async def _loop(self) -> None:
        last_minute: datetime | None = None
        while True:
            try:
                self.run_schedules()
                minute = datetime.now(UTC).replace(second=0, microsecond=0)
                if minute != last_minute:
                    last_minute = minute
                    self.run_cron(minute)
            except Exception:
                log.exception("scheduler pass failed")
            next_due = min((due for due, _ in self._due.values()), default=math.inf)
            await asyncio.sleep(min(1.0, max(0.01, next_due - time.monotonic())))
