"""Registers the ``limits`` rate limiter with maidcore, through the same hook a third party would use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl
from maidcore_limits.limiter import LimitsRateLimiter

if TYPE_CHECKING:
    from maidcore.layers import RegisterRateLimiter
    from maidcore.platform import Platform


def build_limiter(platform: Platform) -> LimitsRateLimiter:
    """Layer factory: one limiter for the platform, from ``settings.limits``."""
    return LimitsRateLimiter(platform.settings.limits)


@hookimpl
def register_rate_limiters(register: RegisterRateLimiter) -> None:
    register("limits", build_limiter)


@hookimpl
def register_settings(register) -> None:
    from maidcore_limits.settings import RateLimitSettings

    register("limits", RateLimitSettings)
