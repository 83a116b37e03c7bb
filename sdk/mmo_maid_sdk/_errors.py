"""The exceptions an SDK call can raise (contract §9) and how host error responses map onto them (§10.7)."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: keep typing out of the plugin process
    from typing import Any

__all__ = [
    "CapabilityError",
    "DiscordApiError",
    "KvQuotaError",
    "RateLimitError",
    "RpcError",
    "RpcTimeoutError",
    "SdkError",
    "SdkPermissionError",
    "ValidationError",
]


class SdkError(Exception):
    """Base class of every SDK error; catch it to handle anything the platform refused."""

    code: str = "SDK_ERROR"
    _default_message = ""

    def __init__(self, message: str | None = None, *args: Any) -> None:
        if message is None:
            message = self._default_message
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class CapabilityError(SdkError):
    """The call is not covered by the plugin's effective capabilities (or the proxy host is undeclared)."""

    code = "CAPABILITY_DENIED"
    _default_message = "Capability not granted"


class RateLimitError(SdkError):
    """A platform rate limit was hit; retry after ``retry_after`` seconds."""

    code = "RATE_LIMITED"
    _default_message = "Rate limit exceeded"

    def __init__(self, message: str | None = None, retry_after: float = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DiscordApiError(SdkError):
    """Discord answered with a non-2xx status not covered by another class."""

    code = "DISCORD_API_ERROR"
    _default_message = "Discord API error"

    def __init__(self, message: str | None = None, status_code: int = 0) -> None:
        super().__init__(message)
        self.status_code = status_code


class SdkPermissionError(SdkError):
    """The bot lacks a Discord permission; ``permission`` names it (lower case)."""

    code = "BOT_MISSING_PERMISSION"
    _default_message = "Missing permission"

    def __init__(self, message: str | None = None, permission: str = "") -> None:
        super().__init__(message)
        self.permission = permission


class ValidationError(SdkError):
    """Arguments that can never be valid, or an interaction used outside its rules."""

    code = "VALIDATION_ERROR"


class KvQuotaError(SdkError):
    """The 10,000-key quota or the 64 KB value limit of the KV store."""

    code = "KV_QUOTA_EXCEEDED"


class RpcTimeoutError(SdkError):
    """The host did not answer in time (or reported a host-side timeout)."""

    code = "RPC_TIMEOUT"


class RpcError(SdkError, RuntimeError):
    """Any other host error. Still a ``RuntimeError``, as the 0.5.x SDK raised for these."""

    code = "RPC_ERROR"

    def __init__(self, message: str | None = None, method: str = "") -> None:
        super().__init__(message)
        self.method = method

    def __str__(self) -> str:
        return f"RPC error ({self.method}): {self.message}"


_BY_CODE: dict[str, type[SdkError]] = {
    cls.code: cls
    for cls in (
        CapabilityError,
        RateLimitError,
        DiscordApiError,
        SdkPermissionError,
        KvQuotaError,
        ValidationError,
        RpcTimeoutError,
        RpcError,
    )
}
_REMAINING = re.compile(r"remaining=(-?\d+(?:\.\d+)?)/min", re.IGNORECASE)
_PERMISSION = re.compile(r"permission\s+([A-Za-z_]+)", re.IGNORECASE)


def _class_from_text(text: str) -> type[SdkError]:
    """The 0.5.x substring mapping, with ``kv quota`` tested before ``quota exceeded``."""
    t = text.lower()
    if "capability" in t:
        return CapabilityError
    if "kv quota" in t or "plugin_kv quota" in t:
        return KvQuotaError
    if "quota exceeded" in t or "rate limit" in t:
        return RateLimitError
    if "discord api error" in t:
        return DiscordApiError
    if "bot lacks" in t or "missing permission" in t or "lacks permission" in t:
        return SdkPermissionError
    if "required" in t and ("must be" in t or "invalid" in t):
        return ValidationError
    return RpcError


def _retry_after(text: str) -> float:
    m = _REMAINING.search(text)
    if not m:
        return 5.0
    remaining = float(m.group(1))
    return 60.0 if remaining <= 0 else max(1.0, float(int(60 / remaining)))


def _status_code(text: str) -> int:
    for token in text.split():
        if token.isdigit():
            return int(token)
    return 0


def error_from_response(method: str, error: Any, *, default_permission: str = "") -> SdkError:
    """Build the exception for a host ``error`` (an object with ``data.code``, an object without, or a bare string)."""
    data: dict[str, Any] = {}
    if isinstance(error, dict):
        text = str(error.get("message", ""))
        if isinstance(error.get("data"), dict):
            data = error["data"]
    else:
        text = str(error)
    cls = _BY_CODE.get(data.get("code")) if isinstance(data.get("code"), str) else None
    if cls is None:
        cls = _class_from_text(text)
    if cls is RateLimitError:
        ra = data.get("retry_after")
        exc: SdkError = RateLimitError(text, float(ra) if isinstance(ra, (int, float)) else _retry_after(text))
    elif cls is DiscordApiError:
        sc = data.get("status_code")
        exc = DiscordApiError(text, int(sc) if isinstance(sc, int) and not isinstance(sc, bool) else _status_code(text))
    elif cls is SdkPermissionError:
        perm = data.get("permission")
        if not isinstance(perm, str) or not perm:
            m = _PERMISSION.search(text)
            perm = m.group(1) if m else (default_permission or "unknown")
        exc = SdkPermissionError(text, perm.lower())
    elif cls is RpcError:
        exc = RpcError(text, method)
    else:
        exc = cls(text)
    return exc
