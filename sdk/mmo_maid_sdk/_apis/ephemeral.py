"""ctx.ephemeral: short-lived counters, cooldowns, dedup and flags (contract §4.6)."""

from __future__ import annotations

from .. import _checks as C
from .._api import Method

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _ephemeral_check(a: dict[str, Any]) -> None:
    C.ephemeral_key(a["key"])


def _cooldown_result(result: Any) -> dict[str, Any]:
    out = {"active": False, "remaining_seconds": 0}
    if isinstance(result, dict):
        out.update({k: result[k] for k in ("active", "remaining_seconds") if k in result})
    return out


_TTL = (1, 86400)


EPHEMERAL: tuple[Method, ...] = (
    Method(
        "ephemeral",
        "counter",
        "key, window_seconds=60",
        None,
        "count",
        doc="Count this hit in a sliding window; returns the count within the window.",
        clamps={"window_seconds": _TTL},
        check=_ephemeral_check,
    ),
    Method(
        "ephemeral", "cooldown_set", "key, ttl_seconds=60", None, clamps={"ttl_seconds": _TTL}, check=_ephemeral_check
    ),
    Method("ephemeral", "cooldown_check", "key", None, check=_ephemeral_check, decode=_cooldown_result),
    Method(
        "ephemeral",
        "dedup",
        "key, ttl_seconds=3600",
        None,
        "is_new",
        doc="True the first time key is seen within the TTL.",
        clamps={"ttl_seconds": _TTL},
        check=_ephemeral_check,
        decode=lambda r: bool(r.get("is_new")) if isinstance(r, dict) else False,
    ),
    Method(
        "ephemeral", "flag_set", "key, ttl_seconds=3600", None, clamps={"ttl_seconds": _TTL}, check=_ephemeral_check
    ),
    Method(
        "ephemeral",
        "flag_check",
        "key",
        None,
        check=_ephemeral_check,
        decode=lambda r: bool(r.get("active")) if isinstance(r, dict) else False,
    ),
)


METHODS = EPHEMERAL
