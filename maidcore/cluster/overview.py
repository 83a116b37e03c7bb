"""What an operator looks at in a cluster: live nodes, who holds each shard, and each shard's unacked backlog.

Read from the coordinator alone (no node is asked), so it works while nodes
are down; ``maidcore cluster status`` prints it and the nodes' metrics count the same things.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maidcore.cluster.coordinator import Coordinator, ShardState


@dataclass(frozen=True)
class ClusterOverview:
    nodes: list[str]  # live nodes (heartbeat not expired), sorted
    shard_count: int
    shards: list[ShardState]

    @property
    def free(self) -> list[int]:
        """Shards nobody holds now: their events wait until a node takes them."""
        return [s.shard for s in self.shards if s.lease is None]

    @property
    def unacked(self) -> int:
        return sum(s.unacked for s in self.shards)

    def as_json(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "shard_count": self.shard_count,
            "shards": [
                {
                    "shard": s.shard,
                    "node": s.lease.node if s.lease else None,
                    "token": s.lease.token if s.lease else None,
                    "holder_live": s.lease.node in self.nodes if s.lease else None,
                    "expires_in": None if s.expires_in is None else round(s.expires_in, 3),
                    "unacked": s.unacked,
                    "handed_out": s.handed_out,
                }
                for s in self.shards
            ],
            "free": self.free,
            "unacked": self.unacked,
        }


async def survey(coordinator: Coordinator, shard_count: int | None = None, *, at_least: int = 0) -> ClusterOverview:
    """The cluster as the coordinator sees it.

    ``shard_count`` defaults to the shards leases were ever taken on, and at least ``at_least`` (a node's
    own count): shards a larger configuration once had stay listed while their logs may hold events.
    """
    if shard_count is None:
        shard_count = max(at_least, await coordinator.shard_count_seen())
    nodes = await coordinator.live_nodes()
    shards = await coordinator.shard_states(list(range(shard_count)))
    return ClusterOverview(nodes, shard_count, shards)
