"""Registers the ``limits`` rate limiter with maidcore, through the same hook a third party would use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl
from maidcore_limits.limiter import LimitsRateLimiter

if TYPE_CHECKING:
    from maidcore.layers import LayerContext, RegisterRateLimiter
    from maidcore_limits.settings import RateLimitSettings


def build_limiter(context: LayerContext[RateLimitSettings]) -> LimitsRateLimiter:
    """Layer factory: one limiter for the platform, from the ``[limits]`` section."""
    return LimitsRateLimiter(context.settings)


@hookimpl
def register_rate_limiters(register: RegisterRateLimiter) -> None:
    register("limits", build_limiter, settings="limits")


@hookimpl
def register_settings(register) -> None:
    from maidcore_limits.settings import RateLimitSettings

    register("limits", RateLimitSettings)
