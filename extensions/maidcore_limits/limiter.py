"""The default rate limiter: moving windows from the `limits` library, one per (bucket, server, plugin).

A moving window counts every unit taken in the last window length, so there is
no window edge to burst across: at most ``limit`` units pass in ANY interval of
that length (a fixed window lets ``2 × limit`` through around its boundary).

``memory://`` is decided synchronously (``hit_nowait``); any other storage URI
(``redis://…``, or ``postgresql://…`` for a cluster without Redis: ``pg_storage``)
goes through the async storage of ``limits.aio``, so that every maidcore process
pointing at the same Redis or database shares one window per scope.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import Counter
from typing import Any

import limits
import limits.aio.storage
import limits.aio.strategies
import limits.storage
import limits.strategies
import redis.asyncio
from limits.errors import StorageError

from maidcore.errors import InvalidArgument, RpcFailure
from maidcore.layers.ratelimit import Bucket, Decision, OverLimit
from maidcore.scope import Scope
from maidcore_limits import pg_storage  # registers postgresql:// with limits
from maidcore_limits.settings import RateLimitSettings

# A denied call may retry this much after the blocking entry leaves the window
# (the storages compare with >=, so the exact instant is still refused).
_EPSILON = 0.001
_MAX_DENIALS_CACHED = 10_000
_MAX_KEYS_CACHED = 100_000

_SLUGS = {Bucket.EVENTS: "events", Bucket.DISCORD: "discord", Bucket.PROXY: "proxy"}


class SweptMemoryStorage(limits.storage.MemoryStorage):
    """``limits``' memory storage without a new expiry thread every 10 ms of traffic.

    The library starts a ``threading.Timer`` on every hit whose previous timer has run,
    so a busy event loop started ~100 threads a second (each start waits for the new
    thread to be scheduled) and swept every key from a thread holding the GIL. Decisions
    never depend on the sweep (entries are compared by their time), only memory does:
    here a hit sweeps in line at most once per ``SWEEP_SECONDS``.
    """

    SWEEP_SECONDS = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the library's private hook (name-mangled)
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


def limit_items(settings: RateLimitSettings) -> dict[Bucket, limits.RateLimitItem]:
    """The three limits as `limits` items, from settings."""
    return {
        Bucket.EVENTS: limits.RateLimitItemPerSecond(settings.events_per_second, namespace="MAIDCORE"),
        Bucket.DISCORD: limits.RateLimitItemPerMinute(settings.discord_actions_per_minute, namespace="MAIDCORE"),
        Bucket.PROXY: limits.RateLimitItemPerMinute(settings.proxy_requests_per_minute, namespace="MAIDCORE"),
    }


def async_storage_uri(uri: str) -> str:
    """The ``limits.aio`` spelling of a storage URI (``redis://`` → ``async+redis://``)."""
    return uri if uri.startswith("async+") else f"async+{uri}"


def masked_uri(uri: str) -> str:
    """The URI with any password replaced, for status output."""
    scheme, sep, rest = uri.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}" if ":" in creds else f"{scheme}{sep}***@{host}"
    return uri


