"""``ctx.ephemeral`` (§4.6): sliding-window counters, cooldowns, dedup and flags; fast, not durable.

``MemoryEphemeral`` serves one node from process memory. ``RedisEphemeral``
shares the state between nodes: each primitive is one atomic Redis step (a Lua
script over a sorted set for the sliding window, ``SET NX PX`` for dedup).
``PostgresEphemeral`` (``maidcore_sqlmodel.pg_ephemeral``) shares it through
PostgreSQL, for clusters without Redis: one statement or PL/pgSQL call per
primitive. ``make_ephemeral`` picks one by ``storage.ephemeral_url``'s scheme.
A sliding-window counter keeps at most ``storage.ephemeral_counter_slots``
entries however often it is hit (``_Window``).
Every primitive has its own key space per (plugin, server), and each (plugin,
server) holds at most ``storage.ephemeral_max_keys`` live keys (``QUOTA_EXCEEDED``
past it); what one call costs depends on its own tenant's keys only.
"""

from __future__ import annotations

import heapq
import math
import time
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
# Entries one counter keeps: hits closer together than window / this share one entry (see ``_Window``).
DEFAULT_COUNTER_SLOTS = 1_000
# Entries all of one tenant's counters keep together; past it, a hit joins its counter's newest entry.
DEFAULT_COUNTER_ENTRIES = 100_000


def _full(max_keys: int) -> QuotaExceeded:
    return QuotaExceeded("ephemeral keys", max_keys, "per server and plugin; let keys expire or reuse them")


class _Window:
    """One sliding-window counter in at most ``slots`` entries, whatever the number of hits.

    Each entry is the time of its first hit and its number of hits. A hit opens a new entry
    only when the newest one began at least ``window / slots`` ago, fewer than
    ``slots`` are kept and the tenant's budget of entries has room; otherwise
    it joins the newest. The count is exact; a hit that joined an entry leaves
    the window with that entry's first hit, at most ``window / slots`` early
    (60 ms of a 60 s window at the default 1,000 slots) while the tenant is
    within its budget. Hits at the same instant lose nothing at all.
    """

    __slots__ = ("hits", "starts", "total", "window")

    def __init__(self, window: int) -> None:
        # entry i: its first hit's time and its hits (two deques: ~40 bytes an entry, not a list's ~120)
        self.starts: deque[float] = deque()
        self.hits: deque[int] = deque()
        self.total = 0
        self.window = window

    def __len__(self) -> int:
        return len(self.starts)

    def hit(self, now: float, window: int, slots: int, may_open: bool) -> int:
        self.window = window
        starts, hits = self.starts, self.hits
        while starts and starts[0] <= now - window:
            starts.popleft()
            self.total -= hits.popleft()
        if starts and (not may_open or now - starts[-1] < window / slots or len(starts) >= slots):
            hits[-1] += 1
        else:
            starts.append(now)
            hits.append(1)
        self.total += 1
        return self.total

    def idle(self, now: float) -> bool:
        return not self.starts or self.starts[-1] <= now - self.window


class _ScopeState:
    """One (server, plugin)'s ephemeral state: nothing another tenant stores is ever swept or counted with it."""

    __slots__ = ("entries", "expiring", "heap", "idle_swept", "windows")

    def __init__(self) -> None:
        self.windows: dict[str, _Window] = {}
        self.entries = 0  # entries of all its windows together
        self.idle_swept = -math.inf  # when idle windows were last dropped to make room for entries
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
        for key, window in list(self.windows.items()):
            if window.idle(now):
                self.entries -= len(window)
                del self.windows[key]

    def keys(self) -> int:
        return len(self.expiring) + len(self.windows)


