"""One node of a cluster: its leases, its durable sink and the event source's shards, started together.

The platform builds a ``ClusterNode`` when ``cluster.coordinator_url`` (or ``cluster.redis_url``) is set. The
event source must offer ``ShardHost`` (the ``discord`` source does): it
connects with no shard and serves the ones the node's leases say, each
IDENTIFY waiting its turn in Discord's max_concurrency bucket cluster-wide.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from maidcore.cluster.coordinator import Coordinator, Lease
from maidcore.cluster.durable import DurableSink
from maidcore.cluster.leases import ShardLeases
from maidcore.settings import ClusterSettings

if TYPE_CHECKING:
    from maidcore.runner.router import Router

log = logging.getLogger("maidcore.cluster")

IdentifyGate = Callable[[int], Awaitable[None]]


@runtime_checkable
class ShardHost(Protocol):
    """What an event source offers to run in a cluster: shards started and stopped one by one."""

    def manage_shards(self, identify_gate: IdentifyGate) -> None:
        """Before ``start``: connect with no shard; every IDENTIFY awaits ``identify_gate(shard_id)`` first."""
        ...

    @property
    def shard_count(self) -> int:
        """The total number of shards (known once started)."""
        ...

    @property
    def max_concurrency(self) -> int:
        """How many IDENTIFY buckets the service allows at once (known once started)."""
        ...

    async def serve_shard(self, shard_id: int) -> None:
        """Connect ``shard_id`` and deliver its events."""
        ...

    async def stop_shard(self, shard_id: int) -> None:
        """Disconnect ``shard_id``; no event of it is published after this returns."""
        ...


def default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def build_coordinator(settings: ClusterSettings) -> Coordinator:
    """The coordination engine ``cluster.coordinator_url`` (or ``cluster.redis_url``) names, by its scheme."""
    url = settings.url
    if url is None:
        raise ValueError("no cluster: set cluster.coordinator_url to a redis:// or postgresql:// URL")
    if settings.engine == "postgresql":
        from maidcore.cluster.pg_coordinator import PostgresCoordinator

        return PostgresCoordinator(url, settings.key_prefix, pool_size=settings.coordinator_pool_size)
    if settings.engine == "redis":
        from maidcore.cluster.redis_coordinator import RedisCoordinator

        return RedisCoordinator(url, settings.key_prefix)
    raise ValueError(
        f"cluster.coordinator_url {url!r}: no coordination engine for this scheme (redis://, postgresql://)"
    )


class ClusterNode:
    """Leases + durable sink + shard control for one ``maidcore serve`` process."""

    def __init__(
        self,
        settings: ClusterSettings,
        router: Router,
        source: ShardHost,
        *,
        coordinator: Coordinator | None = None,
        healthy: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        if not isinstance(source, ShardHost):
            raise TypeError(
                f"cluster.coordinator_url is set but event source {getattr(source, 'name', source)!r} cannot run "
                "shards one by one (it does not offer maidcore.cluster.ShardHost); unset cluster.coordinator_url"
            )
        self.settings = settings
        self.node_id = settings.node_id or default_node_id()
        self._owns_coordinator = coordinator is None  # else whoever passed it starts and closes it
        self.coordinator = coordinator or build_coordinator(settings)
        self.source = source
        self.sink = DurableSink(router, self.coordinator, self.node_id, read_batch=settings.read_batch)
        self.leases = ShardLeases(
            self.coordinator,
            self.node_id,
            settings,
            serve=self._serve,
            stop=self._stop,
            healthy=healthy,
            connecting=self._connecting,
        )
        self.sink.on_lease_lost = self.leases.lost
        self._gateways: dict[int, asyncio.Task[None]] = {}

    async def prepare(self) -> None:
        """Before the source starts: reach the coordinator and tell the source to wait for leases."""
        if self._owns_coordinator:
            await self.coordinator.start()
        self.source.manage_shards(self._identify_gate)

    def start(self) -> None:
        """After the source started: begin taking shards."""
        self.sink.shard_count = self.source.shard_count
        self.sink.start()
        self.leases.start(self.source.shard_count)
        log.info(
            "cluster node %s: %d shards, lease %gs",
            self.node_id,
            self.source.shard_count,
            self.settings.lease_seconds,
            extra={"node": self.node_id},
        )

    async def once(self, key: str, ttl: float) -> bool:
        """True on exactly one node for ``key`` within ``ttl`` (ticks, cron, singletons)."""
        return await self.coordinator.once(key, ttl)

    async def _identify_gate(self, shard_id: int) -> None:
        bucket = str(shard_id % max(1, self.source.max_concurrency))
        wait = await self.coordinator.identify_slot(bucket, self.settings.identify_interval_seconds)
        if wait > 0:
            await asyncio.sleep(wait)

    async def _serve(self, lease: Lease) -> None:
        await self.sink.serve(lease)
        # the gateway connects in the background: an IDENTIFY may wait its bucket's turn, and renewals go on
        self._gateways[lease.shard] = asyncio.get_running_loop().create_task(
            self._connect(lease.shard), name=f"maidcore-cluster-shard-{lease.shard}"
        )

    def _connecting(self, shard: int) -> bool:
        task = self._gateways.get(shard)
        return task is not None and not task.done()

    async def _connect(self, shard: int) -> None:
        try:
            await self.source.serve_shard(shard)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cluster: connecting shard %d failed; giving it up", shard)
            await self.leases.lost(shard)

    async def _stop(self, shard: int) -> None:
        task = self._gateways.pop(shard, None)
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.source.stop_shard(shard)
        await self.sink.stop(shard)

    async def stop_intake(self) -> None:
        """The first closing step: read no more events from the shard logs and take or hand over no shard.

        The leases are still renewed and acks still written while the runner drains, so
        what the draining workers ack is acked in the log and no other node delivers an
        event again while this one still handles it; ``close`` then releases the leases.
        """
        self.leases.balancing = False
        await self.sink.stop_reading()

    async def close(self) -> None:
        await self.stop_intake()
        await self.sink.close()  # the last acks are written while the leases are still held
        await self.leases.close()
        if self._owns_coordinator:
            await self.coordinator.close()

    def status(self) -> dict[str, object]:
        return {
            "node": self.node_id,
            "shards": sorted(self.leases.held),
            "events": dict(self.sink.counters),
        }
