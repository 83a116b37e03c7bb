"""The router: which installs get an event, at what rate, with which tenant fields (architecture step 2).

It is the platform's ``EventSink``: event sources publish to it, tell it which
servers they can act in (the command sync takes it from there) and report the
messages they create (interaction ownership records them).

``publish`` never waits on a plugin: a delivery goes into each target's queue
at once, and a target whose queue is full gets it from a background task that
waits for room there (at most ``runner.max_waiting_publishes`` per worker; past
that the event is dropped for that plugin and counted as
``events_dropped_queue_full``). One stuck plugin delays only itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from maidcore import metrics
from maidcore.layers.events import InteractionOrigin
from maidcore.layers.ratelimit import Bucket, over_limit_policy
from maidcore.runner.deliveries import Delivery, new_event_id
from maidcore.scope import Scope

if TYPE_CHECKING:
    from maidcore.cluster.durable import Handout
    from maidcore.command_sync import CommandSync
    from maidcore.interactions import InteractionOwners
    from maidcore.runner.layers import RunnerLayers
    from maidcore.runner.tenants import Tenant, Tenants
    from maidcore.runner.worker import WorkerSlot

log = logging.getLogger("maidcore.runner.router")


class Router:
    """The ``EventSink`` of the platform."""

    def __init__(
        self,
        *,
        tenants: Tenants,
        load_server: Callable[[str], Awaitable[dict[str, Tenant]]],
        layers: RunnerLayers,
        interactions: InteractionOwners,
        command_sync: CommandSync,
        counters: Counter[str],
        count_scope: Callable[[Scope, str], None],
        spawn: Callable[[Coroutine[Any, Any, Any]], Any],
    ) -> None:
        self.tenants = tenants
        self.load_server = load_server  # read a server's installs the first time one of its events arrives
        self.interactions = interactions
        self.command_sync = command_sync
        self.counters = counters
        self.count_scope = count_scope
        self.spawn = spawn
        self.closing = False
        self.limiter = layers.limiter
        policy = over_limit_policy(self.limiter)
        self.delay = policy.delay
        self.delay_bound = policy.bound_seconds
        self.delay_cap = max(1, policy.max_waiting)
        self.delayed: dict[Scope, int] = {}  # scope -> events waiting out the limit
        self.held: Counter[WorkerSlot] = Counter()  # slot -> deliveries waiting for room in its full queue
        # slot -> those deliveries in arrival order; one task per slot hands them over as room frees
        self._backlogs: dict[WorkerSlot, deque[tuple[Delivery, Handout | None]]] = {}

    def delivery(
        self, tenant: Tenant, event: dict[str, Any], event_type: str, handout: Handout | None = None
    ) -> Delivery:
        """One delivery; its ``event_id`` is also the payload's ``delivery_id``, the same on every redelivery."""
        if handout is None:
            event_id, attempt = new_event_id(), 1
        else:  # a cluster's logged event: the id and attempt count hold across nodes
            event_id, attempt = handout.delivery_id, handout.attempt
            handout.hold()
        event = {**event, "delivery_id": event_id}
        return Delivery(
            event_id=event_id,
            scope=tenant.scope,
            version=tenant.version,
            method="event." + event_type,
            params={"event_id": event_id, "event": event, "attempt": attempt, **tenant.fields},
            event=event,
            attempt=attempt,
            handout=handout,
        )

    async def server_available(self, server_id: str) -> None:
        await self.command_sync.server_available(server_id)

    def message_created(self, scope: Scope, message_id: str) -> None:
        self.interactions.message_created(scope, message_id)

    async def publish(
        self,
        event: dict[str, Any],
        *,
        event_type: str | None = None,
        target_plugin: str | None = None,
        origin: InteractionOrigin | None = None,
        handout: Handout | None = None,
        source_key: str | None = None,
    ) -> int:
        """Route one event; returns how many deliveries were queued (or wait for room in a full queue).

        ``event_type`` defaults to ``event["type"]`` (channel events hold the channel type there). An
        interaction goes to its owner only (``maidcore.interactions``) unless ``target_plugin`` names one.
        ``handout`` (a cluster's logged event, ``maidcore.cluster.durable``) is told of every delivery made.
        ``source_key`` matters only to a cluster's log (``DurableSink``): one process never sees a dispatch twice.
        """
        if self.closing:
            self.counters["dropped_closing"] += 1
            return 0
        server = event.get("guild_id")
        if event_type is None:
            event_type = event.get("type")
        if not isinstance(server, str) or not isinstance(event_type, str) or not event_type:
            log.warning(
                "dropping an event without a string type and guild_id: %r",
                {k: event.get(k) for k in ("type", "guild_id")},
            )
            self.counters["invalid_events"] += 1
            return 0
        metrics.child(metrics.EVENTS_RECEIVED, event_type).inc()
        if event_type == "interaction_create":
            target_plugin = await self.interactions.route(event, target_plugin=target_plugin, origin=origin)
            if target_plugin is None:
                log.warning(
                    "no installed plugin owns interaction %s (type %s, %s) in server %s; not delivered",
                    event.get("interaction_id"),
                    event.get("interaction_type"),
                    event.get("command_name") or event.get("custom_id"),
                    server,
                )
                self.counters["unowned_interactions"] += 1
                return 0
        tenants = self.tenants.of_server(server)
        if tenants is None:
            tenants = await self.load_server(server)
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
                self.counters["dropped_parked"] += 1
                continue
            decision = limiter.hit_nowait(Bucket.EVENTS, tenant.scope, 1)
            if decision is None:
                decision = await limiter.hit(Bucket.EVENTS, tenant.scope, 1)
            if not decision.allowed:
                self._over_limit(tenant, event, event_type, decision.retry_after, handout)
                continue
            delivery = self.delivery(tenant, event, event_type, handout)
            accepted = slot.offer(delivery)
            if accepted is None:
                accepted = self._hold(tenant, delivery, handout)
            if accepted:
                queued += 1
            elif handout is not None:
                handout.done()
        if queued:
            metrics.child(metrics.EVENTS_QUEUED, event_type).inc(queued)
        self.counters["published"] += 1
        return queued

    def _hold(self, tenant: Tenant, delivery: Delivery, handout: Handout | None) -> bool:
        """Wait for room in a full queue in the background; ``False`` (dropped, counted) past the bound.

        The held deliveries of a slot wait in one line served by one task (a task per
        delivery cost a task, a future and a wake-up each: with a burst queued, most of
        the router's time).
        """
        slot = tenant.slot
        if self.held[slot] >= slot.settings.max_waiting_publishes:
            self.count_scope(tenant.scope, "events_dropped_queue_full")
            return False
        self.held[slot] += 1
        backlog = self._backlogs.get(slot)
        if backlog is None:
            backlog = self._backlogs[slot] = deque()
            self.spawn(self._wait_for_room(slot, backlog))
        backlog.append((delivery, handout))
        return True

    async def _wait_for_room(self, slot: WorkerSlot, backlog: deque[tuple[Delivery, Handout | None]]) -> None:
        """Submit ``slot``'s held deliveries in order, each as soon as its queue has room."""
        try:
            while backlog:
                delivery, handout = backlog[0]
                try:
                    if not await slot.submit(delivery) and handout is not None:
                        handout.done()
                except Exception:
                    log.exception("queueing a held delivery for %s failed; it is dropped", slot)
                backlog.popleft()
                self._release(slot)
        finally:
            if self._backlogs.get(slot) is backlog:
                del self._backlogs[slot]
            for _ in backlog:  # cancelled (the runner closes): what is still held is not delivered
                self._release(slot)
            backlog.clear()

    def _release(self, slot: WorkerSlot) -> None:
        left = self.held[slot] - 1
        if left > 0:
            self.held[slot] = left
        else:
            del self.held[slot]

    def _over_limit(
        self, tenant: Tenant, event: dict[str, Any], event_type: str, retry_after: float, handout: Handout | None
    ) -> None:
        scope = tenant.scope
        metrics.RATE_LIMIT_DENIALS.labels(Bucket.EVENTS.value).inc()
        if self.delay and retry_after <= self.delay_bound and self.delayed.get(scope, 0) < self.delay_cap:
            self.delayed[scope] = self.delayed.get(scope, 0) + 1
            self.count_scope(scope, "events_delayed")
            if handout is not None:
                handout.hold()  # released when the delayed delivery is queued or given up
            self.spawn(self._deliver_later(tenant, event, event_type, retry_after, handout))
        else:
            self.count_scope(scope, "events_dropped")

    async def _deliver_later(
        self, tenant: Tenant, event: dict[str, Any], event_type: str, wait: float, handout: Handout | None = None
    ) -> None:
        scope = tenant.scope
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.delay_bound
        try:
            while True:
                await asyncio.sleep(max(wait, 0.001))
                decision = await self.limiter.hit(Bucket.EVENTS, scope, 1)
                if decision.allowed:
                    current = self.tenants.get(scope.server_id, scope.plugin_id)
                    if current is not None and current.enabled:
                        delivery = self.delivery(current, event, event_type, handout)
                        if not await current.slot.submit(delivery) and handout is not None:
                            handout.done()
                    return
                if loop.time() + decision.retry_after > deadline:
                    self.count_scope(scope, "events_dropped")
                    return
                wait = decision.retry_after
        finally:
            if handout is not None:
                handout.done()
            left = self.delayed.get(scope, 1) - 1
            if left > 0:
                self.delayed[scope] = left
            else:
                self.delayed.pop(scope, None)
