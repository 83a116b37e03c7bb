"""redis://: one limit shared by several maidcore processes, and what a flood costs Redis."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio
from maidcore_limits import LimitsRateLimiter
from maidcore_limits.settings import RateLimitSettings

from maidcore.errors import RpcFailure
from maidcore.layers import Bucket
from maidcore.scope import Scope

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[3]
A = Scope("100", "alpha")


@pytest.fixture
def prefix() -> str:
    return f"maidcore-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(redis_url):
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_two_processes_sharing_redis_enforce_one_limit(redis_url, prefix):
    start = time.time() + 1.5  # both processes are up and connected by then
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.extensions.maidcore_limits.hitter",
            redis_url,
            prefix,
            str(start),
            "25",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = []
    for proc in procs:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        outputs.append(json.loads(out))
    allowed = [o["allowed"] for o in outputs]
    # 50 attempts against 30 per minute: exactly 30 pass in total, and with at most 25 each, both took part
    assert sum(allowed) == 30, outputs
    assert all(0 < a <= 25 for a in allowed), outputs
    retry = [r for o in outputs for r in o["retry_after"]]
    assert len(retry) == 20 and all(55 < r <= 60.01 for r in retry)


async def test_a_second_process_sees_the_first_ones_window(redis_url, prefix):
    settings = RateLimitSettings(storage_uri=redis_url, key_prefix=prefix, proxy_requests_per_minute=3)
    one, two = LimitsRateLimiter(settings), LimitsRateLimiter(settings)
    try:
        assert [(await one.hit(Bucket.PROXY, A)).allowed for _ in range(3)] == [True] * 3
        refused = await two.hit(Bucket.PROXY, A)
        assert not refused.allowed and 59 < refused.retry_after <= 60.01
    finally:
        await one.close()
        await two.close()


async def commands_naming(client: redis.asyncio.Redis, prefix: str, during) -> tuple[object, list[str]]:
    """The commands Redis executed that name ``prefix`` (our limiter's keys) while ``during()`` ran, as MONITOR
    shows them: Redis's own view of this test's traffic, whatever other tests send the same server meanwhile."""
    end = f"{prefix}:end"
    seen: list[str] = []
    async with client.monitor() as monitor:
        result = await during()
        await client.echo(end)
        while True:
            command = (await asyncio.wait_for(monitor.next_command(), 30))["command"]
            if command.startswith("ECHO") and end in command:
                return result, seen
            if prefix in command:
                seen.append(command)


async def test_a_refused_flood_costs_redis_nothing_until_the_window_reopens(redis_url, prefix, redis_client):
    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri=redis_url, key_prefix=prefix))

    async def flood():
        return await asyncio.gather(*(limiter.hit(Bucket.EVENTS, A) for _ in range(1000)))

    try:
        for _ in range(50):
            assert (await limiter.hit(Bucket.EVENTS, A)).allowed
        results, commands = await commands_naming(redis_client, prefix, flood)
    finally:
        await limiter.close()
    assert not any(d.allowed for d in results)
    assert limiter.storage_calls[A] == 51  # the 50 admitted, then one refusal that is remembered
    # Redis saw that refusal's script and read: a handful of commands, not 1000
    assert 1 <= len(commands) <= 20, commands


async def test_windows_expire_in_redis(redis_url, prefix, redis_client):
    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri=redis_url, key_prefix=prefix))
    try:
        await limiter.hit(Bucket.DISCORD, A, 3)
    finally:
        await limiter.close()
    keys = [k async for k in redis_client.scan_iter(match=f"{prefix}:*")]
    assert len(keys) == 1 and b"discord/100/alpha" in keys[0]
    assert 0 < await redis_client.ttl(keys[0]) <= 60
    assert await redis_client.llen(keys[0]) == 3  # one entry per unit of cost


async def test_unreachable_redis_is_a_clear_error():
    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri="redis://:hunter2@127.0.0.1:1/0"))
    try:
        with pytest.raises(RpcFailure) as info:
            await limiter.hit(Bucket.EVENTS, A)
    finally:
        await limiter.close()
    assert info.value.message.startswith("limiter storage redis://:***@127.0.0.1:1/0 is unreachable")
    assert "hunter2" not in info.value.message
