"""The extension registers its limiter through the same hook a third party would use."""

from __future__ import annotations

from maidcore_limits import LimitsRateLimiter
from maidcore_limits.limiter import masked_uri
from maidcore_limits.settings import RateLimitSettings

from maidcore.extensions import Extensions
from maidcore.layers import Bucket, LayerContext, RateLimiter


async def test_hook_registers_limits_built_from_settings(tmp_path):
    extensions = Extensions.load(environ={"MAIDCORE_LOAD_EXTENSIONS": "limits"})
    factory = extensions.rate_limiters()["limits"]
    settings = RateLimitSettings(events_per_second=7, proxy_requests_per_minute=9)
    limiter = factory(LayerContext("limits", settings, tmp_path))
    try:
        assert isinstance(limiter, LimitsRateLimiter) and isinstance(limiter, RateLimiter)
        assert limiter.items[Bucket.EVENTS].amount == 7
        assert limiter.items[Bucket.PROXY].amount == 9
    finally:
        await limiter.close()


def test_status_never_shows_a_storage_password():
    assert masked_uri("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert masked_uri("redis://user:pw@h:6379") == "redis://user:***@h:6379"
    assert masked_uri("redis://h:6379") == "redis://h:6379"
    assert masked_uri("memory://") == "memory://"
