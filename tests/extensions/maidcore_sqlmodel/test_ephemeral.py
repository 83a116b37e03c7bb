"""ctx.ephemeral (§4.6) in process memory and in Redis: the same behaviour, isolation and expiry."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from maidcore_sqlmodel.ephemeral import MemoryEphemeral, RedisEphemeral

from maidcore.errors import InvalidArgument
from maidcore.scope import Scope


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def ephemeral(request):
    if request.param == "memory":
        store = MemoryEphemeral()
        await store.start()
        yield store
        await store.close()
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"maidcore-test:{uuid.uuid4().hex}:"
    store = RedisEphemeral(url, prefix=prefix)
    await store.start()
    yield store
    keys = [k async for k in store._redis.scan_iter(match=prefix + "*")]
    if keys:
        await store._redis.delete(*keys)
    await store.close()


SCOPE = Scope("100", "plugin-a")


async def test_sliding_window_counter(ephemeral):
    assert [await ephemeral.counter(SCOPE, "msgs", 1) for _ in range(3)] == [1, 2, 3]
    assert await ephemeral.counter(SCOPE, "other", 60) == 1
    await asyncio.sleep(0.6)
    assert await ephemeral.counter(SCOPE, "msgs", 1) == 4
    await asyncio.sleep(0.55)  # the first three hits left the 1 s window, the fourth did not
    assert await ephemeral.counter(SCOPE, "msgs", 1) == 2


async def test_concurrent_counter_hits_are_all_counted(ephemeral):
    counts = await asyncio.gather(*(ephemeral.counter(SCOPE, "burst", 60) for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))


async def test_cooldown(ephemeral):
    assert await ephemeral.cooldown_check(SCOPE, "cd") == (False, 0.0)
    await ephemeral.cooldown_set(SCOPE, "cd", 30)
    active, remaining = await ephemeral.cooldown_check(SCOPE, "cd")
    assert active and 29 < remaining <= 30


async def test_dedup_and_flags(ephemeral):
    assert await ephemeral.dedup(SCOPE, "event-1", 60) is True
    assert await ephemeral.dedup(SCOPE, "event-1", 60) is False
    assert await ephemeral.dedup(SCOPE, "event-2", 60) is True
    assert await ephemeral.flag_check(SCOPE, "maintenance") is False
    await ephemeral.flag_set(SCOPE, "maintenance", 60)
    assert await ephemeral.flag_check(SCOPE, "maintenance") is True


async def test_everything_expires(ephemeral):
    await ephemeral.cooldown_set(SCOPE, "x", 1)
    await ephemeral.flag_set(SCOPE, "x", 1)
    assert await ephemeral.dedup(SCOPE, "x", 1)
    await asyncio.sleep(1.1)
    assert await ephemeral.cooldown_check(SCOPE, "x") == (False, 0.0)
    assert await ephemeral.flag_check(SCOPE, "x") is False
    assert await ephemeral.dedup(SCOPE, "x", 1) is True


async def test_each_primitive_and_scope_has_its_own_key_space(ephemeral):
    await ephemeral.flag_set(SCOPE, "k", 60)
    assert await ephemeral.cooldown_check(SCOPE, "k") == (False, 0.0)
    assert await ephemeral.dedup(SCOPE, "k", 60) is True
    for other in (Scope("101", "plugin-a"), Scope("100", "plugin-b"), Scope("10", "0:plugin-a")):
        assert await ephemeral.flag_check(other, "k") is False
        assert await ephemeral.dedup(other, "k", 60) is True
        assert await ephemeral.counter(other, "k", 60) == 1


async def test_ttls_are_clamped_and_keys_checked(ephemeral):
    await ephemeral.flag_set(SCOPE, "big", 10**9)  # clamped to 86400
    assert await ephemeral.flag_check(SCOPE, "big")
    await ephemeral.cooldown_set(SCOPE, "zero", 0)  # clamped up to 1 s
    assert (await ephemeral.cooldown_check(SCOPE, "zero"))[0] is True
    for bad in ("", "x" * 257, None):
        with pytest.raises(InvalidArgument, match="key"):
            await ephemeral.flag_set(SCOPE, bad, 10)
    with pytest.raises(InvalidArgument, match="ttl_seconds"):
        await ephemeral.flag_set(SCOPE, "k", "10")


@pytest.mark.redis
async def test_two_nodes_share_state_through_redis(redis_url):
    prefix = f"maidcore-test:{uuid.uuid4().hex}:"
    a, b = RedisEphemeral(redis_url, prefix=prefix), RedisEphemeral(redis_url, prefix=prefix)
    await a.start()
    await b.start()
    try:
        assert await a.counter(SCOPE, "c", 60) == 1
        assert await b.counter(SCOPE, "c", 60) == 2
        assert await a.dedup(SCOPE, "d", 60) is True
        assert await b.dedup(SCOPE, "d", 60) is False
        await a.cooldown_set(SCOPE, "cd", 60)
        assert (await b.cooldown_check(SCOPE, "cd"))[0] is True
    finally:
        keys = [k async for k in a._redis.scan_iter(match=prefix + "*")]
        if keys:
            await a._redis.delete(*keys)
        await a.close()
        await b.close()
