"""Slash commands, components and modals: routed to their owner; respond/defer/followup/modal rules hold."""

from __future__ import annotations

import time

import pytest
import pytest_asyncio
from maidcore_discord.emulator import BOT_USER_ID, DEMO_GUILD_ID

from maidcore.errors import InvalidArgument
from maidcore.scope import Scope

from .conftest import ALICE, BOB

pytestmark = pytest.mark.asyncio(loop_scope="module")

PING = Scope(DEMO_GUILD_ID, "pingpong")
OTHER = Scope(DEMO_GUILD_ID, "other")
BUTTON_ROW = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Again", "custom_id": "pingpong:again"}]}
MODAL_ROW = {"type": 1, "components": [{"type": 4, "custom_id": "comment", "label": "Comment", "style": 1}]}


@pytest_asyncio.fixture(scope="module", loop_scope="module", autouse=True)
async def commands(source, sink):
    await sink.install(DEMO_GUILD_ID, "pingpong", [{"name": "ping", "description": "Ping"}])
    echo = {
        "name": "echo",
        "description": "Echo",
        "options": [{"type": 3, "name": "text", "description": "Text", "required": True}],
    }
    await sink.install(DEMO_GUILD_ID, "other", [echo])


async def run(emulator, sink, general, name, **options):
    inter = emulator.run_command(general, ALICE, name, options)
    event, target = await sink.wait_for("interaction_create", lambda e: e["interaction_id"] == inter["id"])
    return event, target


async def answer(source, sink, scope, method, event, **params):
    """What the host API does: the core checks who may answer, the source answers, the core notes a modal."""
    delivered = sink.interactions.answering(scope, event["interaction_id"])
    result = await source.call(scope, f"interaction.{method}", {"_interaction_id": event["interaction_id"], **params})
    if method == "send_modal":
        sink.interactions.modal_opened(delivered, params["custom_id"])
    return result


async def test_commands_are_registered_merged_per_guild(emulator):
    names = {c["name"] for c in emulator.state.guilds[DEMO_GUILD_ID]["commands"]}
    assert names == {"ping", "echo"}


async def test_a_slash_command_goes_to_its_declaring_plugin_which_responds_once(source, emulator, sink, general):
    event, target = await run(emulator, sink, general, "echo", text="hi there")
    assert target == "other" and event["options"] == [{"name": "text", "type": 3, "value": "hi there"}]
    with pytest.raises(InvalidArgument, match="_interaction_id"):
        await answer(source, sink, PING, "respond", event, content="not mine")  # delivered to "other" only
    await answer(source, sink, OTHER, "respond", event, content="hi there", allowed_mentions={"parse": []})
    msgs = [
        m
        for m in emulator.state.messages[general].values()
        if m.get("interaction_metadata", {}).get("id") == event["interaction_id"]
    ]
    assert [m["content"] for m in msgs] == ["hi there"] and emulator.allowed_mentions[msgs[0]["id"]] == {"parse": []}
    with pytest.raises(InvalidArgument, match="respond after respond"):
        await answer(source, sink, OTHER, "respond", event, content="twice")


async def test_respond_after_three_seconds_is_refused(source, emulator, sink, general):
    event, _ = await run(emulator, sink, general, "ping")
    source.interactions.pending[event["interaction_id"]].received -= 3.5
    with pytest.raises(InvalidArgument, match="within 3 s"):
        await answer(source, sink, PING, "respond", event, content="late")
    assert not emulator.state.interactions[event["interaction_id"]]["acknowledged"]


async def test_defer_then_followups_the_first_replaces_the_placeholder(source, emulator, sink, general):
    event, _ = await run(emulator, sink, general, "ping")
    await answer(source, sink, PING, "defer", event, ephemeral=True)
    first = await answer(source, sink, PING, "followup", event, content="done thinking")
    second = await answer(source, sink, PING, "followup", event, content="and more")
    msgs = emulator.state.messages[general]
    original = emulator.state.interactions[event["interaction_id"]]["original_id"]
    assert first["message_id"] == original and first["channel_id"] == general
    assert msgs[original]["content"] == "done thinking" and msgs[original]["flags"] == 64  # kept the defer's flag
    assert msgs[second["message_id"]]["content"] == "and more" and second["message_id"] != original
    source.interactions.pending[event["interaction_id"]].received -= 16 * 60
    with pytest.raises(InvalidArgument, match="15 minutes"):
        await answer(source, sink, PING, "followup", event, content="too late")


async def test_followup_needs_a_respond_or_defer_first(source, emulator, sink, general):
    event, _ = await run(emulator, sink, general, "ping")
    with pytest.raises(InvalidArgument, match="already answered"):
        await answer(source, sink, PING, "followup", event, content="early")


