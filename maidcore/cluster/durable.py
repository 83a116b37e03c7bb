"""Durable inbound events: recorded in the shard's log before delivery, acked when every plugin acked.

``DurableSink`` stands between the event source and the router: ``publish``
appends the event to the log of its shard (fenced by the shard's lease) and
returns; a reader per held shard takes events from the log and hands each to
the router with a ``Handout``. The router gives every delivery of that event
the handout's stable delivery id (also put in the payload as ``delivery_id``)
and the handout counts them; once each is acked (or dead-lettered) the event
is acked in the log. Events a dead node left unacked are claimed by the next
holder of the shard and delivered again with the same delivery id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from maidcore.cluster.coordinator import Coordinator, Lease, LeaseLost, LoggedEvent
from maidcore.layers.events import InteractionOrigin
from maidcore.scope import Scope

if TYPE_CHECKING:
    from maidcore.runner.router import Router

log = logging.getLogger("maidcore.cluster.durable")


def shard_of(server_id: str, shard_count: int) -> int:
    """Discord's rule: a guild lives on shard ``(guild_id >> 22) % shard_count``."""
    return (int(server_id) >> 22) % shard_count


class Handout:
    """One logged event handed to the router: its delivery id, and how many deliveries are still open."""

    __slots__ = ("_abandoned", "_ack", "_open", "attempt", "delivery_id", "entry_id", "shard")

    def __init__(self, shard: int, entry_id: str, attempt: int, ack: Callable[[int, str], None]) -> None:
        self.shard = shard
        self.entry_id = entry_id
        self.delivery_id = f"{shard}:{entry_id}"  # the same on every node and every redelivery
        self.attempt = attempt
        self._open = 1  # the routing itself, released by ``routed``
        self._ack = ack
        self._abandoned = False

    def hold(self) -> None:
        """A delivery of this event was queued (or put off by the rate limit)."""
        self._open += 1

    def done(self) -> None:
        """A delivery ended (acked, dead-lettered, or given up); the last one acks the event."""
        self._open -= 1
        if self._open == 0 and not self._abandoned:
            self._ack(self.shard, self.entry_id)

    def abandon(self) -> None:
        """Leave the event unacked in the log (this node is stopping): the next holder delivers it."""
        self._abandoned = True


