"""What a cluster needs from its coordination engine, as one small protocol.

Nodes share nothing but PostgreSQL and a coordination engine; everything they
agree on goes through a ``Coordinator``: who is alive, who holds which shard
(a lease with a fencing token), which one-off things already happened, and
the log of events each shard accepted. ``RedisCoordinator`` and ``PostgresCoordinator`` implement it;
another engine implements this protocol and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Lease:
    """A shard held by ``node`` since it got ``token``; tokens only ever grow (fencing)."""

    shard: int
    node: str
    token: int


@dataclass(frozen=True)
class LoggedEvent:
    """One event a shard's log holds: its log id, what was recorded, and how often it was handed out."""

    entry_id: str
    record: dict[str, Any]
    deliveries: int = 1  # 1 = first delivery; more once a node claimed it from another


@dataclass(frozen=True)
class ShardState:
    """What an operator sees of one shard: its holder (if any), the lease's time left, its log's backlog."""

    shard: int
    lease: Lease | None  # None: nobody holds the shard now
    expires_in: float | None  # seconds until the lease expires unless renewed (None when not held)
    unacked: int  # events in the shard's log not acked yet (handed out or not)
    handed_out: int  # of those, handed to a node and not acked


class LeaseLost(Exception):
    """The caller no longer holds the shard it writes for (its lease expired or moved): it must stop serving."""


@runtime_checkable
class Coordinator(Protocol):
    async def start(self) -> None:
        """Connect; raises if the engine cannot be reached."""
        ...

    async def close(self) -> None: ...

    # --- membership ----------------------------------------------------------------

    async def heartbeat(self, node: str, ttl: float) -> None:
        """``node`` is alive for ``ttl`` more seconds."""
        ...

    async def live_nodes(self) -> list[str]:
        """Nodes whose heartbeat has not expired, sorted."""
        ...

    # --- shard leases ---------------------------------------------------------------

    async def acquire(self, shard: int, node: str, ttl: float) -> Lease | None:
        """Take ``shard`` if nobody holds it, with a new fencing token; ``None`` if someone does."""
        ...

    async def renew(self, lease: Lease, ttl: float) -> bool:
        """Extend ``lease``; ``False`` if it is no longer held by its node with its token."""
        ...

    async def release(self, lease: Lease) -> None:
        """Give ``lease`` up (only if still held with its token)."""
        ...

    async def holders(self, shard_count: int) -> dict[int, Lease]:
        """Who holds each held shard."""
        ...

    async def shard_count_seen(self) -> int:
        """One past the highest shard a lease was ever taken on (0 for a cluster that never ran)."""
        ...

    async def shard_states(self, shards: list[int]) -> list[ShardState]:
        """``shards`` as they stand now, in that order (read-only: creates nothing)."""
        ...

    async def identify_slot(self, bucket: str, interval: float) -> float:
        """Reserve the next IDENTIFY of ``bucket``; returns seconds to wait before sending it (0 = now)."""
        ...

    # --- once across the cluster --------------------------------------------------------

    async def once(self, key: str, ttl: float) -> bool:
        """``True`` for exactly one caller of ``key`` within ``ttl`` seconds across the cluster."""
        ...

    # --- state layers share across the cluster (``maidcore.layers.shared``) -----------------

    async def state_get(self, key: str) -> Any | None:
        """The JSON value last put under ``key``, or ``None`` once it expired."""
        ...

    async def state_put(self, key: str, value: Any, ttl: float) -> None:
        """Keep JSON ``value`` under ``key`` for ``ttl`` seconds."""
        ...

    async def spend(self, key: str, amount: int, limit: int, ttl: float) -> int | None:
        """Add ``amount`` to counter ``key`` unless that takes it past ``limit``, in one atomic step.

        Returns the new count, or ``None`` (nothing counted) when it would pass
        ``limit``; a negative ``amount`` gives back and is never refused. A new
        counter expires ``ttl`` seconds after its first spend.
        """
        ...

    async def state_put_many(self, values: dict[str, Any], ttl: float) -> None:
        """``state_put`` of every key of ``values`` (one round trip: the caller batches)."""
        ...

    async def due_add(self, queue: str, member: str, at: float) -> None:
        """``member`` of ``queue`` falls due at unix time ``at``."""
        ...

    async def due_take(self, queue: str, now: float, limit: int) -> list[str]:
        """Remove and return members of ``queue`` due by ``now``; each goes to exactly one caller."""
        ...

    # --- the event log of each shard ------------------------------------------------------

    async def append(self, lease: Lease, record: dict[str, Any], *, source_key: str | None = None) -> str | None:
        """Record an event accepted on ``lease``'s shard; returns its log id. Raises ``LeaseLost`` if fenced off.

        ``source_key`` names the event at its source (a gateway session and sequence number): if an event
        with that key was appended to the shard's log already (by any holder, recently), nothing is
        appended and None is returned, checked in the same step as the append.
        """
        ...

    async def read_new(self, lease: Lease, consumer: str, count: int, block: float) -> list[LoggedEvent]:
        """Events of the shard nobody read yet, now handed to ``consumer`` (waits up to ``block`` seconds)."""
        ...

    async def claim_pending(self, lease: Lease, consumer: str, count: int) -> list[LoggedEvent]:
        """Events of the shard handed out and never acked (by anyone), now handed to ``consumer``."""
        ...

    async def ack(self, shard: int, entry_ids: list[str]) -> None:
        """These events were handled: drop them from the shard's log."""
        ...

    async def pending(self, shard: int) -> int:
        """How many events of the shard are handed out and not acked."""
        ...
