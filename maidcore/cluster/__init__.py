"""Several nodes, one PostgreSQL, one coordination engine: leases, once-only work, durable inbound events.

- ``coordinator``: the protocol a coordination engine implements (``RedisCoordinator`` and ``PostgresCoordinator``).
- ``leases``: shard leases with fencing tokens, failover and handing back.
- ``durable``: events recorded per shard before delivery, acked when the plugins acked.
- ``node``: the three together for one ``maidcore serve``; ``ShardHost`` is what the event source offers.

Off unless ``cluster.coordinator_url`` (or the older ``cluster.redis_url``) is set; a single node keeps
the in-process path.
"""

from maidcore.cluster.coordinator import Coordinator, Lease, LeaseLost, LoggedEvent
from maidcore.cluster.durable import DurableSink, Handout, shard_of
from maidcore.cluster.leases import ShardLeases, preferred_node
from maidcore.cluster.node import ClusterNode, ShardHost

__all__ = [
    "ClusterNode",
    "Coordinator",
    "DurableSink",
    "Handout",
    "Lease",
    "LeaseLost",
    "LoggedEvent",
    "ShardHost",
    "ShardLeases",
    "preferred_node",
    "shard_of",
]