class LimitsRateLimiter:
    """`RateLimiter` over `limits` moving windows; see ``docs/ratelimits.md``.

    Denials are remembered locally until the time they were computed to last:
    later entries can only push that time further out, so answering a flood of
    denied calls from memory is exact, and a flooding scope costs the shared
    storage (Redis) nothing until its window reopens.
    """

    name = "limits"

    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self.items = limit_items(settings)
        self.storage_uri = settings.storage_uri
        self.over_limit = OverLimit(
            delay=settings.over_limit_events == "delay",
            bound_seconds=settings.delay_bound_seconds,
            max_waiting=max(1, int(settings.events_per_second * settings.delay_bound_seconds)),
        )
        # denied hits per (bucket, scope) in this process, for status output and metrics
        self.denied: Counter[tuple[Bucket, Scope]] = Counter()
        self.storage_calls: Counter[Scope] = Counter()  # decisions that went to an async storage (Redis), per scope
        self._denials: dict[str, tuple[float, int]] = {}  # storage key -> (denied until, smallest cost denied)
        self._keys: dict[tuple[Bucket, Scope], str] = {}
        self._in_flight: dict[str, list[Any]] = {}  # storage key -> [lock, users]: one storage call per scope at a time
        self._sync: limits.strategies.MovingWindowRateLimiter | None = None
        self._aio: limits.aio.strategies.MovingWindowRateLimiter | None = None
        if settings.storage_uri.startswith("memory://"):
            self._storage: Any = SweptMemoryStorage()
            self._sync = limits.strategies.MovingWindowRateLimiter(self._storage)
        else:
            options: dict[str, Any] = {"wrap_exceptions": True}
            uri = async_storage_uri(settings.storage_uri)
            if uri.startswith(("async+redis://", "async+rediss://")):
                # a bounded pool that makes callers wait for a connection instead of failing
                options["connection_pool"] = redis.asyncio.BlockingConnectionPool.from_url(
                    uri.removeprefix("async+"), max_connections=settings.redis_max_connections, timeout=10
                )
            if uri.startswith("async+redis"):
                options.update(implementation="redispy", key_prefix=settings.key_prefix)
            if uri.startswith(("async+postgresql://", "async+postgres://")):  # a cluster on PostgreSQL alone
                options.update(key_prefix=settings.key_prefix, max_connections=settings.redis_max_connections)
            self._storage = limits.storage.storage_from_string(uri, **options)
            self._aio = limits.aio.strategies.MovingWindowRateLimiter(self._storage)

    # --- decisions ---------------------------------------------------------------

    def hit_nowait(self, bucket: Bucket, scope: Scope, cost: int = 1) -> Decision | None:
        """Decide without awaiting (``memory://``); ``None`` when the storage must be awaited."""
        item = self.items[bucket]
        if cost > item.amount:
            raise _too_costly(bucket, item, cost)
        if cost < 1:
            raise ValueError(f"a rate-limit cost is a count of actions, at least 1 (got {cost})")
        key = self._keys.get((bucket, scope))
        if key is None:
            key = self._key(bucket, scope)
        now = time.time()
        denial = self._denials.get(key)
        if denial is not None and now < denial[0] and cost >= denial[1]:
            self.denied[bucket, scope] += 1
            return Decision(False, denial[0] - now + _EPSILON, 0)
        if self._sync is None:
            return None
        storage: limits.storage.MemoryStorage = self._storage
        expiry = item.get_expiry()
        if storage.acquire_entry(key, item.amount, expiry, amount=cost):
            return Decision(True, 0.0, _remaining_in_memory(storage, key, item.amount, expiry, now))
        entries = storage.events.get(key) or ()
        blocking = entries[item.amount - cost].atime if len(entries) > item.amount - cost else now - expiry
        return self._deny(bucket, scope, key, cost, blocking + expiry, now)

    async def hit(self, bucket: Bucket, scope: Scope, cost: int = 1) -> Decision:
        """Take ``cost`` units if all are available in the moving window; else nothing is taken."""
        decision = self.hit_nowait(bucket, scope, cost)
        if decision is not None:
            return decision
        item = self.items[bucket]
        key = self._key(bucket, scope)
        # Calls of one scope queue here, so a flooding scope holds at most one storage connection and,
        # once refused, is answered from the remembered denial: other scopes never wait behind it.
        slot = self._in_flight.get(key)
        if slot is None:
            slot = self._in_flight[key] = [asyncio.Lock(), 0]
        slot[1] += 1
        try:
            async with slot[0]:
                decision = self.hit_nowait(bucket, scope, cost)  # a denial may have arrived meanwhile
                if decision is not None:
                    return decision
                return await self._hit_storage(bucket, scope, key, item, cost)
        finally:
            slot[1] -= 1
            if slot[1] == 0:
                del self._in_flight[key]

    async def _hit_storage(
        self, bucket: Bucket, scope: Scope, key: str, item: limits.RateLimitItem, cost: int
    ) -> Decision:
        assert self._aio is not None
        self.storage_calls[scope] += 1
        try:
            if await self._aio.hit(item, _SLUGS[bucket], scope.server_id, scope.plugin_id, cost=cost):
                # counting what is left would cost a second round trip; it is only exact on memory://
                return Decision(True, 0.0, -1)
            until = await self._blocking_until(key, item, cost)
        except StorageError as exc:
            where = masked_uri(self.storage_uri)
            raise RpcFailure(f"limiter storage {where} is unreachable ({exc.storage_error})") from None
        return self._deny(bucket, scope, key, cost, until, time.time())

    def _key(self, bucket: Bucket, scope: Scope) -> str:
        """The storage key of one window, cached: building it costs more than the memory decision."""
        key = self._keys.get((bucket, scope))
        if key is None:
            if len(self._keys) >= _MAX_KEYS_CACHED:
                self._keys.clear()
            key = self._keys[bucket, scope] = self.items[bucket].key_for(
                _SLUGS[bucket], scope.server_id, scope.plugin_id
            )
        return key

    def _deny(self, bucket: Bucket, scope: Scope, key: str, cost: int, until: float, now: float) -> Decision:
        self.denied[bucket, scope] += 1
        if len(self._denials) >= _MAX_DENIALS_CACHED:
            self._denials = {k: v for k, v in self._denials.items() if v[0] > now}
        if until > now:
            self._denials[key] = (until, cost)
        return Decision(False, max(until - now, 0.0) + _EPSILON, 0)

    async def _blocking_until(self, key: str, item: limits.RateLimitItem, cost: int) -> float:
        """When the entry that refused a call of ``cost`` leaves the window.

        The window is a list of timestamps, newest first; a call of ``cost``
        passes once entry ``limit - cost`` is older than the window. Redis is
        read with one LINDEX, PostgreSQL with one array index; other storages only expose the oldest entry, which
        is exact for cost 1 and a lower bound above it.
        """
        expiry = item.get_expiry()
        bridge = getattr(self._storage, "bridge", None)
        if bridge is not None and hasattr(bridge, "prefixed_key"):
            raw = await bridge.get_connection().lindex(bridge.prefixed_key(key), item.amount - cost)
            return (float(raw) if raw is not None else time.time() - expiry) + expiry
        nth_newest = getattr(self._storage, "nth_newest", None)  # PostgreSQL (pg_storage): exact as well
        if nth_newest is not None:
            at = await nth_newest(key, item.amount - cost)
            return (at if at is not None else time.time() - expiry) + expiry
        start, _count = await self._storage.get_moving_window(key, item.amount, expiry)
        return start + expiry

    async def close(self) -> None:
        if isinstance(self._storage, pg_storage.PostgresStorage):
            await self._storage.close()
            return
        bridge = getattr(self._storage, "bridge", None)
        if bridge is not None:
            connection = bridge.get_connection()
            close = getattr(connection, "aclose", None) or getattr(connection, "close", None)
            if close is not None:
                await close()


def _remaining_in_memory(storage: limits.storage.MemoryStorage, key: str, limit: int, expiry: int, now: float) -> int:
    entries = storage.events.get(key) or ()
    if not entries:
        return limit
    if entries[-1].atime > now - expiry:  # the oldest is still in the window (the usual case): all count
        used = len(entries)
    else:
        used = bisect.bisect_left(entries, expiry - now, key=lambda entry: -entry.atime)  # newest first
    return max(limit - used, 0)


def _too_costly(bucket: Bucket, item: limits.RateLimitItem, cost: int) -> InvalidArgument:
    per = "second" if item.get_expiry() == 1 else "minute"
    detail = f"at most {item.amount} per call ({bucket.value}: {item.amount} per {per}; got {cost})"
    return InvalidArgument("targets", detail)
