"""The exceptions an SDK call can raise, and how a host's error response becomes one of them.

Every class carries a stable ``code`` (class attribute; ``code=`` overrides it per instance).
``str(e)`` is the message. The runtime builds them with ``error_from_response``, which reads
a host error the way the official SDK does — a string ``code``, ``retry_after`` and
``permission`` on the error object, then the message text — and also reads ``data`` (the
structured payload older maidcore hosts send) before falling back to the text.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CapabilityError",
    "DiscordApiError",
    "KvQuotaError",
    "PermissionError",
    "RateLimitError",
    "RpcError",
    "RpcTimeoutError",
    "SdkError",
    "SdkPermissionError",
    "TimeoutError",
    "ValidationError",
]


class SdkError(Exception):
    """Base class of every SDK error; catch it to handle anything the platform refused."""

    code: str = "SDK_ERROR"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The message (also ``str(e)``)."""
        return str(self.args[0]) if self.args else ""


class CapabilityError(SdkError):
    """The plugin's effective capabilities do not cover the call (or the host is not declared)."""

    code = "CAPABILITY_DENIED"


class RateLimitError(SdkError):
    """A platform rate limit or quota was hit; retry after ``retry_after`` seconds."""

    code = "RATE_LIMITED"

    def __init__(
        self, message: str = "Rate limit exceeded", retry_after: float = 0, *, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class DiscordApiError(SdkError):
    """Discord answered with an error status no other class covers (``status_code``)."""

    code = "DISCORD_API_ERROR"

    def __init__(self, message: str = "Discord API error", status_code: int = 0, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status_code = status_code


class SdkPermissionError(SdkError):
    """The bot lacks a Discord permission; ``permission`` names it when the platform said which."""

    code = "BOT_MISSING_PERMISSION"

    def __init__(self, message: str = "Missing permission", permission: str = "", *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.permission = permission


class ValidationError(SdkError):
    """Arguments the platform refused, or an interaction used outside its rules."""

    code = "VALIDATION_ERROR"


class KvQuotaError(SdkError):
    """The KV store's key quota or value size limit."""

    code = "KV_QUOTA_EXCEEDED"


class RpcTimeoutError(SdkError):
    """The host did not answer in time."""

    code = "RPC_TIMEOUT"


class RpcError(SdkError, RuntimeError):
    """Any other host error; still a ``RuntimeError``, as 0.5.x raised for these. ``method`` is the RPC."""

    code = "RPC_ERROR"
    #: The RPC the host refused (set on errors the runtime raises).
    method = ""


PermissionError = SdkPermissionError
TimeoutError = RpcTimeoutError

#: Appended to a CapabilityError the host raised: where the fix goes.
MANIFEST_HINT = " (add the capability to capabilities_required in your manifest.json)"

_BY_CODE: dict[str, type[SdkError]] = {
    "CAPABILITY_DENIED": CapabilityError,
    "RATE_LIMITED": RateLimitError,
    "QUOTA_EXCEEDED": RateLimitError,
    "DISCORD_API_ERROR": DiscordApiError,
    "BOT_MISSING_PERMISSION": SdkPermissionError,
    "KV_QUOTA_EXCEEDED": KvQuotaError,
    "VALIDATION_ERROR": ValidationError,
    "RPC_TIMEOUT": RpcError,
    "RPC_ERROR": RpcError,
}
_PATTERNS: dict[str, Any] = {}


def _pattern(name: str) -> Any:
    """The regexes of the text fallbacks, compiled on first use (``re`` costs a plugin's start-up otherwise)."""
    if not _PATTERNS:
        import re

        _PATTERNS.update(
            retry_in=re.compile(r"retry in (\d+(?:\.\d+)?)s", re.IGNORECASE),
            remaining=re.compile(r"remaining=(\d+)", re.IGNORECASE),
            permission=re.compile(r"missing permission:?\s+([A-Za-z_]+)", re.IGNORECASE),
        )
    return _PATTERNS[name]


def _code_from_text(text: str) -> str:
    """The 0.5.x substring mapping (``kv quota`` before ``quota exceeded``), as a code."""
    t = text.lower()
    if "capability" in t:
        return "CAPABILITY_DENIED"
    if "kv quota" in t or "plugin_kv quota" in t:
        return "KV_QUOTA_EXCEEDED"
    if "quota exceeded" in t:
        return "QUOTA_EXCEEDED"
    if "rate limit" in t:
        return "RATE_LIMITED"
    if "discord api error" in t:
        return "DISCORD_API_ERROR"
    if "bot lacks" in t or "missing permission" in t or "lacks permission" in t:
        return "BOT_MISSING_PERMISSION"
    if "required" in t and ("must be" in t or "invalid" in t):
        return "VALIDATION_ERROR"
    return "RPC_ERROR"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _retry_after(text: str, *values: Any) -> float:
    """Structured value first, then ``retry in <N>s``, then ``remaining=<N>/min``, else 5 seconds."""
    for value in values:
        number = _number(value)
        if number is not None:
            return number
    m = _pattern("retry_in").search(text)
    if m:
        return float(m.group(1))
    m = _pattern("remaining").search(text)
    if m:
        remaining = int(m.group(1))
        return 60.0 if remaining <= 0 else max(1.0, float(int(60 / remaining)))
    return 5.0


def _status_code(text: str, *values: Any) -> int:
    for token in text.split():
        if token.isdigit():
            return int(token)
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def error_parts(error: Any) -> tuple[str, str | None, dict[str, Any], dict[str, Any]]:
    """``(message, top-level string code or None, the error object, its data object)`` of a host error."""
    if isinstance(error, dict):
        message = error.get("message", "unknown error")
        code = error.get("code")
        data = error.get("data")
        return (
            str(message),
            code if isinstance(code, str) else None,
            error,
            data if isinstance(data, dict) else {},
        )
    return str(error), None, {}, {}


def error_from_response(method: str, error: Any) -> SdkError:
    """The exception for a host ``error`` (an object, an object with ``data``, or a bare string)."""
    text, code, top, data = error_parts(error)
    if code not in _BY_CODE:
        data_code = data.get("code")
        code = data_code if isinstance(data_code, str) and data_code in _BY_CODE else _code_from_text(text)
    cls = _BY_CODE[code]
    if cls is RateLimitError:
        retry = _retry_after(text, top.get("retry_after"), data.get("retry_after"))
        return RateLimitError(text, retry, code=code if code == "QUOTA_EXCEEDED" else None)
    if cls is DiscordApiError:
        return DiscordApiError(text, _status_code(text, top.get("status_code"), data.get("status_code")))
    if cls is SdkPermissionError:
        permission = top.get("permission")
        if not isinstance(permission, str):
            permission = data.get("permission")
        if not isinstance(permission, str):
            m = _pattern("permission").search(text)
            permission = m.group(1) if m else ""
        return SdkPermissionError(text, permission)
    if cls is CapabilityError:
        return CapabilityError(text + MANIFEST_HINT)
    if cls is RpcError:
        exc = RpcError(f"RPC error ({method}): {text}")
        exc.method = method
        return exc
    return cls(text)


def rejection_code(error: Any) -> str:
    """The ``code`` a rejection warning reports: the error object's string code, else ``""``."""
    return error_parts(error)[1] or ""
