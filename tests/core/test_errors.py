"""Error objects every SDK line decodes exactly: the string code and its fields on the object and under data."""

from __future__ import annotations

import pytest

from maidcore.errors import (
    BotMissingPermission,
    CapabilityDenied,
    DiscordApiFailed,
    InvalidArgument,
    RateLimited,
    UnknownMethod,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            RateLimited("discord actions", 12.5),
            {
                "code": "RATE_LIMITED",
                "message": "discord actions rate limit exceeded (remaining=0/min)",
                "retry_after": 12.5,
                "data": {"code": "RATE_LIMITED", "retry_after": 12.5},
            },
        ),
        (
            BotMissingPermission("manage_channels"),
            {
                "code": "BOT_MISSING_PERMISSION",
                "message": "bot lacks permission manage_channels",
                "permission": "manage_channels",
                "data": {"code": "BOT_MISSING_PERMISSION", "permission": "manage_channels"},
            },
        ),
        (
            DiscordApiFailed(404, "Unknown Message"),
            {
                "code": "DISCORD_API_ERROR",
                "message": "discord api error 404 Unknown Message",
                "status_code": 404,
                "data": {"code": "DISCORD_API_ERROR", "status_code": 404},
            },
        ),
        (
            CapabilityDenied("storage:kv", "kv.get"),
            {
                "code": "CAPABILITY_DENIED",
                "message": "capability storage:kv is not granted for kv.get",
                "data": {"code": "CAPABILITY_DENIED", "capability": "storage:kv"},
            },
        ),
        (
            UnknownMethod("ws.frobnicate"),
            {"code": "RPC_ERROR", "message": "unknown method: ws.frobnicate", "data": {"code": "RPC_ERROR"}},
        ),
    ],
)
def test_the_code_and_its_fields_are_on_the_error_and_under_data(error, expected):
    assert error.to_rpc() == expected


def test_validation_text_still_maps_by_substring_for_0_5():
    message = InvalidArgument("key", "a string").to_rpc()["message"]
    assert message == "invalid key: key is required and must be a string"
