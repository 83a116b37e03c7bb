"""Errors the host answers a plugin's call with (SDK contract §9, §10.7).

Each class carries the structured code, the JSON-RPC code and a message built
from the contract's template, so that every SDK line raises the right
exception with the right fields: the official SDKs from 0.7 on read a string
``code``, ``retry_after``, ``permission`` and ``status_code`` on the error
object itself, ours reads them under ``data``, and 0.5.x/0.6.x match the
message by substring. Layers raise these; the host API turns them into responses.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

# Keywords older SDKs search for, in the order they test them (§10.7).
_KEYWORD_ORDER: tuple[tuple[str, ...], ...] = (
    ("capability",),
    ("quota exceeded", "rate limit"),
    ("discord api error",),
    ("bot lacks", "missing permission", "lacks permission"),
    ("kv quota", "plugin_kv quota"),
    ("required",),
)
_ALL_KEYWORDS = (*tuple(k for group in _KEYWORD_ORDER for k in group), "must be", "invalid")
NEUTRAL_TEXT = "request refused"
#: Fields the official SDKs read on the error object itself (besides ``code``).
_ON_THE_ERROR = ("retry_after", "permission", "status_code")


def sanitize(text: str, *, rank: int | None = None, limit: int = 300) -> str:
    """Cut ``text`` and replace it with a neutral phrase if it holds a keyword an older SDK would misread.

    ``rank`` is the position of the error's own rule in the keyword order; only
    keywords of earlier rules are forbidden. ``None`` forbids every keyword.
    """
    text = str(text).replace("\n", " ")[:limit]
    lowered = text.lower()
    groups = _ALL_KEYWORDS if rank is None else tuple(k for g in _KEYWORD_ORDER[:rank] for k in g)
    if any(k in lowered for k in groups):
        return NEUTRAL_TEXT
    return text


class HostError(Exception):
    """Base of every error a host method can answer with."""

    code: ClassVar[str] = "RPC_ERROR"
    rpc_code: ClassVar[int] = -32000

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = {k: v for k, v in data.items() if v is not None}

    def to_rpc(self) -> dict[str, Any]:
        """The ``error`` object: the string code and its fields on it (official SDKs 0.7+) and under ``data``
        (ours). ``rpc_code``, the JSON-RPC number, is not sent: no SDK line reads it."""
        fields = {k: self.data[k] for k in _ON_THE_ERROR if k in self.data}
        return {"code": self.code, "message": self.message, **fields, "data": {"code": self.code, **self.data}}


class CapabilityDenied(HostError):
    code = "CAPABILITY_DENIED"
    rpc_code = -32001

    def __init__(self, capability: str, method: str, *, detail: str = "") -> None:
        msg = f"capability {capability} is not granted for {method}"
        if detail:
            msg += f" ({sanitize(detail, rank=None)})"
        super().__init__(msg, capability=capability)


class RateLimited(HostError):
    code = "RATE_LIMITED"
    rpc_code = -32002

    def __init__(self, bucket: str, retry_after: float) -> None:
        # "remaining=0/min" lets a 0.5.x SDK derive retry_after=60; ours reads data.retry_after.
        super().__init__(f"{bucket} rate limit exceeded (remaining=0/min)", retry_after=float(retry_after))
        self.retry_after = float(retry_after)


class QuotaExceeded(HostError):
    """A per-(server, plugin) bound was reached (requests in flight, ephemeral keys, metric series, secrets).

    ``QUOTA_EXCEEDED`` is the official SDK's code for it (raised there as ``RateLimitError``); the
    message holds "quota exceeded" for SDKs that match by substring. ``retry_after`` is given when
    waiting helps (a per-minute bound, requests in flight), else omitted.
    """

    code = "QUOTA_EXCEEDED"
    rpc_code = -32002

    def __init__(self, quota: str, limit: int | float, detail: str = "", *, retry_after: float | None = None) -> None:
        text = f"{quota} quota exceeded (limit {limit:g})"
        if detail:
            text += f": {sanitize(detail, rank=1)}"
        super().__init__(text, quota=quota, limit=limit, retry_after=retry_after)
        self.retry_after = retry_after


class DiscordApiFailed(HostError):
    code = "DISCORD_API_ERROR"
    rpc_code = -32003

    def __init__(self, status_code: int, detail: str = "") -> None:
        text = sanitize(detail, rank=2) if detail else ""
        super().__init__(f"discord api error {int(status_code)} {text}".rstrip(), status_code=int(status_code))
        self.status_code = int(status_code)


class BotMissingPermission(HostError):
    code = "BOT_MISSING_PERMISSION"
    rpc_code = -32004

    def __init__(self, permission: str) -> None:
        super().__init__(f"bot lacks permission {permission}", permission=permission)
        self.permission = permission


class KvQuotaExceeded(HostError):
    code = "KV_QUOTA_EXCEEDED"
    rpc_code = -32005

    def __init__(self, detail: str) -> None:
        super().__init__(f"kv quota reached: {sanitize(detail, rank=4)}")


class InvalidArgument(HostError):
    code = "VALIDATION_ERROR"
    rpc_code = -32602

    def __init__(self, field: str, constraint: str) -> None:
        field = re.sub(r"[^A-Za-z0-9_.\[\]-]", "_", field)[:64] or "argument"
        super().__init__(f"invalid {field}: {field} is required and must be {sanitize(constraint, rank=5)}")
        self.field = field


class HostTimeout(HostError):
    code = "RPC_TIMEOUT"
    rpc_code = -32006

    def __init__(self, method: str, seconds: float) -> None:
        super().__init__(f"{sanitize(method)} timed out after {seconds:g}s")


class RpcFailure(HostError):
    """Anything else; the text is free but may hold none of the keywords."""

    code = "RPC_ERROR"
    rpc_code = -32000

    def __init__(self, message: str, *, rpc_code: int = -32000) -> None:
        super().__init__(sanitize(message))
        self.rpc_code = rpc_code  # type: ignore[misc]


class UnknownMethod(RpcFailure):
    def __init__(self, method: str) -> None:
        super().__init__(f"unknown method: {method}", rpc_code=-32601)