class MemoryEphemeral:
    """One node's ephemeral state, per (server, plugin): a call's cost depends on its own tenant's keys only.

    A tenant holds at most ``max_keys`` live keys (cooldowns, dedup marks, flags
    and counter windows together); a new one past that is ``QUOTA_EXCEEDED``.
    A counter keeps at most ``counter_slots`` entries (``_Window``), and all of
    a tenant's counters at most about ``counter_entries``.
    """

    def __init__(
        self,
        *,
        clock=time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
        counter_slots: int = DEFAULT_COUNTER_SLOTS,
        counter_entries: int = DEFAULT_COUNTER_ENTRIES,
    ) -> None:
        self._clock = clock
        self.max_keys = max_keys
        self.counter_slots = counter_slots
        self.counter_entries = counter_entries
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
        if state.entries >= self.counter_entries and now - state.idle_swept >= 1:  # at most once a second
            state.idle_swept = now
            state.drop_idle_windows(now)
        counter = state.windows.get(key)
        if counter is None:
            self._room(state, now)
            counter = state.windows[key] = _Window(window)
        before = len(counter)
        count = counter.hit(now, window, self.counter_slots, state.entries < self.counter_entries)
        state.entries += len(counter) - before
        return count

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


# A key about to be created or refreshed. KEYS[1] the tenant's index of live keys (a sorted set by expiry in ms),
# KEYS[2] the tenant's hash of entries per counter (field "" = all together). ARGV[1] the key's TTL in ms, ARGV[2] the
# key quota, ARGV[3] the key's name. Drops the tenant's expired keys from its index (and their counters' entries from
# the hash), refuses a new key past the quota (return 0), records this one's expiry. Only the tenant's own keys are
# touched. ``t`` (the Redis server's clock) is left for what follows.
_ADMIT_STEP = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if #expired > 0 then
  local freed = 0
  for _, name in ipairs(expired) do
    local n = redis.call('HGET', KEYS[2], name)
    if n then
      freed = freed + tonumber(n)
      redis.call('HDEL', KEYS[2], name)
    end
  end
  if freed > 0 then
    redis.call('HINCRBY', KEYS[2], '', -freed)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
end
local old = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not old and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
local expiry = now_ms + tonumber(ARGV[1])
if not old or tonumber(old) < expiry then
  redis.call('ZADD', KEYS[1], expiry, ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], 86400000 + 60000)
redis.call('PEXPIRE', KEYS[2], 86400000 + 60000)
"""

_ADMIT_LUA = _ADMIT_STEP + "return 1\n"

# Admit, then one hit of a sliding window in bounded entries (as ``_Window``), in one atomic step. KEYS[3] the
# counter's sorted set of entries by the time of their first hit (ARGV[3] names it), KEYS[4] a hash of each entry's
# hits plus "total" and "seq". ARGV[4] the window in s, ARGV[5] the slots, ARGV[6] the tenant's budget of entries,
# ARGV[7] (tests only) the time to use instead of the server's. Either counter key lost alone (evicted) starts the
# counter afresh rather than miscounting. Returns the count (0: key quota reached).
_COUNTER_LUA = (
    _ADMIT_STEP
    + """
local now = tonumber(ARGV[7]) or (tonumber(t[1]) + tonumber(t[2]) / 1000000)
local window = tonumber(ARGV[4])
local slots = tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[4]) == 0 then
  redis.call('DEL', KEYS[3])
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - window)
if #gone > 0 then
  local drop = 0
  for _, entry in ipairs(gone) do
    drop = drop + tonumber(redis.call('HGET', KEYS[4], entry) or '0')
    redis.call('HDEL', KEYS[4], entry)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
  redis.call('HINCRBY', KEYS[4], 'total', -drop)
end
local kept = redis.call('ZCARD', KEYS[3])
if kept == 0 then
  redis.call('DEL', KEYS[4])
end
local entry
local newest = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
local budget_full = tonumber(redis.call('HGET', KEYS[2], '') or '0') >= tonumber(ARGV[6])
if kept > 0 and (budget_full or now - tonumber(newest[2]) < window / slots or kept >= slots) then
  entry = newest[1]
else
  entry = tostring(redis.call('HINCRBY', KEYS[4], 'seq', 1))
  redis.call('ZADD', KEYS[3], now, entry)
  kept = kept + 1
