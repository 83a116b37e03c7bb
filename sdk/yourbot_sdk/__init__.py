"""yourbot-sdk: write YourBot (MMO Maid) Discord plugins.

Importing this package does no I/O, starts no thread and reads no environment variable;
all runtime work happens in ``Plugin.run()``. ``mmo_maid_sdk`` is the same package under its
pre-0.6 name.
"""

from ._components import ActionRow, Button, SelectMenu, SelectOption, TextInput
from ._context import Context, QueryResult
from ._exceptions import (
    CapabilityError,
    DiscordApiError,
    KvQuotaError,
    PermissionError,
    RateLimitError,
    RpcError,
    RpcTimeoutError,
    SdkError,
    SdkPermissionError,
    TimeoutError,
    ValidationError,
)
from ._plugin import Plugin

__version__ = "0.11.0"

__all__ = [  # noqa: RUF022 - the official SDK's order
    "Plugin",
    "Context",
    "QueryResult",
    "SdkError",
    "CapabilityError",
    "RateLimitError",
    "DiscordApiError",
    "SdkPermissionError",
    "PermissionError",
    "ValidationError",
    "KvQuotaError",
    "RpcError",
    "RpcTimeoutError",
    "TimeoutError",
    "ActionRow",
    "Button",
    "SelectMenu",
    "SelectOption",
    "TextInput",
]
