"""``ctx.ephemeral`` (§4.6): sliding-window counters, cooldowns, dedup and flags; fast, not durable.

``MemoryEphemeral`` serves one node from process memory. ``RedisEphemeral``
shares the state between nodes: each primitive is one atomic Redis step (a Lua
script over a sorted set for the sliding window, ``SET NX PX`` for dedup).
Every primitive has its own key space per (plugin, server), and each (plugin,
server) holds at most ``storage.ephemeral_max_keys`` live keys (``QUOTA_EXCEEDED``
past it); what one call costs depends on its own tenant's keys only.
"""

from __future__ import annotations

import heapq
import time
import uuid
from collections import deque
from typing import Any

from maidcore.errors import InvalidArgument, QuotaExceeded
from maidcore.scope import Scope

MAX_KEY_CHARS = 256
MAX_TTL = 86_400


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
        raise InvalidArgument("key", f"a string of 1-{MAX_KEY_CHARS} characters")
    return key


def clamp_ttl(seconds: Any, field: str) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidArgument(field, "a number of seconds (clamped to 1-86400)")
    return int(max(1, min(MAX_TTL, seconds)))


DEFAULT_MAX_KEYS = 10_000


def _full(max_keys: int) -> QuotaExceeded:
    return QuotaExceeded("ephemeral keys", max_keys, "per server and plugin; let keys expire or reuse them")


class _ScopeState:
    """One (server, plugin)'s ephemeral state: nothing another tenant stores is ever swept or counted with it."""

    __slots__ = ("expiring", "heap", "windows")

    def __init__(self) -> None:
        self.windows: dict[str, tuple[deque[float], int]] = {}
        self.expiring: dict[tuple[str, str], float] = {}  # (kind, key) -> deadline
        self.heap: list[tuple[float, tuple[str, str]]] = []

    def sweep(self, now: float) -> None:
        heap, expiring = self.heap, self.expiring
        while heap and heap[0][0] <= now:
            deadline, name = heapq.heappop(heap)
            if expiring.get(name) == deadline:
                del expiring[name]
        if len(heap) > 2 * len(expiring) + 64:  # overwritten deadlines pile up: rebuild from the live ones
            self.heap = [(deadline, name) for name, deadline in expiring.items()]
            heapq.heapify(self.heap)

    def drop_idle_windows(self, now: float) -> None:
        for key, (hits, window) in list(self.windows.items()):
            if not hits or hits[-1] <= now - window:
                del self.windows[key]

    def keys(self) -> int:
        return len(self.expiring) + len(self.windows)


