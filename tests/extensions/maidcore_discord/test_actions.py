"""Every ``ctx.discord`` method travels source -> discord.py -> emulator and changes the emulator's state."""

from __future__ import annotations

import base64
import time

import pytest
from maidcore_discord.emulator import BOT_USER_ID, DEMO_GUILD_ID

from maidcore.errors import InvalidArgument
from maidcore.scope import Scope

from .conftest import ALICE, BOB, CAROL, OTHER_GUILD

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def call(source, scope, method, **params):
    return await source.call(scope, f"discord.{method}", {"discord_srv_id": scope.server_id, **params})


def guild(emulator, gid=DEMO_GUILD_ID):
    return emulator.state.guilds[gid]


def role_named(emulator, name, gid=DEMO_GUILD_ID):
    return next(r["id"] for r in guild(emulator, gid)["roles"].values() if r["name"] == name)


async def test_send_edit_pin_react_delete(source, sink, emulator, demo, general):
    sent = await call(
        source,
        demo,
        "send_message",
        channel_id=general,
        content="hello",
        embeds=[{"title": "t"}],
        components=[{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "tester:go"}]}],
        allowed_mentions={"parse": []},
    )
    msg = emulator.state.messages[general][sent["message_id"]]
    assert sent["channel_id"] == general and msg["author"]["id"] == BOT_USER_ID
    assert msg["content"] == "hello" and msg["embeds"] == [{"title": "t"}] and msg["components"][0]["type"] == 1
    assert emulator.allowed_mentions[sent["message_id"]] == {"parse": []}
    assert sink.interactions.messages[sent["message_id"]] == "tester"  # reported to the core

    edited = await call(
        source, demo, "edit_message", channel_id=general, message_id=sent["message_id"], content="edited", components=[]
    )
    assert edited == sent and msg["content"] == "edited" and msg["components"] == [] and msg["embeds"]

    await call(source, demo, "pin_message", channel_id=general, message_id=sent["message_id"])
    assert msg["pinned"] is True
    await call(source, demo, "unpin_message", channel_id=general, message_id=sent["message_id"])
    assert msg["pinned"] is False

    await call(source, demo, "add_reaction", channel_id=general, message_id=sent["message_id"], emoji="🎉")
    await call(
        source,
        demo,
        "add_reaction",
        channel_id=general,
        message_id=sent["message_id"],
        emoji="party:123456789012345678",
    )
    assert [(r["emoji"]["name"], r["me"]) for r in msg["reactions"]] == [("🎉", True), ("party", True)]

    await call(source, demo, "delete_message", channel_id=general, message_id=sent["message_id"])
    assert sent["message_id"] not in emulator.state.messages[general]


async def test_send_message_with_files(source, emulator, demo, general):
    data = b"col1,col2\n1,2\n"
    sent = await call(
        source,
        demo,
        "send_message",
        channel_id=general,
        files=[{"filename": "report.csv", "data_b64": base64.b64encode(data).decode()}],
    )
    msg = emulator.state.messages[general][sent["message_id"]]
    assert [a["filename"] for a in msg["attachments"]] == ["report.csv"]
    assert emulator.files[msg["attachments"][0]["id"]] == data


async def test_bulk_delete_messages(source, emulator, demo, general):
    ids = [emulator.post_message(general, BOB, f"spam {i}")["id"] for i in range(3)]
    await call(source, demo, "bulk_delete_messages", channel_id=general, message_ids=ids)
    assert not set(ids) & set(emulator.state.messages[general])
    with pytest.raises(InvalidArgument, match="message_ids"):
        await call(source, demo, "bulk_delete_messages", channel_id=general, message_ids=[ids[0]])
    old = str((int((time.time() - 20 * 86400) * 1000) - 1420070400000) << 22)
    with pytest.raises(InvalidArgument, match="14 days"):
        await call(source, demo, "bulk_delete_messages", channel_id=general, message_ids=[old, ids[0]])


