"""Discord's refusals reach the caller as the right ``maidcore.errors`` class (contract §9)."""

from __future__ import annotations

import pytest
from maidcore_discord.emulator import DEMO_GUILD_ID

from maidcore.errors import BotMissingPermission, DiscordApiFailed, InvalidArgument, RateLimited
from maidcore.scope import Scope

from .conftest import BOB, RESTRICTED_GUILD

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def call(source, scope, method, **params):
    return await source.call(scope, method if "." in method else f"discord.{method}", params)


async def test_a_bot_without_manage_channels_gets_discords_403(source, emulator):
    restricted = Scope(RESTRICTED_GUILD, "tester")
    with pytest.raises(BotMissingPermission) as info:
        await call(source, restricted, "create_channel", name="nope")
    assert info.value.permission == "manage_channels"
    assert info.value.to_rpc()["data"] == {"code": "BOT_MISSING_PERMISSION", "permission": "manage_channels"}
    assert [c["name"] for c in emulator.state.guilds[RESTRICTED_GUILD]["channels"].values()] == ["general"]


@pytest.mark.parametrize(
    ("method", "params", "permission"),
    [
        ("ban_member", {"user_id": BOB}, "ban_members"),
        ("kick_member", {"user_id": "900000000000000201"}, "kick_members"),
        ("create_webhook", {"name": "w"}, "manage_webhooks"),
        ("pin_message", {"message_id": "1"}, "manage_messages"),
        ("set_channel_permissions", {"target_id": RESTRICTED_GUILD, "allow": "2048"}, "manage_roles"),
        ("create_thread", {"name": "t", "thread_type": 12}, "create_private_threads"),
    ],
)
async def test_missing_permission_names_the_methods_permission(source, emulator, method, params, permission):
    restricted = Scope(RESTRICTED_GUILD, "tester")
    channel = emulator.channel_named(RESTRICTED_GUILD, "general")
    if method in ("create_webhook", "pin_message", "set_channel_permissions", "create_thread"):
        params = {"channel_id": channel, **params}
    if method == "pin_message":
        params["message_id"] = emulator.post_message(channel, "900000000000000201", "pin me")["id"]
    with pytest.raises(BotMissingPermission) as info:
        await call(source, restricted, method, **params)
    assert info.value.permission == permission
    assert str(info.value) == f"bot lacks permission {permission}"


async def test_a_channel_the_bot_cannot_see_is_missing_access_view_channel(source, emulator):
    secret = emulator.state.add_channel(
        DEMO_GUILD_ID,
        "secret",
        overwrites=[
            {"id": emulator.state.guilds[DEMO_GUILD_ID]["bot_role_id"], "type": 0, "allow": "0", "deny": str(1 << 10)}
        ],
    )
    with pytest.raises(BotMissingPermission) as info:
        await call(source, Scope(DEMO_GUILD_ID, "tester"), "send_message", channel_id=secret["id"], content="hi")
    assert info.value.permission == "view_channel"


async def test_unknown_channel_and_message_are_discord_404s(source, emulator, general):
    demo = Scope(DEMO_GUILD_ID, "tester")
    with pytest.raises(DiscordApiFailed) as info:
        await call(source, demo, "send_message", channel_id="123456789012345678", content="x")
    assert info.value.status_code == 404 and "10003" in str(info.value)
    with pytest.raises(DiscordApiFailed) as info:
        await call(source, demo, "delete_message", channel_id=general, message_id="123456789012345678")
    assert info.value.status_code == 404 and "Unknown Message" in str(info.value)
    assert info.value.to_rpc()["data"] == {"code": "DISCORD_API_ERROR", "status_code": 404}


async def test_other_discord_refusals_keep_their_status(source, emulator, general):
    demo = Scope(DEMO_GUILD_ID, "tester")
    theirs = emulator.post_message(general, BOB, "not yours")
    with pytest.raises(DiscordApiFailed) as info:
        await call(source, demo, "edit_message", channel_id=general, message_id=theirs["id"], content="mine now")
    assert info.value.status_code == 403 and emulator.state.messages[general][theirs["id"]]["content"] == "not yours"


async def test_a_short_discord_rate_limit_is_absorbed_by_discord_py(source, emulator, general):
    demo = Scope(DEMO_GUILD_ID, "tester")
    emulator.rate_limit(r"^/channels/\d+/messages$", 0.2, method="POST")
    before = len(emulator.requests)
    sent = await call(source, demo, "send_message", channel_id=general, content="patient")
    assert emulator.state.messages[general][sent["message_id"]]["content"] == "patient"
    assert [r for r in emulator.requests[before:] if r[0] == "POST"] == [("POST", f"/channels/{general}/messages")] * 2


async def test_a_long_discord_rate_limit_becomes_rate_limited_with_retry_after(source, emulator, general):
    demo = Scope(DEMO_GUILD_ID, "tester")
    emulator.rate_limit(r"^/channels/\d+/messages$", 120.0, method="POST")
    with pytest.raises(RateLimited) as info:
        await call(source, demo, "send_message", channel_id=general, content="too eager")
    assert info.value.retry_after == 120.0
    assert info.value.to_rpc()["data"] == {"code": "RATE_LIMITED", "retry_after": 120.0}


async def test_unknown_methods_and_bad_arguments(source):
    demo = Scope(DEMO_GUILD_ID, "tester")
    with pytest.raises(Exception, match=r"unknown method: discord\.fly"):
        await call(source, demo, "fly")
    with pytest.raises(InvalidArgument, match="channel_type"):
        await call(source, demo, "create_channel", name="x", channel_type=7)