class MemoryEphemeral:
    """One node's ephemeral state, per (server, plugin): a call's cost depends on its own tenant's keys only.

    A tenant holds at most ``max_keys`` live keys (cooldowns, dedup marks, flags
    and counter windows together); a new one past that is ``QUOTA_EXCEEDED``.
    """

    def __init__(self, *, clock=time.monotonic, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._clock = clock
        self.max_keys = max_keys
        self._scopes: dict[tuple[str, str], _ScopeState] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._scopes.clear()

    def _state(self, scope: Scope, now: float) -> _ScopeState:
        name = (scope.server_id, scope.plugin_id)
        state = self._scopes.get(name)
        if state is None:
            state = self._scopes[name] = _ScopeState()
        state.sweep(now)
        return state

    def _room(self, state: _ScopeState, now: float) -> None:
        if state.keys() >= self.max_keys:
            state.drop_idle_windows(now)
            if state.keys() >= self.max_keys:
                raise _full(self.max_keys)

    def _set(self, kind: str, scope: Scope, key: str, ttl: int) -> None:
        now = self._clock()
        state = self._state(scope, now)
        name = (kind, key)
        if name not in state.expiring:
            self._room(state, now)
        state.expiring[name] = now + ttl
        heapq.heappush(state.heap, (now + ttl, name))

    def _remaining(self, kind: str, scope: Scope, key: str) -> float:
        now = self._clock()
        deadline = self._state(scope, now).expiring.get((kind, key))
        return 0.0 if deadline is None else max(0.0, deadline - now)

    async def counter(self, scope: Scope, key: str, window_seconds: int) -> int:
        check_key(key)
        window = clamp_ttl(window_seconds, "window_seconds")
        now = self._clock()
        state = self._state(scope, now)
        entry = state.windows.get(key)
        if entry is None:
            self._room(state, now)
            hits: deque[float] = deque()
        else:
            hits = entry[0]
        while hits and hits[0] <= now - window:
            hits.popleft()
        hits.append(now)
        state.windows[key] = (hits, window)
        return len(hits)

    async def cooldown_set(self, scope: Scope, key: str, ttl_seconds: int) -> None:
        self._set("cooldown", scope, check_key(key), clamp_ttl(ttl_seconds, "ttl_seconds"))

    async def cooldown_check(self, scope: Scope, key: str) -> tuple[bool, float]:
        remaining = self._remaining("cooldown", scope, check_key(key))
        return remaining > 0, round(remaining, 3)

    async def dedup(self, scope: Scope, key: str, ttl_seconds: int) -> bool:
        check_key(key)
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        if self._remaining("dedup", scope, key) > 0:
            return False
        self._set("dedup", scope, key, ttl)
        return True

    async def flag_set(self, scope: Scope, key: str, ttl_seconds: int) -> None:
        self._set("flag", scope, check_key(key), clamp_ttl(ttl_seconds, "ttl_seconds"))

    async def flag_check(self, scope: Scope, key: str) -> bool:
        return self._remaining("flag", scope, check_key(key)) > 0


# Sliding window: drop hits older than the window, add this one, count, keep the set only as long as the window.
_COUNTER_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return redis.call('ZCARD', KEYS[1])
"""


# A key about to be created or refreshed: drop the tenant's expired keys from its index, refuse a new key past the
# quota, record this one's expiry. Only the tenant's own index is touched. Returns 1 (go on) or 0 (quota reached).
_ADMIT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local old = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not old and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
local expiry = now + tonumber(ARGV[1])
if not old or tonumber(old) < expiry then
  redis.call('ZADD', KEYS[1], expiry, ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], 86400000 + 60000)
return 1
"""


class RedisEphemeral:
    """Ephemeral state shared by every node that points at the same Redis (``storage.ephemeral_url``).

    Each tenant has an index of its live keys (a sorted set by expiry) that
    bounds them to ``max_keys``, whichever node creates them.
    """

    def __init__(self, url: str, *, prefix: str = "maidcore:eph:", max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.url = url
        self.prefix = prefix
        self.max_keys = max_keys
        self._redis: Any = None
        self._counter: Any = None
        self._admit_script: Any = None

    async def start(self) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(self.url)
        await self._redis.ping()
        self._counter = self._redis.register_script(_COUNTER_LUA)
        self._admit_script = self._redis.register_script(_ADMIT_LUA)

    async def _admit(self, scope: Scope, name: str, ttl_seconds: int) -> None:
        index = self.prefix + "idx:" + ":".join(f"{len(p)}:{p}" for p in (scope.plugin_id, scope.server_id))
        if not await self._admit_script(keys=[index], args=[ttl_seconds * 1000, self.max_keys, name]):
            raise _full(self.max_keys)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def _name(self, kind: str, scope: Scope, key: str) -> str:
        # length-prefixed parts: no choice of ids or keys can make two scopes share a name
        parts = (scope.plugin_id, scope.server_id, key)
        return self.prefix + kind + ":" + ":".join(f"{len(p)}:{p}" for p in parts)

    async def counter(self, scope: Scope, key: str, window_seconds: int) -> int:
        check_key(key)
        window = clamp_ttl(window_seconds, "window_seconds")
        # the Redis server's clock, so every node agrees on the window
        seconds, micros = await self._redis.time()
        now = seconds + micros / 1e6
        name = self._name("counter", scope, key)
        await self._admit(scope, name, window)
        return int(await self._counter(keys=[name], args=[now, window, f"{now}:{uuid.uuid4().hex}"]))

    async def cooldown_set(self, scope: Scope, key: str, ttl_seconds: int) -> None:
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        name = self._name("cooldown", scope, check_key(key))
        await self._admit(scope, name, ttl)
        await self._redis.set(name, b"1", px=ttl * 1000)

    async def cooldown_check(self, scope: Scope, key: str) -> tuple[bool, float]:
        ms = await self._redis.pttl(self._name("cooldown", scope, check_key(key)))
        return (True, round(ms / 1000, 3)) if ms > 0 else (False, 0.0)

    async def dedup(self, scope: Scope, key: str, ttl_seconds: int) -> bool:
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        name = self._name("dedup", scope, check_key(key))
        if await self._redis.exists(name):
            return False
        await self._admit(scope, name, ttl)
        return bool(await self._redis.set(name, b"1", px=ttl * 1000, nx=True))

    async def flag_set(self, scope: Scope, key: str, ttl_seconds: int) -> None:
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        name = self._name("flag", scope, check_key(key))
        await self._admit(scope, name, ttl)
        await self._redis.set(name, b"1", px=ttl * 1000)

    async def flag_check(self, scope: Scope, key: str) -> bool:
        return bool(await self._redis.exists(self._name("flag", scope, check_key(key))))