async def test_reading(source, emulator, demo, general):
    emulator.post_message(general, ALICE, "older")
    newest = emulator.post_message(general, BOB, "newer")
    got = await call(source, demo, "get_messages", channel_id=general, limit=2)
    assert [m["content"] for m in got["messages"]] == ["newer", "older"]
    assert set(got["messages"][0]) == {
        "id",
        "channel_id",
        "author_id",
        "author_username",
        "author_bot",
        "content",
        "timestamp",
        "edited_timestamp",
        "attachments",
        "embeds",
        "pinned",
    }
    before = await call(source, demo, "get_messages", channel_id=general, limit=1, before=newest["id"])
    assert before["messages"][0]["content"] == "older"

    g = (await call(source, demo, "get_guild"))["guild"]
    assert g["id"] == DEMO_GUILD_ID and g["name"] == "maidcore demo" and g["owner_id"] == ALICE
    assert g["member_count"] == len(guild(emulator)["members"])
    assert set(g) == {"id", "name", "icon", "member_count", "premium_tier", "features", "owner_id", "description"}

    ch = (await call(source, demo, "get_channel", channel_id=general))["channel"]
    assert ch == {
        "id": general,
        "name": "general",
        "type": 0,
        "topic": "Say hi",
        "parent_id": emulator.channel_named(DEMO_GUILD_ID, "Text Channels"),
        "position": 1,
        "nsfw": False,
    }
    channels = (await call(source, demo, "list_channels"))["channels"]
    assert {"general", "random", "Lounge", "Text Channels"} <= {c["name"] for c in channels}

    member = (await call(source, demo, "get_member", user_id=ALICE))["member"]
    assert member == {
        "user_id": ALICE,
        "username": "alice",
        "display_name": "Alice",
        "nick": None,
        "avatar": None,
        "roles": [role_named(emulator, "Moderator")],
        "joined_at": member["joined_at"],
        "bot": False,
    }
    everyone = (await call(source, demo, "list_members", limit=2))["members"]
    assert [m["user_id"] for m in everyone] == sorted([m for m in guild(emulator)["members"]], key=int)[:2]
    mods = (await call(source, demo, "list_members", role_id=role_named(emulator, "Moderator")))["members"]
    assert {m["user_id"] for m in mods} == {ALICE, CAROL}
    found = (await call(source, demo, "search_members", query="ca"))["members"]
    assert [m["username"] for m in found] == ["carol"]
    roles = (await call(source, demo, "list_roles"))["roles"]
    assert {"@everyone", "Moderator", "maidcore"} <= {r["name"] for r in roles}
    assert all(isinstance(r["permissions"], str) for r in roles)


async def test_channels_permissions_threads(source, emulator, demo, general):
    cat = emulator.channel_named(DEMO_GUILD_ID, "Text Channels")
    made = (await call(source, demo, "create_channel", name="x" * 150, category_id=cat, topic="t"))["channel"]
    stored = guild(emulator)["channels"][made["id"]]
    assert made["type"] == 0 and len(stored["name"]) == 100 and stored["parent_id"] == cat and stored["topic"] == "t"
    voice = (await call(source, demo, "create_channel", name="vc", channel_type=2, user_limit=500))["channel"]
    assert guild(emulator)["channels"][voice["id"]]["user_limit"] == 99

    renamed = (await call(source, demo, "edit_channel", channel_id=made["id"], name="renamed"))["channel"]
    assert renamed["name"] == stored["name"] == "renamed"

    mod = role_named(emulator, "Moderator")
    admin_and_send = str(0x8 | 0x20 | 0x2 | 0x4 | 0x10000000 | 0x20000000 | (1 << 11))
    await call(
        source,
        demo,
        "set_channel_permissions",
        channel_id=made["id"],
        target_id=mod,
        allow=admin_and_send,
        deny=str(1 << 6),
    )
    overwrite = next(o for o in stored["permission_overwrites"] if o["id"] == mod)
    assert overwrite == {"id": mod, "type": 0, "allow": str(1 << 11), "deny": str(1 << 6)}
    await call(source, demo, "delete_channel_permission", channel_id=made["id"], target_id=mod)
    assert not stored["permission_overwrites"]

    thread = (await call(source, demo, "create_thread", channel_id=general, name="topic"))["thread"]
    assert thread["type"] == 11 and thread["archived"] is False
    await call(source, demo, "edit_thread", thread_id=thread["id"], archived=True, locked=True, name="closed")
    t = guild(emulator)["channels"][thread["id"]]
    assert t["name"] == "closed" and t["thread_metadata"]["archived"] and t["thread_metadata"]["locked"]

    await call(source, demo, "delete_channel", channel_id=voice["id"])
    assert voice["id"] not in guild(emulator)["channels"]


