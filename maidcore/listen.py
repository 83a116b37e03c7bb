"""A listening socket that cannot be opened is a start-up error naming the setting that moves it."""

from __future__ import annotations

from maidcore.platform import PlatformError


class CannotListen(PlatformError):
    """``what`` cannot listen on ``host:port`` (in use, or not an address of this machine)."""


def cannot_listen(what: str, host: str, port: int, exc: OSError, fix: str) -> CannotListen:
    """The error for ``exc`` raised binding ``host:port``; ``fix`` says which setting (or flag) to change."""
    reason = exc.strerror or str(exc)
    hint = " (another maidcore serve, or another program, is using it)" if exc.errno == 98 else ""
    return CannotListen(f"{what} cannot listen on {host}:{port}: {reason}{hint}; {fix}")
