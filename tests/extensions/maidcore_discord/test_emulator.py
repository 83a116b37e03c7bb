"""The emulator on its own: Discord's permission arithmetic, heartbeats, and its interaction rules."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
from maidcore_discord.emulator import permissions as perms
from maidcore_discord.emulator.gateway import HEARTBEAT_ACK_DELAY_SECONDS
from maidcore_discord.settings import DiscordSettings
from maidcore_discord.source import DiscordEventSource

from .conftest import BOB, RecordingSink

VIEW, SEND, MANAGE = perms.BITS["view_channel"], perms.BITS["send_messages"], perms.BITS["manage_channels"]


def guild_with(everyone: int, role: int, *, owner: str = "1") -> dict:
    return {
        "id": "100",
        "owner_id": owner,
        "roles": {"100": {"permissions": str(everyone)}, "200": {"permissions": str(role)}},
        "members": {"7": {"roles": ["200"]}},
        "channels": {},
    }


def test_base_permissions_add_roles_to_everyone_and_administrator_gets_all():
    assert perms.base_permissions(guild_with(VIEW, SEND), "7") == VIEW | SEND
    assert perms.base_permissions(guild_with(VIEW, perms.BITS["administrator"]), "7") == perms.ALL
    assert perms.base_permissions(guild_with(0, 0, owner="7"), "7") == perms.ALL


def test_overwrites_apply_everyone_then_roles_then_member():
    g = guild_with(VIEW | SEND, 0)
    channel = {
        "type": 0,
        "permission_overwrites": [
            {"id": "100", "type": 0, "allow": "0", "deny": str(SEND)},  # @everyone may not send here
            {"id": "200", "type": 0, "allow": str(SEND | MANAGE), "deny": "0"},  # ...but the role may
        ],
    }
    assert perms.channel_permissions(g, channel, "7") == VIEW | SEND | MANAGE
    channel["permission_overwrites"].append({"id": "7", "type": 1, "allow": "0", "deny": str(SEND)})
    assert perms.channel_permissions(g, channel, "7") == VIEW | MANAGE
    channel["permission_overwrites"][-1] = {"id": "7", "type": 1, "allow": "0", "deny": str(VIEW)}
    assert perms.channel_permissions(g, channel, "7") == 0  # no view, no permissions at all


def test_administrator_ignores_overwrites():
    g = guild_with(VIEW, perms.BITS["administrator"])
    channel = {"type": 0, "permission_overwrites": [{"id": "100", "type": 0, "allow": "0", "deny": str(VIEW)}]}
    assert perms.channel_permissions(g, channel, "7") == perms.ALL


async def test_heartbeats_are_acknowledged_and_the_connection_stays_up():
    async with Emulator("127.0.0.1", 0, heartbeat_interval_ms=100) as emu:
        src = DiscordEventSource(DiscordSettings(), emulator=emu)
        sink = RecordingSink()
        await src.start(sink, frozenset({"message_create"}))
        try:
            await asyncio.sleep(0.8)
            assert emu.heartbeats >= 5 and emu.resumes == 0 and len(emu.sessions) == 1
            emu.post_message(emu.channel_named(DEMO_GUILD_ID, "general"), BOB, "still here")
            event, _ = await sink.wait_for("message_create")
            assert event["content"] == "still here"
        finally:
            await src.close()


async def test_the_interaction_callback_enforces_three_seconds_and_once():
    async with Emulator("127.0.0.1", 0) as emu:
        guild = emu.state.guilds[DEMO_GUILD_ID]
        guild["commands"] = [{"id": "1", "name": "ping", "description": "p", "type": 1}]
        general = emu.channel_named(DEMO_GUILD_ID, "general")
        late = emu.run_command(general, BOB, "ping")
        late["created"] = time.time() - 4
        fresh = emu.run_command(general, BOB, "ping")
        async with aiohttp.ClientSession() as http:
            url = f"{emu.api_base}/interactions/{late['id']}/{late['token']}/callback"
            async with http.post(url, json={"type": 4, "data": {"content": "late"}}) as r:
                assert r.status == 404 and (await r.json())["code"] == 10062
            url = f"{emu.api_base}/interactions/{fresh['id']}/{fresh['token']}/callback"
            async with http.post(url, json={"type": 4, "data": {"content": "first"}}) as r:
                assert r.status == 204
            async with http.post(url, json={"type": 4, "data": {"content": "second"}}) as r:
                assert r.status == 400 and (await r.json())["code"] == 40060
        contents = [m["content"] for m in emu.state.messages[general].values()]
        assert contents == ["first"]


@pytest.mark.parametrize("payload", [{"type": 9, "data": {"title": "t", "custom_id": "c", "components": []}}])
async def test_a_modal_needs_components(payload):
    async with Emulator("127.0.0.1", 0) as emu:
        emu.state.guilds[DEMO_GUILD_ID]["commands"] = [{"id": "1", "name": "ping", "description": "p", "type": 1}]
        inter = emu.run_command(emu.channel_named(DEMO_GUILD_ID, "general"), BOB, "ping")
        async with aiohttp.ClientSession() as http:
            url = f"{emu.api_base}/interactions/{inter['id']}/{inter['token']}/callback"
            async with http.post(url, json=payload) as r:
                assert r.status == 400 and (await r.json())["code"] == 50035


async def test_buttons_and_menus_outside_an_action_row_are_refused_as_discord_refuses_them():
    """A plugin that passes a bare ``SelectMenu`` as ``components`` gets Discord's 400, not a message that worked."""
    menu = {"type": 3, "custom_id": "m", "options": [{"label": "a", "value": "a"}]}
    async with Emulator("127.0.0.1", 0) as emu:
        emu.state.guilds[DEMO_GUILD_ID]["commands"] = [{"id": "1", "name": "ping", "description": "p", "type": 1}]
        general = emu.channel_named(DEMO_GUILD_ID, "general")
        bare, rowed = (emu.run_command(general, BOB, "ping") for _ in range(2))
        async with aiohttp.ClientSession() as http:
            url = f"{emu.api_base}/interactions/{bare['id']}/{bare['token']}/callback"
            async with http.post(url, json={"type": 4, "data": {"content": "x", "components": [menu]}}) as r:
                body = await r.json()
                assert r.status == 400 and body["code"] == 50035 and "components.0.type" in body["message"]
            url = f"{emu.api_base}/interactions/{rowed['id']}/{rowed['token']}/callback"
            row = {"type": 1, "components": [menu]}
            async with http.post(url, json={"type": 4, "data": {"content": "y", "components": [row]}}) as r:
                assert r.status == 204
        assert [m["components"] for m in emu.state.messages[general].values()] == [[row]]


