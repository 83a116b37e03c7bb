"""Every event type travels emulator gateway -> discord.py -> event source -> sink, in the contract's shape."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from maidcore_discord.emulator import DEMO_GUILD_ID
from mmo_maid_sdk.events import EVENT_TYPES, SCHEMAS

from .conftest import ALICE, BOB, CAROL

pytestmark = pytest.mark.asyncio(loop_scope="module")

DAVE = "900000000000000204"


def check_value(value: Any, hint: Any, where: str) -> None:
    """Fail unless ``value`` has the type ``hint`` from the SDK's TypedDicts (recursively)."""
    origin = typing.get_origin(hint)
    if hint is type(None):
        assert value is None, f"{where}: expected None, got {value!r}"
    elif origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                check_value(value, option, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: {value!r} matches none of {hint}: {errors}")
    elif origin is list:
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        for i, item in enumerate(value):
            check_value(item, typing.get_args(hint)[0], f"{where}[{i}]")
    elif origin is dict:
        assert isinstance(value, dict), f"{where}: expected a dict, got {value!r}"
        for k, v in value.items():
            check_value(k, typing.get_args(hint)[0], f"{where} key")
            check_value(v, typing.get_args(hint)[1], f"{where}[{k!r}]")
    elif typing.is_typeddict(hint):
        check_payload(value, hint, where)
    elif hint is bool:
        assert isinstance(value, bool), f"{where}: expected bool, got {value!r}"
    elif hint is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: expected int, got {value!r}"
    elif hint is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: expected float"
    else:
        assert isinstance(value, hint), f"{where}: expected {hint}, got {value!r}"


def check_payload(payload: dict[str, Any], schema: type, where: str) -> None:
    """Both ways: every documented key present with its type, no key the schema does not document."""
    hints = typing.get_type_hints(schema)
    required = schema.__required_keys__
    missing = sorted(required - payload.keys())
    undocumented = sorted(payload.keys() - hints.keys())
    assert not missing, f"{where}: missing {missing}"
    assert not undocumented, f"{where}: undocumented {undocumented}"
    for key, value in payload.items():
        check_value(value, hints[key], f"{where}.{key}")


def check_event(event: dict[str, Any], event_type: str) -> None:
    check_payload(event, SCHEMAS[event_type], event_type)
    assert event["guild_id"] == DEMO_GUILD_ID


async def test_the_sdk_lists_the_sixteen_types_this_source_delivers():
    assert len(EVENT_TYPES) == 16 and set(EVENT_TYPES) == set(SCHEMAS)


async def test_message_create(source, emulator, sink, general):
    first = emulator.post_message(general, ALICE, "first")
    emulator.post_message(general, BOB, f"hello <@{ALICE}>", reference_id=first["id"])
    event, target = await sink.wait_for("message_create", lambda e: e["content"] == f"hello <@{ALICE}>")
    check_event(event, "message_create")
    assert target is None
    assert event["author_id"] == BOB and event["author_username"] == "bob" and event["author_bot"] is False
    assert event["channel_id"] == general and event["channel_name"] == "general"
    assert event["mention_count"] == 1 and event["reference_message_id"] == first["id"]


async def test_message_edit(source, emulator, sink, general):
    msg = emulator.post_message(general, BOB, "typo")
    emulator.state.edit_message(general, msg["id"], {"content": "fixed"})
    event, _ = await sink.wait_for("message_edit", lambda e: e["message_id"] == msg["id"])
    check_event(event, "message_edit")
    assert event["content"] == "fixed" and event["author_id"] == BOB and event["channel_id"] == general


async def test_message_delete_carries_the_cached_text(source, emulator, sink, general):
    msg = emulator.post_message(general, CAROL, "soon gone")
    await sink.wait_for("message_create", lambda e: e["message_id"] == msg["id"])
    emulator.state.delete_message(general, msg["id"])
    event, _ = await sink.wait_for("message_delete", lambda e: e["message_id"] == msg["id"])
    check_event(event, "message_delete")
    assert event["author_id"] == CAROL and event["content"] == "soon gone"


async def test_bulk_delete_arrives_as_one_message_delete_each(source, emulator, sink, general):
    ids = [emulator.post_message(general, BOB, f"bulk {i}")["id"] for i in range(3)]
    await sink.wait_for("message_create", lambda e: e["message_id"] == ids[-1])
    emulator.state.bulk_delete(general, ids)
    for mid in ids:
        event, _ = await sink.wait_for("message_delete", lambda e, mid=mid: e["message_id"] == mid)
        assert event["content"].startswith("bulk")


async def test_member_join_update_leave(source, emulator, sink):
    emulator.state.add_user(DAVE, "dave", global_name="Dave")
    emulator.state.add_member(DEMO_GUILD_ID, DAVE)
    joined, _ = await sink.wait_for("member_join", lambda e: e["user_id"] == DAVE)
    check_event(joined, "member_join")
    assert joined["username"] == "dave" and joined["display_name"] == "Dave" and joined["roles"] == []
    assert joined["guild_name"] == "maidcore demo" and joined["member_count"] == 5

    mod = next(r["id"] for r in emulator.state.guilds[DEMO_GUILD_ID]["roles"].values() if r["name"] == "Moderator")
    emulator.state.update_member(DEMO_GUILD_ID, DAVE, {"nick": "D", "roles": [mod]})
    updated, _ = await sink.wait_for("member_update", lambda e: e["user_id"] == DAVE)
    check_event(updated, "member_update")
    assert updated["roles"] == [mod] and updated["before_roles"] == []
    assert updated["nick"] == "D" and updated["before_nick"] is None and updated["display_name"] == "D"

    emulator.state.remove_member(DEMO_GUILD_ID, DAVE)
    left, _ = await sink.wait_for("member_leave", lambda e: e["user_id"] == DAVE)
    check_event(left, "member_leave")
    assert left["roles"] == [mod] and left["nick"] == "D" and left["joined_at"]


async def test_reaction_add_and_remove(source, emulator, sink, general):
    msg = emulator.post_message(general, ALICE, "react to me")
    emulator.react(general, msg["id"], BOB, "👍")
    added, _ = await sink.wait_for("reaction_add", lambda e: e["message_id"] == msg["id"])
    check_event(added, "reaction_add")
    assert added["emoji"] == "👍" and added["user_id"] == BOB and added["user_bot"] is False
    emulator.react(general, msg["id"], BOB, "party:123456789012345678")
    custom, _ = await sink.wait_for("reaction_add", lambda e: e["emoji"].startswith("party"))
    assert custom["emoji"] == "party:123456789012345678"
    emulator.react(general, msg["id"], BOB, "👍", add=False)
    removed, _ = await sink.wait_for("reaction_remove", lambda e: e["message_id"] == msg["id"])
    check_event(removed, "reaction_remove")
    assert removed["emoji"] == "👍" and removed["user_id"] == BOB


async def test_voice_state_update(source, emulator, sink):
    lounge = emulator.channel_named(DEMO_GUILD_ID, "Lounge")
    emulator.state.set_voice(DEMO_GUILD_ID, BOB, lounge, self_mute=True, self_stream=True)
    event, _ = await sink.wait_for("voice_state_update", lambda e: e["user_id"] == BOB)
    check_event(event, "voice_state_update")
    assert event["after_channel_id"] == event["channel_id"] == lounge and event["before_channel_id"] is None
    assert event["after_channel_name"] == "Lounge" and event["self_mute"] is True
    assert event["after_self_stream"] is True and event["before_self_stream"] is False


async def test_channel_create_update_delete(source, emulator, sink):
    cat = emulator.channel_named(DEMO_GUILD_ID, "Text Channels")
    ch = emulator.state.add_channel(DEMO_GUILD_ID, "events-test", parent_id=cat, position=7)
    created, _ = await sink.wait_for("channel_create", lambda e: e["id"] == ch["id"])
    check_event(created, "channel_create")
    assert created["type"] == 0 and created["category_id"] == cat and created["position"] == 7
    emulator.state.update_channel(ch["id"], {"name": "events-renamed"})
    updated, _ = await sink.wait_for("channel_update", lambda e: e["id"] == ch["id"])
    check_event(updated, "channel_update")
    assert updated["name"] == "events-renamed" and updated["before_name"] == "events-test"
    emulator.state.delete_channel(ch["id"])
    deleted, _ = await sink.wait_for("channel_delete", lambda e: e["id"] == ch["id"])
    check_event(deleted, "channel_delete")
    assert deleted["channel_id"] == ch["id"]


async def test_role_create_update_delete(source, emulator, sink):
    role = emulator.state.add_role(DEMO_GUILD_ID, "Helpers", 1 << 11, position=3)
    created, _ = await sink.wait_for("role_create", lambda e: e["id"] == role["id"])
    check_event(created, "role_create")
    assert created["permissions"] == str(1 << 11) and created["name"] == "Helpers" and created["managed"] is False
    emulator.state.update_role(DEMO_GUILD_ID, role["id"], {"name": "Helpers+", "color": 0xFF0000})
    updated, _ = await sink.wait_for("role_update", lambda e: e["id"] == role["id"])
    check_event(updated, "role_update")
    assert updated["before_name"] == "Helpers" and updated["color"] == 0xFF0000
    emulator.state.delete_role(DEMO_GUILD_ID, role["id"])
    deleted, _ = await sink.wait_for("role_delete", lambda e: e["id"] == role["id"])
    check_event(deleted, "role_delete")
    assert deleted["role_id"] == role["id"]


async def test_interaction_create_for_a_slash_command(source, emulator, sink, general):
    roll = {
        "name": "roll",
        "description": "Roll dice",
        "options": [
            {"type": 4, "name": "sides", "description": "Sides", "required": True},
            {"type": 6, "name": "who", "description": "Who"},
        ],
    }
    await sink.install(DEMO_GUILD_ID, "tester", [roll])  # the core syncs it through the source
    emulator.run_command(general, ALICE, "roll", {"sides": "20", "who": BOB})
    event, target = await sink.wait_for("interaction_create", lambda e: e["command_name"] == "roll")
    check_event(event, "interaction_create")
    assert target == "tester"
    assert event["interaction_type"] == 2 and event["command_type"] == 1
    assert event["options"] == [{"name": "sides", "type": 4, "value": 20}, {"name": "who", "type": 6, "value": BOB}]
    assert event["command_options"] == event["options"]
    assert event["user_id"] == ALICE and event["user_username"] == "alice" and event["channel_id"] == general
    assert int(event["permissions"]) > 0 and event["member"]["permissions"] == event["permissions"]
    assert len(event["member"]["roles"]) == 1


async def test_every_type_was_delivered_and_matches_the_sdk_schema(source, sink):
    seen = set(sink.names)
    assert seen >= set(EVENT_TYPES), f"never delivered: {sorted(set(EVENT_TYPES) - seen)}"
    for name, (event, _) in zip(sink.names, sink.events, strict=True):
        check_payload(event, SCHEMAS[name], name)
