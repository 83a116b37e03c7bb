"""mmo-maid-sdk: write MMO Maid Discord plugins.

Importing this package does no I/O, starts no thread and reads no environment variable;
all runtime work happens in ``Plugin.run()``.
"""

from ._components import ActionRow, Button, SelectMenu, SelectOption, TextInput
from ._context import Context
from ._errors import (
    CapabilityError,
    DiscordApiError,
    KvQuotaError,
    RateLimitError,
    RpcError,
    RpcTimeoutError,
    SdkError,
    SdkPermissionError,
    ValidationError,
)
from ._plugin import Plugin

__version__ = "0.5.5"

PermissionError = SdkPermissionError
TimeoutError = RpcTimeoutError

__all__ = [
    "ActionRow",
    "Button",
    "CapabilityError",
    "Context",
    "DiscordApiError",
    "KvQuotaError",
    "PermissionError",
    "Plugin",
    "RateLimitError",
    "RpcError",
    "RpcTimeoutError",
    "SdkError",
    "SdkPermissionError",
    "SelectMenu",
    "SelectOption",
    "TextInput",
    "TimeoutError",
    "ValidationError",
    "__version__",
]
