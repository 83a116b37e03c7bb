"""``Coordinator`` on Redis: keys with expiry for leases and membership, a Stream per shard for events.

Keys (all under ``<prefix>:``):

- ``node:<id>``: a live node's heartbeat (expires); ``nodes`` a sorted set of ids by last beat.
- ``lease:<shard>``: ``"<node> <token>"`` of the holder, expiring ``lease_seconds`` after the last renewal;
  ``fence:<shard>`` the counter its tokens come from, so a later holder always has a larger token.
- ``events:<shard>``: the shard's event log, a Stream with one consumer group (``GROUP``); appending
  checks the lease in the same script, so a node that lost its shard cannot add to its log.
- ``seen:<shard>``: the source keys of the last ``SEEN_KEPT`` events appended to the shard's log (a sorted
  set by Redis time), checked and added in the append's script: an event whose key is there is not appended.
- ``once:<key>``: set-if-absent markers of things done once across the cluster.
- ``identify:<bucket>``: when the next IDENTIFY of a max_concurrency bucket may be sent.
- ``state:<key>``: JSON values layers share (expiring); ``due:<queue>`` sorted sets of members by due time.
- ``budget:<key>``: counters layers spend from (``spend``), expiring ``ttl`` after their first spend.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from maidcore.cluster.coordinator import Lease, LeaseLost, LoggedEvent, ShardState

GROUP = "maidcore"

# KEYS: lease, fence. ARGV: node, ttl ms. Returns the new token, or nil when held.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token
"""
# KEYS: lease. ARGV: "<node> <token>", ttl ms.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: lease, stream, seen. ARGV: "<node> <token>", record, source key ('' for none), keys kept.
# Returns the entry id, '' when the source key was appended already, or nil when fenced off.
_APPEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
if ARGV[3] ~= '' then
  local t = redis.call('TIME')
  if redis.call('ZADD', KEYS[3], 'NX', t[1] * 1000000 + t[2], ARGV[3]) == 0 then return '' end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[4]))
