from __future__ import annotations

import uuid

import pytest
from maidcore_limits import LimitsRateLimiter
from maidcore_limits.settings import RateLimitSettings


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis), "postgresql"])
def storage_uri(request) -> str:
    """Each semantics test runs on memory://, on the real Redis and on a real PostgreSQL (a cluster without Redis)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "postgresql":
        return request.getfixturevalue("coordinator_database")
    return request.getfixturevalue("redis_url")


@pytest.fixture
async def make_limiter(storage_uri):
    """Build limiters on the parametrised storage; each test gets its own Redis key prefix."""
    made: list[LimitsRateLimiter] = []
    prefix = f"maidcore-test-{uuid.uuid4().hex[:12]}"

    def make(**overrides) -> LimitsRateLimiter:
        settings = RateLimitSettings(storage_uri=storage_uri, key_prefix=prefix, **overrides)
        limiter = LimitsRateLimiter(settings)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()