async def test_a_slash_option_that_does_not_fit_its_type_is_refused_clearly_not_a_500():
    async with Emulator("127.0.0.1", 0) as emu:
        emu.state.guilds[DEMO_GUILD_ID]["commands"] = [
            {
                "id": "1",
                "name": "cleanup",
                "description": "delete messages",
                "type": 1,
                "options": [
                    {"name": "count", "type": 4, "description": "how many", "required": True, "min_value": 1},
                    {"name": "silent", "type": 5, "description": "quietly"},
                ],
            }
        ]
        general = emu.channel_named(DEMO_GUILD_ID, "general")

        async def run(options):
            async with aiohttp.ClientSession() as http:
                body = {"channel_id": general, "user_id": BOB, "name": "cleanup", "options": options}
                async with http.post(f"{emu.base_url}/_emulator/api/commands", json=body) as r:
                    return r.status, await r.json()

        assert await run({"count": "abc"}) == (
            400,
            {"code": 50035, "message": "Invalid Form Body: option count must be a whole number (got 'abc')"},
        )
        assert (await run({"count": "2.5"}))[1]["message"].endswith("must be a whole number (got '2.5')")
        assert (await run({"count": "0"}))[1]["message"].endswith("must be at least 1 (got '0')")
        assert (await run({"count": "3", "silent": "maybe"}))[1]["message"].endswith(
            "option silent must be true or false (got 'maybe')"
        )
        assert (await run({"silent": "yes"}))[1]["message"] == "Invalid Form Body: /cleanup needs option count"
        assert emu.state.interactions == {}  # nothing was run
        status, interaction = await run({"count": "3", "silent": "yes"})
        assert status == 200
        assert interaction["data"]["options"] == [
            {"name": "count", "type": 4, "value": 3},
            {"name": "silent", "type": 5, "value": True},
        ]


async def test_the_emulator_keeps_guilds_channels_and_messages_across_a_restart(tmp_path):
    from maidcore_discord.local import STATE_FILE, EmulatorMode

    settings = DiscordSettings(emulator_port=0)
    first = EmulatorMode(settings, tmp_path)
    await first.start()
    emu = first.emulator
    general = emu.channel_named(DEMO_GUILD_ID, "general")
    posted = emu.post_message(general, BOB, "remember me")
    emu.state.guilds[DEMO_GUILD_ID]["commands"] = [{"id": "1", "name": "ping", "description": "p", "type": 1}]
    await first.close()
    assert (tmp_path / STATE_FILE).is_file()

    second = EmulatorMode(settings, tmp_path)
    await second.start()
    try:
        again = second.emulator
        assert again.channel_named(DEMO_GUILD_ID, "general") == general  # the same ids a plugin stored
        assert again.state.messages[general][posted["id"]]["content"] == "remember me"
        assert [g["name"] for g in again.state.guilds.values()] == ["maidcore demo"]  # the demo guild not re-created
        fresh = again.post_message(general, BOB, "after the restart")
        assert int(fresh["id"]) > int(posted["id"])
    finally:
        await second.close()


async def test_an_unreadable_state_file_is_kept_aside_and_the_emulator_starts_afresh(tmp_path, caplog):
    state = tmp_path / "state.json"
    state.write_text("{not json", encoding="utf-8")
    async with Emulator("127.0.0.1", 0, state_file=state) as emu:
        assert DEMO_GUILD_ID in emu.state.guilds
    assert (tmp_path / "state.broken.json").read_text() == "{not json"
    assert "unreadable" in caplog.text
    assert DEMO_GUILD_ID in state.read_text()


async def test_a_heartbeat_is_acknowledged_after_a_round_trip_not_at_once():
    """discord.py's heartbeat thread notes a beat's send time only after the send returns; an ACK
    handled before that was measured against the previous beat (``websocket is 41.3s behind``
    in a local serve's log), so the emulator answers as a network would, a moment later."""
    async with (
        Emulator("127.0.0.1", 0) as emu,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{emu.gateway_url}?v=10&encoding=json") as ws,
    ):
        hello = await ws.receive_json()
        assert hello["op"] == 10
        for _ in range(3):
            sent = time.perf_counter()
            await ws.send_json({"op": 1, "d": None})
            ack = await ws.receive_json(timeout=2)
            assert ack["op"] == 11
            assert time.perf_counter() - sent >= HEARTBEAT_ACK_DELAY_SECONDS
    assert emu.heartbeats == 3
