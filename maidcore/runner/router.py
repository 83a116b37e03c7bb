"""The router: which installs get an event, at what rate, with which tenant fields (architecture step 2)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from maidcore.layers.ratelimit import Bucket, over_limit_policy
from maidcore.runner.deliveries import Delivery, new_event_id

if TYPE_CHECKING:
    from maidcore.runner import Runner
    from maidcore.runner.tenants import Tenant

log = logging.getLogger("maidcore.runner.router")


class Router:
    """Implements ``EventSink.publish`` for the runner."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.limiter = runner.platform.limiter
        policy = over_limit_policy(self.limiter)
        self.delay = policy.delay
        self.delay_bound = policy.bound_seconds
        self.delay_cap = max(1, policy.max_waiting)
        self._delayed: dict[Any, int] = {}  # scope -> events waiting out the limit

    def delivery(self, tenant: Tenant, event: dict[str, Any], event_type: str) -> Delivery:
        event_id = new_event_id()
        return Delivery(
            event_id=event_id,
            scope=tenant.scope,
            version=tenant.version,
            method="event." + event_type,
            params={"event_id": event_id, "event": event, "attempt": 1, **tenant.fields},
            event=event,
        )

    async def publish(
        self, event: dict[str, Any], target_plugin: str | None = None, event_type: str | None = None
    ) -> int:
        """Route one event; returns how many deliveries were queued. Waits while a target's queue is full.

        ``event_type`` defaults to ``event["type"]`` (channel events hold the channel type there).
        """
        server = event.get("guild_id")
        if event_type is None:
            event_type = event.get("type")
        if not isinstance(server, str) or not isinstance(event_type, str) or not event_type:
            log.warning(
                "dropping an event without a string type and guild_id: %r",
                {k: event.get(k) for k in ("type", "guild_id")},
            )
            self.runner.counters["invalid_events"] += 1
            return 0
        tenants = self.runner.tenants.get(server)
        if tenants is None:
            tenants = await self.runner.load_server(server)
        if target_plugin is not None:
            candidates = [tenants[target_plugin]] if target_plugin in tenants else []
        else:
            candidates = list(tenants.values())
        queued = 0
        limiter = self.limiter
        for tenant in candidates:
            slot = tenant.slot
            if not tenant.enabled or not slot.handles(event_type):
                continue
            if slot.parked:
                self.runner.counters["dropped_parked"] += 1
                continue
            decision = limiter.hit_nowait(Bucket.EVENTS, tenant.scope, 1)
            if decision is None:
                decision = await limiter.hit(Bucket.EVENTS, tenant.scope, 1)
            if not decision.allowed:
                self._over_limit(tenant, event, event_type, decision.retry_after)
                continue
            if await slot.submit(self.delivery(tenant, event, event_type)):
                queued += 1
        self.runner.counters["published"] += 1
        return queued

    def _over_limit(self, tenant: Tenant, event: dict[str, Any], event_type: str, retry_after: float) -> None:
        scope = tenant.scope
        if self.delay and retry_after <= self.delay_bound and self._delayed.get(scope, 0) < self.delay_cap:
            self._delayed[scope] = self._delayed.get(scope, 0) + 1
            self.runner.count_scope(scope, "events_delayed")
            self.runner.spawn(self._deliver_later(tenant, event, event_type, retry_after))
        else:
            self.runner.count_scope(scope, "events_dropped")

    async def _deliver_later(self, tenant: Tenant, event: dict[str, Any], event_type: str, wait: float) -> None:
        scope = tenant.scope
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.delay_bound
        try:
            while True:
                await asyncio.sleep(max(wait, 0.001))
                decision = await self.limiter.hit(Bucket.EVENTS, scope, 1)
                if decision.allowed:
                    current = self.runner.tenant(scope.server_id, scope.plugin_id)
                    if current is not None and current.enabled:
                        await current.slot.submit(self.delivery(current, event, event_type))
                    return
                if loop.time() + decision.retry_after > deadline:
                    self.runner.count_scope(scope, "events_dropped")
                    return
                wait = decision.retry_after
        finally:
            left = self._delayed.get(scope, 1) - 1
            if left > 0:
                self._delayed[scope] = left
            else:
                self._delayed.pop(scope, None)
