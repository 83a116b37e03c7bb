"""The ``[limits]`` settings section (``MAIDCORE_LIMITS__*``) of the ``limits`` rate limiter."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, field_validator


class RateLimitSettings(BaseModel):
    storage_uri: str = "memory://"  # any `limits` storage URI, e.g. redis://127.0.0.1:6379
    events_per_second: int = 50
    discord_actions_per_minute: int = 60
    proxy_requests_per_minute: int = 30
    over_limit_events: Literal["drop", "delay"] = "drop"
    delay_bound_seconds: float = 2.0  # with "delay": events that cannot pass within this bound are dropped
    key_prefix: str = "maidcore"  # Redis key prefix; nodes sharing one limit must use the same prefix
    redis_max_connections: int = 32  # per process; callers wait for a free connection

    @field_validator("storage_uri")
    @classmethod
    def _a_storage_limits_has(cls, value: str) -> str:
        """A scheme the `limits` library (plus this extension's PostgreSQL storage) has, checked when settings load."""
        import limits.storage

        from maidcore_limits import pg_storage  # noqa: F401 - registers postgresql:// with limits

        scheme, sep, _ = value.partition("://")
        if not sep or f"async+{scheme.removeprefix('async+')}" not in limits.storage.SCHEMES:
            known = sorted({s.removeprefix("async+") for s in limits.storage.SCHEMES})
            raise ValueError(
                f"limits.storage_uri must be a storage URI such as memory://, redis://host:6379/0 or "
                f"postgresql://user@host/db; schemes known: {', '.join(known)}"
            )
        return value
