"""maidcore's default rate limiter (`limits` moving windows on memory:// or redis://)."""

from maidcore_limits.limiter import LimitsRateLimiter

__all__ = ["LimitsRateLimiter"]