class DurableSink:
    """The ``EventSink`` a source gets in a cluster; the router stays the sink of record."""

    def __init__(self, router: Router, coordinator: Coordinator, node: str, *, read_batch: int = 100) -> None:
        self.router = router
        self.coordinator = coordinator
        self.node = node
        self.read_batch = read_batch
        self.shard_count = 0
        self.leases: dict[int, Lease] = {}  # shards this node holds (kept by ``ShardLeases``)
        self.counters: Counter[str] = Counter()
        self.on_lease_lost: Callable[[int], Awaitable[None]] | None = None
        self._readers: dict[int, asyncio.Task[None]] = {}
        self._acks: dict[int, list[str]] = defaultdict(list)
        self._ack_wake = asyncio.Event()
        self._acker: asyncio.Task[None] | None = None
        self.closing = False

    # --- EventSink ------------------------------------------------------------------

    async def publish(
        self,
        event: dict[str, Any],
        *,
        event_type: str | None = None,
        target_plugin: str | None = None,
        origin: InteractionOrigin | None = None,
        source_key: str | None = None,
    ) -> int:
        server = event.get("guild_id")
        if not isinstance(server, str) or not server.isdigit() or not self.shard_count:
            return await self.router.publish(event, event_type=event_type, target_plugin=target_plugin, origin=origin)
        shard = shard_of(server, self.shard_count)
        lease = self.leases.get(shard)
        if lease is None:
            self.counters["not_held"] += 1
            log.warning("event for server %s on shard %d, which this node does not hold: not recorded", server, shard)
            return 0
        record = {
            "event": event,
            "type": event_type,
            "target": target_plugin,
            "origin": [origin.message_id, origin.message_interaction_id] if origin is not None else None,
        }
        try:
            entry = await self.coordinator.append(lease, record, source_key=source_key)
        except LeaseLost:
            self.counters["fenced"] += 1
            log.error("shard %d moved to another node: event for server %s not recorded here", shard, server)
            if self.on_lease_lost is not None:
                await self.on_lease_lost(shard)
            return 0
        if entry is None:  # a replay of an event this shard's log already has (under its first delivery id)
            self.counters["duplicate"] += 1
            return 0
        self.counters["recorded"] += 1
        return 1

    async def server_available(self, server_id: str) -> None:
        await self.router.server_available(server_id)

    def message_created(self, scope: Scope, message_id: str) -> None:
        self.router.message_created(scope, message_id)

    # --- reading a held shard's log -----------------------------------------------------

    def start(self) -> None:
        if self._acker is None:
            self._acker = asyncio.get_running_loop().create_task(self._ack_loop(), name="maidcore-cluster-acks")

    async def serve(self, lease: Lease) -> None:
        """Start delivering ``lease``'s shard: first what earlier holders left unacked, then what comes."""
        self.leases[lease.shard] = lease
        claimed = await self.coordinator.claim_pending(lease, self.node, self.read_batch)
        if claimed:
            self.counters["claimed"] += len(claimed)
            log.info("shard %d: delivering %d events left unacked by an earlier holder", lease.shard, len(claimed))
        self._readers[lease.shard] = asyncio.get_running_loop().create_task(
            self._read(lease, claimed), name=f"maidcore-cluster-read-{lease.shard}"
        )

    async def stop(self, shard: int) -> None:
        """Stop delivering ``shard`` (deliveries in flight finish; their acks still count)."""
        self.leases.pop(shard, None)
        task = self._readers.pop(shard, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read(self, lease: Lease, backlog: list[LoggedEvent]) -> None:
        # stop() cancels this task, but a cancel can be lost (Python 3.11's wait_for inside redis-py, see
        # ShardLeases._stop_loops): checking the lease is still ours ends the loop anyway, delivering nothing more
        def ours() -> bool:
            return not self.closing and self.leases.get(lease.shard) is lease

        for logged in backlog:
            if not ours():
                return
            await self._deliver(lease.shard, logged)
        while ours():
            try:
                batch = await self.coordinator.read_new(lease, self.node, self.read_batch, block=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the watchdog stops the shard if this lasts; keep trying until then
                log.warning("shard %d: reading its event log failed: %s", lease.shard, exc)
                await asyncio.sleep(0.5)
                continue
            for logged in batch:
                if not ours():  # unacked: the next holder claims it
                    return
                await self._deliver(lease.shard, logged)

    async def _deliver(self, shard: int, logged: LoggedEvent) -> None:
        record = logged.record
        handout = Handout(shard, logged.entry_id, logged.deliveries, self._queue_ack)
        origin = record.get("origin")
        try:
            await self.router.publish(
                record["event"],
                event_type=record.get("type"),
                target_plugin=record.get("target"),
                origin=InteractionOrigin(*origin) if origin else None,
                handout=handout,
            )
        except asyncio.CancelledError:
            handout.abandon()
            raise
        except Exception:
            log.exception("shard %d: routing logged event %s failed; acking it", shard, logged.entry_id)
        if self.router.closing or self.closing:
            handout.abandon()
        handout.done()
        self.counters["delivered" if logged.deliveries == 1 else "redelivered"] += 1

    # --- acks --------------------------------------------------------------------------

    def _queue_ack(self, shard: int, entry_id: str) -> None:
        self._acks[shard].append(entry_id)
        self._ack_wake.set()

    async def _ack_loop(self) -> None:
        while True:
            await self._ack_wake.wait()
            self._ack_wake.clear()
            batches, self._acks = self._acks, defaultdict(list)
            for shard, ids in batches.items():
                try:
                    await self.coordinator.ack(shard, ids)
                    self.counters["acked"] += len(ids)
                except Exception as exc:  # unacked events are delivered again by the next holder: at-least-once
                    log.warning("shard %d: acking %d events failed: %s", shard, len(ids), exc)

    async def stop_reading(self) -> None:
        """Deliver nothing more from any log (the node closes); acks of deliveries in flight still count."""
        self.closing = True
        for task in list(self._readers.values()):
            task.cancel()
        await asyncio.gather(*self._readers.values(), return_exceptions=True)
        self._readers.clear()

    async def close(self) -> None:
        await self.stop_reading()
        for shard in list(self.leases):
            await self.stop(shard)
        if self._acker is not None:
            self._ack_wake.set()
            await asyncio.sleep(0)
            if any(self._acks.values()):
                for shard, ids in list(self._acks.items()):
                    with contextlib.suppress(Exception):
                        await self.coordinator.ack(shard, ids)
                self._acks.clear()
            self._acker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._acker
            self._acker = None
