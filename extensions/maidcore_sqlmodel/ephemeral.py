"""``ctx.ephemeral`` (§4.6): sliding-window counters, cooldowns, dedup and flags; fast, not durable.

``MemoryEphemeral`` serves one node from process memory. ``RedisEphemeral``
shares the state between nodes: each primitive is one atomic Redis step (a Lua
script over a sorted set for the sliding window, ``SET NX PX`` for dedup).
Every primitive has its own key space per (plugin, server).
"""

from __future__ import annotations

import heapq
import time
import uuid
from collections import deque
from typing import Any

from maidcore.errors import InvalidArgument
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


class MemoryEphemeral:
    """One node's ephemeral state, in dictionaries swept of expired entries as they are touched and periodically."""

    def __init__(self, *, clock=time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str, str], tuple[deque[float], int]] = {}
        self._expiring: dict[tuple[str, str, str, str], float] = {}  # (kind, server, plugin, key) -> deadline
        self._heap: list[tuple[float, tuple[str, str, str, str]]] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._windows.clear()
        self._expiring.clear()
        self._heap.clear()

    def _sweep(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            deadline, name = heapq.heappop(self._heap)
            if self._expiring.get(name) == deadline:
                del self._expiring[name]

    def _set(self, kind: str, scope: Scope, key: str, ttl: int) -> None:
        now = self._clock()
        self._sweep(now)
        name = (kind, scope.server_id, scope.plugin_id, key)
        self._expiring[name] = now + ttl
        heapq.heappush(self._heap, (now + ttl, name))

    def _remaining(self, kind: str, scope: Scope, key: str) -> float:
        now = self._clock()
        self._sweep(now)
        deadline = self._expiring.get((kind, scope.server_id, scope.plugin_id, key))
        return 0.0 if deadline is None else max(0.0, deadline - now)

    async def counter(self, scope: Scope, key: str, window_seconds: int) -> int:
        check_key(key)
        window = clamp_ttl(window_seconds, "window_seconds")
        now = self._clock()
        name = (scope.server_id, scope.plugin_id, key)
        hits, _ = self._windows.get(name, (deque(), window))
        while hits and hits[0] <= now - window:
            hits.popleft()
        hits.append(now)
        self._windows[name] = (hits, window)
        self._drop_idle_windows(now)
        return len(hits)

    def _drop_idle_windows(self, now: float) -> None:
        if len(self._windows) > 10_000:  # forget windows whose every hit has left the window
            for name, (hits, window) in list(self._windows.items()):
                if not hits or hits[-1] <= now - window:
                    del self._windows[name]

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


class RedisEphemeral:
    """Ephemeral state shared by every node that points at the same Redis (``storage.ephemeral_url``)."""

    def __init__(self, url: str, *, prefix: str = "maidcore:eph:") -> None:
        self.url = url
        self.prefix = prefix
        self._redis: Any = None
        self._counter: Any = None

    async def start(self) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(self.url)
        await self._redis.ping()
        self._counter = self._redis.register_script(_COUNTER_LUA)

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
        return int(await self._counter(keys=[name], args=[now, window, f"{now}:{uuid.uuid4().hex}"]))

    async def cooldown_set(self, scope: Scope, key: str, ttl_seconds: int) -> None:
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        await self._redis.set(self._name("cooldown", scope, check_key(key)), b"1", px=ttl * 1000)

    async def cooldown_check(self, scope: Scope, key: str) -> tuple[bool, float]:
        ms = await self._redis.pttl(self._name("cooldown", scope, check_key(key)))
        return (True, round(ms / 1000, 3)) if ms > 0 else (False, 0.0)

    async def dedup(self, scope: Scope, key: str, ttl_seconds: int) -> bool:
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        return bool(await self._redis.set(self._name("dedup", scope, check_key(key)), b"1", px=ttl * 1000, nx=True))

    async def flag_set(self, scope: Scope, key: str, ttl_seconds: int) -> None:
        ttl = clamp_ttl(ttl_seconds, "ttl_seconds")
        await self._redis.set(self._name("flag", scope, check_key(key)), b"1", px=ttl * 1000)

    async def flag_check(self, scope: Scope, key: str) -> bool:
        return bool(await self._redis.exists(self._name("flag", scope, check_key(key))))
