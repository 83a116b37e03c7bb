"""Protocol constants shared by the SDK runtime and a host (the full wire is described in docs/sdk.md)."""

from __future__ import annotations

__all__ = [
    "DISPATCH_THREADS",
    "ERROR_CODES",
    "HOST_NOTIFICATIONS",
    "METRIC_NAME_PATTERN",
    "REJECTION_WARNINGS_PER_HOUR",
    "RPC_TIMEOUT_SECONDS",
]

#: A request without an answer after this long raises ``RpcTimeoutError``.
RPC_TIMEOUT_SECONDS = 30.0
#: Deliveries handled at once by default (``YOURBOT_SDK_DISPATCH_THREADS``, clamp 1-32).
DISPATCH_THREADS = 4
#: When the host rejects a call the SDK logs a ``plugin.log`` warning (tags ``sdk``, ``rejected``),
#: at most this many per RPC method per hour.
REJECTION_WARNINGS_PER_HOUR = 3
#: Metric names: 1-64 characters, a letter or ``_`` first, then letters, digits and ``_``.
METRIC_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$"

#: Error ``code`` strings a host puts on the error object (top level; ``data.code`` is read too),
#: with the exception the SDK raises and the JSON-RPC numeric code our host uses beside it.
ERROR_CODES: dict[str, tuple[str, int]] = {
    "CAPABILITY_DENIED": ("CapabilityError", -32001),
    "RATE_LIMITED": ("RateLimitError", -32002),
    "QUOTA_EXCEEDED": ("RateLimitError", -32002),
    "DISCORD_API_ERROR": ("DiscordApiError", -32003),
    "BOT_MISSING_PERMISSION": ("SdkPermissionError", -32004),
    "KV_QUOTA_EXCEEDED": ("KvQuotaError", -32005),
    "VALIDATION_ERROR": ("ValidationError", -32602),
    "RPC_TIMEOUT": ("RpcError", -32006),
    "RPC_ERROR": ("RpcError", -32000),
}

#: Notifications and requests a host sends to a plugin process.
HOST_NOTIFICATIONS: tuple[str, ...] = (
    "host.boot",
    "host.shutdown",
    "host.install",
    "host.enable",
    "host.disable",
    "host.uninstall",
    "event.<event_type>",
    "event.cron",
    "event.ws_message",
    "event.ws_open",
    "event.ws_close",
    "dashboard.<name>",
)
