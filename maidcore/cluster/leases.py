"""Shard leases: which node serves which shard, renewed every few seconds, given up before they expire.

Every ``renew_seconds`` a node beats its heartbeat, renews its leases and
balances: each shard has one preferred node among the live ones (shards
dealt round the sorted node names, so every node gets an equal share). A node takes a
free shard it prefers at once and any other free shard once it has stayed
free ``takeover_grace_seconds``; it hands a held shard to its preferred node
when that node is alive (a returning node gets its shards back) by stopping
it first and releasing the lease after, so two nodes never hold one shard.

A lease is valid locally until ``lease_seconds`` (minus a margin) after the
renewal that was *sent* last succeeded; a watchdog stops every shard whose
local validity ran out — before Redis lets anyone else take it — so a node
cut off from Redis, or from its storage, stops serving instead of
double-serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from maidcore import metrics
from maidcore.cluster.coordinator import Coordinator, Lease
from maidcore.settings import ClusterSettings

log = logging.getLogger("maidcore.cluster.leases")

#: Part of a lease the node does not count on, for clock-rate differences and the time a stop takes.
SAFETY = 0.25


def preferred_node(shard: int, nodes: list[str]) -> str | None:
    """The node meant to serve ``shard``: shards dealt round the sorted live nodes, so each gets its share."""
    if not nodes:
        return None
    ordered = sorted(nodes)
    return ordered[shard % len(ordered)]


class ShardLeases:
    """Holds this node's share of ``shard_count`` shards; calls ``serve``/``stop`` as they come and go."""

    def __init__(
        self,
        coordinator: Coordinator,
        node: str,
        settings: ClusterSettings,
        *,
        serve: Callable[[Lease], Awaitable[None]],
        stop: Callable[[int], Awaitable[None]],
        healthy: Callable[[], Awaitable[bool]] | None = None,
        connecting: Callable[[int], bool] | None = None,
    ) -> None:
        self.coordinator = coordinator
        self.node = node
        self.settings = settings
        self._serve = serve
        self._stop = stop
        self._healthy = healthy
        self._connecting = connecting  # a shard still connecting is handed over once it is up, not mid-IDENTIFY
        self.shard_count = 0
        self.held: dict[int, Lease] = {}
        self.valid_until: dict[int, float] = {}  # shard -> monotonic time its lease stops counting here
        self._free_since: dict[int, float] = {}
        self._storage_ok_at = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._looping = False  # the loops' own stop signal: a cancel alone can be lost (see _stop_loops)
        self._lock = asyncio.Lock()
        self.events: list[tuple[float, str, int]] = []  # (wall time, "took"/"stopped"/"handed", shard), recent
        self.unacked = 0  # events in the held shards' logs not acked yet, as last sampled (also in the metric)
        #: take free shards and hand held ones over; off while the node closes (its leases are only renewed)
        self.balancing = True

    @property
    def margin(self) -> float:
        return self.settings.lease_seconds * SAFETY

    def start(self, shard_count: int) -> None:
        self.shard_count = shard_count
        self._looping = True
        self._storage_ok_at = time.monotonic()  # the storage check's grace counts from here, not from construction
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._renew_loop(), name="maidcore-cluster-leases"),
            loop.create_task(self._watchdog(), name="maidcore-cluster-watchdog"),
        ]
        if self._healthy is not None:
            self._tasks.append(loop.create_task(self._storage_loop(), name="maidcore-cluster-storage-check"))

    async def close(self) -> None:
        await self._stop_loops()
        for shard in list(self.held):
            lease = self.held[shard]
            await self._drop(shard, "stopped", "shutdown")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.coordinator.release(lease), 2.0)

    async def _stop_loops(self) -> None:
        """End the renew, watchdog and storage loops and wait until they have.

        A cancel alone is not enough: on Python 3.11 ``asyncio.wait_for`` (redis-py wraps every
        command in one) swallows a cancel that lands as the command completes, and the loop would
        go on renewing and taking shards. The flag ends each loop at its next round whatever happens.
        """
        self._looping = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _note(self, what: str, shard: int) -> None:
        self.events.append((time.time(), what, shard))
        del self.events[:-200]

    # --- the loop -------------------------------------------------------------------------

    async def _renew_loop(self) -> None:
        while self._looping:
            try:
                await self.tick()
                await self.sample_backlog()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis unreachable: the watchdog stops the shards when leases run out
                log.warning("cluster: lease round failed: %s", exc)
            await asyncio.sleep(self.settings.renew_seconds)

    async def sample_backlog(self) -> None:
        """Count the held shards' unacked events into ``maidcore_cluster_unacked_events`` (once a round, after it)."""
        shards = sorted(self.held)
        states = await self.coordinator.shard_states(shards) if shards else []
        self._set_unacked(sum(state.unacked for state in states))

    def _set_unacked(self, count: int) -> None:
        # by difference: several nodes in one process (tests, benchmarks) add up instead of overwriting
        metrics.CLUSTER_UNACKED.inc(count - self.unacked)
        self.unacked = count

    async def tick(self) -> None:
        """One round: heartbeat, storage check, renewals, then take or hand over shards."""
        async with self._lock:
            ttl = self.settings.lease_seconds
            if self.storage_ok():  # a node without its storage is not counted on by the others
                await self.coordinator.heartbeat(self.node, ttl)
            for shard, lease in list(self.held.items()):
                sent = time.monotonic()
                if await self.coordinator.renew(lease, ttl):
                    self.valid_until[shard] = sent + ttl - self.margin
                else:
                    log.error("cluster: lease on shard %d was lost (token %d); stopping it", shard, lease.token)
                    await self._drop(shard, "stopped", "lost")
            if not self.storage_ok():
                for shard, lease in list(self.held.items()):
                    log.error("cluster: storage unreachable; giving shard %d up", shard)
                    await self._drop(shard, "stopped", "storage")
                    await self.coordinator.release(lease)
                return
            if self.balancing:
                await self._balance()

    def storage_ok(self) -> bool:
        """The storage answered within the last ``storage_check_seconds`` (always, with no ``healthy`` check)."""
        if self._healthy is None:  # nothing to check: never give the shards up for a check that never runs
            return True
        return time.monotonic() - self._storage_ok_at < self.settings.storage_check_seconds

    async def _storage_loop(self) -> None:
        """Check the storage on its own beat, so a hanging database never delays a renewal."""
        assert self._healthy is not None
        while self._looping:
            started = time.monotonic()
            try:
                if await asyncio.wait_for(self._healthy(), self.settings.storage_check_seconds):
                    self._storage_ok_at = started
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster: storage check failed: %s", exc)
            await asyncio.sleep(max(0.0, self.settings.renew_seconds - (time.monotonic() - started)))

    async def _balance(self) -> None:
        live = await self.coordinator.live_nodes()
        if self.node not in live:
            live = sorted([*live, self.node])
        holders = await self.coordinator.holders(self.shard_count)
        now = time.monotonic()
        for shard in range(self.shard_count):
            preferred = preferred_node(shard, live)
            holder = holders.get(shard)
            if holder is not None:
                self._free_since.pop(shard, None)
                mid_connect = self._connecting is not None and self._connecting(shard)
                if holder.node == self.node and shard in self.held and preferred != self.node and not mid_connect:
                    # its preferred node is back: stop serving first, then let go of the lease
                    log.info("cluster: handing shard %d to %s", shard, preferred)
                    lease = self.held[shard]
                    await self._drop(shard, "handed", "handed")
                    await self.coordinator.release(lease)
                continue
            since = self._free_since.setdefault(shard, now)
            if preferred == self.node or now - since >= self.settings.takeover_grace_seconds:
                await self._take(shard)

    async def _take(self, shard: int) -> None:
        sent = time.monotonic()
        lease = await self.coordinator.acquire(shard, self.node, self.settings.lease_seconds)
        if lease is None:
            return
        self._free_since.pop(shard, None)
        self.held[shard] = lease
        self.valid_until[shard] = sent + self.settings.lease_seconds - self.margin
        log.info("cluster: took shard %d (fencing token %d)", shard, lease.token)
        self._note("took", shard)
        metrics.CLUSTER_LEASE_TAKEOVERS.inc()
        metrics.CLUSTER_SHARDS_HELD.inc()
        try:
            await self._serve(lease)
        except Exception:
            log.exception("cluster: serving shard %d failed; giving it up", shard)
            await self._drop(shard, "stopped", "failed")
            with contextlib.suppress(Exception):
                await self.coordinator.release(lease)

    async def _drop(self, shard: int, why: str, reason: str) -> None:
        """Stop serving ``shard``; ``reason`` labels ``maidcore_cluster_lease_losses_total``."""
        if self.held.pop(shard, None) is None:
            return
        self.valid_until.pop(shard, None)
        self._note(why, shard)
        metrics.CLUSTER_SHARDS_HELD.dec()
        metrics.child(metrics.CLUSTER_LEASE_LOSSES, reason).inc()
        if not self.held:
            self._set_unacked(0)  # nothing held: nothing of ours waits (a partial drop is re-sampled next round)
        try:
            await self._stop(shard)
        except Exception:
            log.exception("cluster: stopping shard %d failed", shard)

    async def lost(self, shard: int) -> None:
        """Someone noticed the lease of ``shard`` is gone (a fenced write): stop it now."""
        await self._drop(shard, "stopped", "lost")

    async def _watchdog(self) -> None:
        while self._looping:
            await asyncio.sleep(min(0.25, self.margin / 2))
            now = time.monotonic()
            for shard, until in list(self.valid_until.items()):
                if now >= until:
                    log.error("cluster: lease on shard %d could not be renewed in time; stopping it", shard)
                    await self._drop(shard, "stopped", "expired")