end
redis.call('HINCRBY', KEYS[4], entry, 1)
local total = redis.call('HINCRBY', KEYS[4], 'total', 1)
redis.call('PEXPIRE', KEYS[3], math.ceil(window * 1000))
redis.call('PEXPIRE', KEYS[4], math.ceil(window * 1000))
local before = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
if kept ~= before then
  redis.call('HSET', KEYS[2], ARGV[3], kept)
  redis.call('HINCRBY', KEYS[2], '', kept - before)
end
return total
"""
)


class RedisEphemeral:
    """Ephemeral state shared by every node that points at the same Redis (``storage.ephemeral_url``).

    Each tenant has an index of its live keys (a sorted set by expiry) that
    bounds them to ``max_keys``, whichever node creates them: one script
    counts and adds. A counter keeps at most ``counter_slots`` entries, as
    ``_Window`` does, and a tenant's counters about ``counter_entries``
    together (a hash per tenant keeps the number of each, reconciled when the
    index drops an expired counter).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "maidcore:eph:",
        max_keys: int = DEFAULT_MAX_KEYS,
        counter_slots: int = DEFAULT_COUNTER_SLOTS,
        counter_entries: int = DEFAULT_COUNTER_ENTRIES,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.max_keys = max_keys
        self.counter_slots = counter_slots
        self.counter_entries = counter_entries
        self._redis: Any = None
        self._counter: Any = None
        self._admit_script: Any = None

    async def start(self) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(self.url)
        await self._redis.ping()
        self._counter = self._redis.register_script(_COUNTER_LUA)
        self._admit_script = self._redis.register_script(_ADMIT_LUA)

    def _tenant_keys(self, scope: Scope) -> list[str]:
        tenant = ":".join(f"{len(p)}:{p}" for p in (scope.plugin_id, scope.server_id))
        return [self.prefix + "idx:" + tenant, self.prefix + "entries:" + tenant]

    async def _admit(self, scope: Scope, name: str, ttl_seconds: int) -> None:
        if not await self._admit_script(keys=self._tenant_keys(scope), args=[ttl_seconds * 1000, self.max_keys, name]):
            raise _full(self.max_keys)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def _name(self, kind: str, scope: Scope, key: str) -> str:
        # length-prefixed parts: no choice of ids or keys can make two scopes share a name
        parts = (scope.plugin_id, scope.server_id, key)
        return self.prefix + kind + ":" + ":".join(f"{len(p)}:{p}" for p in parts)

    async def counter(self, scope: Scope, key: str, window_seconds: int, *, _now: float | None = None) -> int:
        check_key(key)
        window = clamp_ttl(window_seconds, "window_seconds")
        name = self._name("counter", scope, key)
        keys = [*self._tenant_keys(scope), name, self._name("counter-hits", scope, key)]
        args = [window * 1000, self.max_keys, name, window, self.counter_slots, self.counter_entries]
        if _now is not None:
            args.append(_now)
        count = int(await self._counter(keys=keys, args=args))
        if not count:
            raise _full(self.max_keys)
        return count

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


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def make_ephemeral(url: str | None, *, prefix: str = "maidcore:eph:", **bounds: int) -> Any:
    """The store ``storage.ephemeral_url`` names: none = this process's memory, else Redis or PostgreSQL by scheme."""
    if not url:
        return MemoryEphemeral(**bounds)
    if url.startswith(REDIS_SCHEMES):
        return RedisEphemeral(url, prefix=prefix, **bounds)
    if url.startswith(POSTGRES_SCHEMES):
        from maidcore_sqlmodel.pg_ephemeral import PostgresEphemeral

        return PostgresEphemeral(url, prefix=prefix, **bounds)
    scheme = url.split("://", 1)[0] + "://" if "://" in url else url[:20]
    raise ValueError(
        f"storage.ephemeral_url: no ephemeral store for {scheme!r}; "
        "use redis:// (or rediss://, unix://) or postgresql:// (or postgres://), or leave it unset for process memory"
    )