async def test_button_then_modal_then_submit_each_reach_the_plugin_that_owns_them(source, emulator, sink, general):
    """The source reports what it sees and creates; the core's routing (the sink here) finds each owner."""
    event, _ = await run(emulator, sink, general, "ping")
    await answer(source, sink, PING, "respond", event, content="Pong!", components=[BUTTON_ROW])
    pong = next(
        m
        for m in emulator.state.messages[general].values()
        if m.get("interaction_metadata", {}).get("id") == event["interaction_id"]
    )
    assert pong["author"]["id"] == BOT_USER_ID and sink.interactions.messages[pong["id"]] == "pingpong"

    click = emulator.click(general, pong["id"], BOB, "pingpong:again")
    clicked, target = await sink.wait_for("interaction_create", lambda e: e["interaction_id"] == click["id"])
    assert target == "pingpong" and clicked["interaction_type"] == 3
    assert clicked["custom_id"] == "pingpong:again" and clicked["component_type"] == 2 and clicked["user_id"] == BOB
    await answer(
        source,
        sink,
        PING,
        "send_modal",
        clicked,
        title="Feedback",
        custom_id="pingpong:feedback",
        components=[MODAL_ROW],
    )
    modal = emulator.state.modals[click["id"]]
    assert modal["title"] == "Feedback" and modal["user_id"] == BOB

    submit = emulator.submit_modal(click["id"], {"comment": "great bot"})
    submitted, target = await sink.wait_for("interaction_create", lambda e: e["interaction_id"] == submit["id"])
    assert target == "pingpong" and submitted["interaction_type"] == 5
    assert submitted["custom_id"] == "pingpong:feedback" and submitted["modal_values"] == {"comment": "great bot"}
    with pytest.raises(InvalidArgument, match="not a modal submit"):
        await answer(source, sink, PING, "send_modal", submitted, title="Again?", custom_id="x", components=[MODAL_ROW])
    await answer(source, sink, PING, "respond", submitted, content="Thanks: great bot")
    assert any(m["content"] == "Thanks: great bot" for m in emulator.state.messages[general].values())


async def test_a_select_menu_choice_carries_its_values(source, emulator, sink, general):
    menu = {
        "type": 1,
        "components": [
            {
                "type": 3,
                "custom_id": "other:pick",
                "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}],
            }
        ],
    }
    sent = await source.call(
        OTHER, "discord.send_message", {"channel_id": general, "content": "pick", "components": [menu]}
    )
    choice = emulator.click(general, sent["message_id"], ALICE, "other:pick", ["b"])
    event, target = await sink.wait_for("interaction_create", lambda e: e["interaction_id"] == choice["id"])
    assert target == "other" and event["component_type"] == 3 and event["values"] == ["b"]


async def test_the_emulator_itself_refuses_a_second_acknowledgement(source, emulator, sink, general):
    """If a check were missing in the source, Discord's (and the emulator's) 400 40060 would still stop it."""
    event, _ = await run(emulator, sink, general, "ping")
    await answer(source, sink, PING, "respond", event, content="one")
    source.interactions.pending[event["interaction_id"]].answered = ""  # pretend the source forgot
    source.interactions.pending[event["interaction_id"]].received = time.monotonic()
    with pytest.raises(Exception, match="40060"):
        await answer(source, sink, PING, "respond", event, content="two")


async def test_update_message_edits_the_message_the_button_is_on(source, emulator, sink, general):
    event, _ = await run(emulator, sink, general, "ping")
    with pytest.raises(InvalidArgument, match="only to answer a component interaction"):
        await answer(source, sink, PING, "respond", event, content="board", update_message=True)
    await answer(source, sink, PING, "respond", event, content="board v1", components=[BUTTON_ROW])
    board = next(
        m
        for m in emulator.state.messages[general].values()
        if m.get("interaction_metadata", {}).get("id") == event["interaction_id"]
    )
    count = len(emulator.state.messages[general])
    click = emulator.click(general, board["id"], BOB, "pingpong:again")
    clicked, _ = await sink.wait_for("interaction_create", lambda e: e["interaction_id"] == click["id"])
    await answer(source, sink, PING, "respond", clicked, content="board v2", components=[], ephemeral=True,
                 update_message=True, allowed_mentions={"parse": []})  # fmt: skip
    assert len(emulator.state.messages[general]) == count  # edited in place, no new reply
    updated = emulator.state.messages[general][board["id"]]
    assert updated["content"] == "board v2" and updated["components"] == [] and updated["edited_timestamp"]
    assert emulator.state.interactions[click["id"]]["response_type"] == 7
    with pytest.raises(InvalidArgument, match="respond after respond"):
        await answer(source, sink, PING, "respond", clicked, content="again", update_message=True)


async def test_the_emulator_pings_only_what_allowed_mentions_allow(source, emulator, general):
    content = f"<@{ALICE}> <@{BOB}> @everyone"
    scope = Scope(DEMO_GUILD_ID, "pingpong")
    send = {"channel_id": general, "content": content}
    quiet = await source.call(scope, "discord.send_message", {**send, "allowed_mentions": {"parse": []}})
    msg = emulator.state.messages[general][quiet["message_id"]]
    assert msg["mentions"] == [] and msg["mention_everyone"] is False
    one = await source.call(scope, "discord.send_message", {**send, "allowed_mentions": {"parse": [], "users": [BOB]}})
    assert [u["id"] for u in emulator.state.messages[general][one["message_id"]]["mentions"]] == [BOB]
    loud = await source.call(scope, "discord.send_message", {"channel_id": general, "content": content})
    assert {u["id"] for u in emulator.state.messages[general][loud["message_id"]]["mentions"]} == {ALICE, BOB}
    from maidcore_discord.emulator.rest import _check_allowed_mentions
    from maidcore_discord.emulator.state import ApiError

    with pytest.raises(ApiError) as both:
        _check_allowed_mentions({"parse": ["users"], "users": [BOB]})
    assert "mutually exclusive" in both.value.message