async def test_moderation(source, emulator, demo):
    members = guild(emulator)["members"]
    await call(source, demo, "timeout_member", user_id=BOB, duration_seconds=60, reason="calm down")
    assert members[BOB]["communication_disabled_until"] is not None
    await call(source, demo, "timeout_member", user_id=BOB, duration_seconds=0)
    assert members[BOB]["communication_disabled_until"] is None

    await call(source, demo, "set_nickname", user_id=BOB, nickname="b" * 40)
    assert members[BOB]["nick"] == "b" * 32
    await call(source, demo, "set_nickname", user_id=BOB, nickname=None)
    assert members[BOB]["nick"] is None

    helper = emulator.state.add_role(DEMO_GUILD_ID, "Helper", 0, position=2)
    await call(source, demo, "add_role", user_id=BOB, role_id=helper["id"])
    assert helper["id"] in members[BOB]["roles"]
    await call(source, demo, "remove_role", user_id=BOB, role_id=helper["id"])
    assert helper["id"] not in members[BOB]["roles"]

    for uid, name in (("900000000000000301", "eve"), ("900000000000000302", "mallory")):
        emulator.state.add_user(uid, name)
        emulator.state.add_member(DEMO_GUILD_ID, uid)
    pair = ["900000000000000301", "900000000000000302"]
    result = await call(source, demo, "add_role_bulk", user_ids=pair, role_id=helper["id"])
    assert result == {"success": 2, "failed": 0, "errors": []}
    result = await call(source, demo, "remove_role_bulk", user_ids=[*pair, "900000000000000999"], role_id=helper["id"])
    assert result["success"] == 2 and result["failed"] == 1
    assert result["errors"][0]["user_id"] == "900000000000000999" and "404" in result["errors"][0]["error"]
    result = await call(source, demo, "timeout_bulk", user_ids=pair, duration_seconds=30)
    assert result["success"] == 2 and all(members[u]["communication_disabled_until"] for u in pair)

    await call(source, demo, "kick_member", user_id="900000000000000301", reason="bye")
    assert "900000000000000301" not in members
    result = await call(source, demo, "kick_bulk", user_ids=["900000000000000302", ALICE])
    assert result["success"] == 1 and result["failed"] == 1  # alice owns the guild: Discord refuses
    assert "lacks permission kick_members" in result["errors"][0]["error"]

    await call(source, demo, "ban_member", user_id="900000000000000302", reason="spam", delete_message_seconds=10**9)
    assert "900000000000000302" in guild(emulator)["bans"]
    await call(source, demo, "unban_member", user_id="900000000000000302")
    assert "900000000000000302" not in guild(emulator)["bans"]


async def test_webhooks(source, emulator, demo, general):
    hook = (await call(source, demo, "create_webhook", channel_id=general, name="Announcer"))["webhook"]
    assert set(hook) == {"id", "token", "channel_id", "name"} and hook["channel_id"] == general
    sent = await call(
        source,
        demo,
        "execute_webhook",
        webhook_id=hook["id"],
        webhook_token=hook["token"],
        content="news",
        username="Herald",
    )
    msg = emulator.state.messages[general][sent["message_id"]]
    assert msg["content"] == "news" and msg["author"]["username"] == "Herald" and msg["webhook_id"] == hook["id"]
    await call(source, demo, "delete_webhook", webhook_id=hook["id"])
    assert hook["id"] not in emulator.state.webhooks


async def test_ids_outside_the_scope_guild_are_refused_before_anything_is_sent(source, emulator, demo):
    foreign = emulator.channel_named(OTHER_GUILD, "general")
    before = len(emulator.requests)
    with pytest.raises(InvalidArgument, match="channel_id"):
        await call(source, demo, "send_message", channel_id=foreign, content="leak")
    with pytest.raises(InvalidArgument, match="role_id"):
        await call(source, demo, "add_role", user_id=BOB, role_id=OTHER_GUILD)
    with pytest.raises(InvalidArgument, match="channel_id"):
        await call(source, demo, "send_message", channel_id="not-a-snowflake", content="x")
    assert not emulator.state.messages[foreign]
    assert [r for r in emulator.requests[before:] if r[0] != "GET"] == []

    other = Scope(OTHER_GUILD, "tester")
    hook = (await call(source, other, "create_webhook", channel_id=foreign, name="theirs"))["webhook"]
    with pytest.raises(InvalidArgument, match="webhook_id"):
        await call(source, demo, "delete_webhook", webhook_id=hook["id"])
    assert hook["id"] in emulator.state.webhooks
