"""Rate limiting: per (server, plugin) buckets (SDK contract §8)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from maidcore.scope import Scope


class Bucket(StrEnum):
    """The three per-(server, plugin) limits; values are the names used in settings and error texts."""

    EVENTS = "events"  # 50 per second, deliveries
    DISCORD = "discord actions"  # 60 per minute, state-changing discord.* calls (bulk: one per target)
    PROXY = "proxy http"  # 30 per minute, proxy.request


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until a call of the same cost would pass
    remaining: int = 0


@dataclass(frozen=True, slots=True)
class OverLimit:
    """What the router does with an event over its rate limit; a limiter declares it as ``over_limit``.

    ``delay=False`` drops the event. ``delay=True`` delivers it later when it can
    pass within ``bound_seconds``, with at most ``max_waiting`` events of one
    (server, plugin) waiting at once; the others are dropped.
    """

    delay: bool = False
    bound_seconds: float = 0.0
    max_waiting: int = 0


#: The policy of a limiter that declares none.
DROP = OverLimit()


def over_limit_policy(limiter: object) -> OverLimit:
    """The limiter's ``over_limit`` policy (an optional attribute), ``DROP`` when it declares none."""
    policy = getattr(limiter, "over_limit", None)
    return policy if isinstance(policy, OverLimit) else DROP


@runtime_checkable
class RateLimiter(Protocol):
    """Per (server, plugin) buckets; may also declare ``over_limit: OverLimit`` (default: drop such events)."""

    name: str

    async def hit(self, bucket: Bucket, scope: Scope, cost: int = 1) -> Decision:
        """Take ``cost`` units from the bucket if they are all available (all or nothing)."""
        ...

    def hit_nowait(self, bucket: Bucket, scope: Scope, cost: int = 1) -> Decision | None:
        """Same decision without awaiting when the storage allows it (memory); ``None`` if it must be awaited."""
        ...

    async def close(self) -> None: ...