end
return redis.call('XADD', KEYS[2], '*', 'r', ARGV[2])
"""
# The newest source keys kept per shard (~80 bytes each). A replay covers only the events recorded after
# the last resume point written (every 0.5 s), so it must stay well above a shard's events per second.
SEEN_KEPT = 10_000
# KEYS: identify. ARGV: now ms, interval ms. Returns ms to wait before identifying.
_IDENTIFY = """
local now = tonumber(ARGV[1])
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, next_at)
redis.call('SET', KEYS[1], tostring(at + tonumber(ARGV[2])), 'PX', tonumber(ARGV[2]) + (at - now) + 1000)
return at - now
"""

# KEYS: budget. ARGV: amount, limit, ttl ms. Returns the new count, or -1 (nothing counted) past the limit.
_SPEND = """
local amount = tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if amount > 0 and held + amount > tonumber(ARGV[2]) then return -1 end
if amount < 0 and held == 0 then return 0 end
local n = redis.call('INCRBY', KEYS[1], amount)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return n
"""

# KEYS: state keys. ARGV: ttl ms, then one JSON value per key.
_PUT_MANY = """
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1]) end
return #KEYS
"""
PUT_CHUNK = 1000  # keys per script call (Redis runs a script alone: keep each short)

# KEYS: due queue. ARGV: now, limit. Pops the members due by now (one caller gets each).
_DUE_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


class RedisCoordinator:
    """The default ``Coordinator`` (contract: ``maidcore.cluster.coordinator``)."""

    def __init__(self, url: str, prefix: str = "maidcore") -> None:
        self.url = url
        self.prefix = prefix
        self.redis: aioredis.Redis | None = None
        self._groups: set[int] = set()

    def key(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    @property
    def r(self) -> aioredis.Redis:
        if self.redis is None:
            raise RuntimeError("the Redis coordinator is not started")
        return self.redis

    async def start(self) -> None:
        # short timeouts: a node cut off from Redis must notice within a lease, not hang in a call
        self.redis = aioredis.from_url(
            self.url, decode_responses=True, socket_timeout=5.0, socket_connect_timeout=2.0, max_connections=256
        )
        await self.redis.ping()
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        self._append = self.redis.register_script(_APPEND)
        self._identify = self.redis.register_script(_IDENTIFY)
        self._due_take = self.redis.register_script(_DUE_TAKE)
        self._spend = self.redis.register_script(_SPEND)
        self._put_many = self.redis.register_script(_PUT_MANY)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None

    # --- membership --------------------------------------------------------------------

    async def heartbeat(self, node: str, ttl: float) -> None:
        now = time.time()
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.set(self.key("node", node), str(now), px=int(ttl * 1000))
            pipe.zadd(self.key("nodes"), {node: now})
            pipe.zremrangebyscore(self.key("nodes"), "-inf", now - 3600)
            await pipe.execute()

    async def live_nodes(self) -> list[str]:
        names = await self.r.zrange(self.key("nodes"), 0, -1)
        if not names:
            return []
        alive = await self.r.mget([self.key("node", n) for n in names])
        return sorted(n for n, beat in zip(names, alive, strict=True) if beat is not None)

    # --- leases ----------------------------------------------------------------------------

    def _holder(self, lease: Lease) -> str:
        return f"{lease.node} {lease.token}"

    async def acquire(self, shard: int, node: str, ttl: float) -> Lease | None:
        keys = [self.key("lease", shard), self.key("fence", shard)]
        token = await self._acquire(keys=keys, args=[node, int(ttl * 1000)])
        return Lease(shard, node, int(token)) if token else None

    async def renew(self, lease: Lease, ttl: float) -> bool:
        keys = [self.key("lease", lease.shard)]
        return bool(await self._renew(keys=keys, args=[self._holder(lease), int(ttl * 1000)]))

    async def release(self, lease: Lease) -> None:
        await self._release(keys=[self.key("lease", lease.shard)], args=[self._holder(lease)])

    async def holders(self, shard_count: int) -> dict[int, Lease]:
        if shard_count <= 0:
            return {}
        values = await self.r.mget([self.key("lease", s) for s in range(shard_count)])
        held: dict[int, Lease] = {}
        for shard, value in enumerate(values):
            if value:
                node, _, token = value.rpartition(" ")
                held[shard] = Lease(shard, node, int(token))
        return held

    async def shard_count_seen(self) -> int:
        start = len(self.key("fence", ""))
        shards = [k[start:] async for k in self.r.scan_iter(self.key("fence", "*"), count=1000)]
        return max((int(s) + 1 for s in shards if s.isdigit()), default=0)

    async def shard_states(self, shards: list[int]) -> list[ShardState]:
        if not shards:
            return []
        async with self.r.pipeline(transaction=False) as pipe:
            for shard in shards:
                pipe.get(self.key("lease", shard))
                pipe.pttl(self.key("lease", shard))
                pipe.xlen(self.key("events", shard))
            replies = await pipe.execute()
        states: list[ShardState] = []
        for n, shard in enumerate(shards):
            value, ttl_ms, logged = replies[3 * n : 3 * n + 3]
            lease = None
            if value:
                node, _, token = value.rpartition(" ")
                lease = Lease(shard, node, int(token))
            handed_out = 0
            if logged:  # XPENDING of a stream without the group is an error: a log that was never read
                try:
                    handed_out = int((await self.r.xpending(self.key("events", shard), GROUP))["pending"])
                except ResponseError:
                    handed_out = 0
            expires_in = max(0.0, ttl_ms / 1000) if lease is not None and ttl_ms >= 0 else None
            states.append(ShardState(shard, lease, expires_in, int(logged), handed_out))
        return states

    async def identify_slot(self, bucket: str, interval: float) -> float:
        wait_ms = await self._identify(
            keys=[self.key("identify", bucket)], args=[int(time.time() * 1000), int(interval * 1000)]
        )
        return int(wait_ms) / 1000

    # --- once ---------------------------------------------------------------------------------

    async def once(self, key: str, ttl: float) -> bool:
        return bool(await self.r.set(self.key("once", key), "1", nx=True, px=max(1, int(ttl * 1000))))

    # --- shared state ---------------------------------------------------------------------------

    async def state_get(self, key: str) -> Any | None:
        raw = await self.r.get(self.key("state", key))
        return json.loads(raw) if raw is not None else None

    async def state_put(self, key: str, value: Any, ttl: float) -> None:
        await self.r.set(self.key("state", key), json.dumps(value), px=max(1, int(ttl * 1000)))

    async def spend(self, key: str, amount: int, limit: int, ttl: float) -> int | None:
        n = int(
            await self._spend(keys=[self.key("budget", key)], args=[int(amount), int(limit), max(1, int(ttl * 1000))])
        )
        return None if n < 0 else n

    async def state_put_many(self, values: dict[str, Any], ttl: float) -> None:
        # one script call per chunk: an eighth of the client CPU of a pipeline of SETs (measured, 2,000 keys)
        ttl_ms = max(1, int(ttl * 1000))
        items = list(values.items())
        for start in range(0, len(items), PUT_CHUNK):
            chunk = items[start : start + PUT_CHUNK]
            keys = [self.key("state", key) for key, _ in chunk]
            await self._put_many(keys=keys, args=[ttl_ms, *(json.dumps(value) for _, value in chunk)])

    async def due_add(self, queue: str, member: str, at: float) -> None:
        await self.r.zadd(self.key("due", queue), {member: at})

    async def due_take(self, queue: str, now: float, limit: int) -> list[str]:
        return list(await self._due_take(keys=[self.key("due", queue)], args=[repr(now), limit]))

    # --- event log ----------------------------------------------------------------------------

    async def _group(self, shard: int) -> str:
        stream = self.key("events", shard)
        if shard not in self._groups:
            try:
                await self.r.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._groups.add(shard)
        return stream

    async def append(self, lease: Lease, record: dict[str, Any], *, source_key: str | None = None) -> str | None:
        stream = await self._group(lease.shard)
        entry = await self._append(
            keys=[self.key("lease", lease.shard), stream, self.key("seen", lease.shard)],
            args=[self._holder(lease), json.dumps(record), source_key or "", SEEN_KEPT],
        )
        if entry is None:
            raise LeaseLost(f"shard {lease.shard}: lease token {lease.token} of {lease.node} is no longer current")
        return str(entry) or None

    async def read_new(self, lease: Lease, consumer: str, count: int, block: float) -> list[LoggedEvent]:
        stream = await self._group(lease.shard)
        reply = await self.r.xreadgroup(GROUP, consumer, {stream: ">"}, count=count, block=max(1, int(block * 1000)))
        events: list[LoggedEvent] = []
        for _, entries in reply or ():
            for entry_id, fields in entries:
                if fields:
                    events.append(LoggedEvent(entry_id, json.loads(fields["r"])))
        return events

    async def claim_pending(self, lease: Lease, consumer: str, count: int) -> list[LoggedEvent]:
        stream = await self._group(lease.shard)
        events: list[LoggedEvent] = []
        start = "-"
        while True:
            pending = await self.r.xpending_range(stream, GROUP, min=start, max="+", count=count)
            if not pending:
                return events
            times = {p["message_id"]: int(p["times_delivered"]) for p in pending}
            claimed = await self.r.xclaim(stream, GROUP, consumer, 0, list(times))
            found = {entry_id for entry_id, fields in claimed if fields}
            for entry_id, fields in claimed:
                if fields:
                    events.append(LoggedEvent(entry_id, json.loads(fields["r"]), times.get(entry_id, 1) + 1))
            gone = [entry_id for entry_id in times if entry_id not in found]
            if gone:  # deleted from the log already: nothing left to deliver
                await self.r.xack(stream, GROUP, *gone)
            if len(pending) < count:
                return events
            start = "(" + pending[-1]["message_id"]

    async def ack(self, shard: int, entry_ids: list[str]) -> None:
        if not entry_ids:
            return
        stream = self.key("events", shard)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.xack(stream, GROUP, *entry_ids)
            pipe.xdel(stream, *entry_ids)
            await pipe.execute()

    async def pending(self, shard: int) -> int:
        stream = await self._group(shard)
        info = await self.r.xpending(stream, GROUP)
        return int(info["pending"])
