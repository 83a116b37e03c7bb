"""Gateway behaviour: RESUME after a dropped socket loses nothing; intents follow the installed handlers."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
from maidcore_discord.intents import intents_for
from maidcore_discord.settings import DiscordSettings
from maidcore_discord.source import DiscordEventSource

from maidcore.layers import HandledEventTypes

from .conftest import BOB, RecordingSink

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_dropped_socket_mid_stream_resumes_without_losing_an_event(source, emulator, sink, general):
    contents = [f"stream {i}" for i in range(60)]
    resumes = emulator.resumes
    for i, text in enumerate(contents):
        emulator.post_message(general, BOB, text)
        if i == 20:
            await emulator.settle()
            assert await emulator.drop_connections() == 1
        if i == 40:
            await asyncio.sleep(0)
    await sink.wait_for("message_create", lambda e: e["content"] == contents[-1], timeout=30)
    got = [e["content"] for e, _ in sink.events if e["type"] == "message_create" and e["content"] in contents]
    assert got == contents  # every event, once, in order
    assert emulator.resumes == resumes + 1


async def test_intents_follow_the_event_types_plugins_handle():
    only_commands = intents_for({"interaction_create"})
    assert only_commands.guilds and not only_commands.message_content and not only_commands.members
    messages = intents_for({"message_create"})
    assert messages.guild_messages and messages.message_content and not messages.guild_reactions
    everything = intents_for({"member_join", "reaction_add", "voice_state_update"})
    assert everything.members and everything.guild_reactions and everything.voice_states
    assert not everything.message_content


async def test_without_message_handlers_the_bot_gets_no_message_text():
    """The emulator blanks content for a client without the message-content intent, as Discord does."""
    async with Emulator("127.0.0.1", 0) as emu:
        quiet = RecordingSink()
        src = DiscordEventSource(DiscordSettings(), emulator=emu)
        await src.start(quiet, frozenset({"interaction_create"}))
        try:
            session = next(iter(emu.sessions.values()))
            assert session.intents == intents_for({"interaction_create"}).value
            emu.post_message(emu.channel_named(DEMO_GUILD_ID, "general"), BOB, "private words")
            await emu.settle()
            await asyncio.sleep(0.2)
            assert quiet.events == []
        finally:
            await src.close()


async def test_sharding_splits_guilds_between_two_nodes():
    """Two sources with shard_ids [0] and [1] of 2 see disjoint guilds, like two maidcore nodes would."""
    async with Emulator("127.0.0.1", 0) as emu:
        gids = [emu.add_guild(f"g{i}", bot_permissions=1 << 10) for i in range(6)]
        sources = []
        try:
            for shard in (0, 1):
                src = DiscordEventSource(DiscordSettings(shard_ids=[shard], shard_count=2), emulator=emu)
                await src.start(RecordingSink(), frozenset({"message_create"}))
                sources.append(src)
            seen = [{str(g.id) for g in s.client.guilds} for s in sources]
            assert not seen[0] & seen[1]
            assert seen[0] | seen[1] == {*gids, DEMO_GUILD_ID}
            for shard, guilds in enumerate(seen):
                assert all((int(g) >> 22) % 2 == shard for g in guilds)
        finally:
            for src in sources:
                await src.close()


async def test_rest_speaks_discords_error_shapes(emulator):
    api = emulator.api_base
    auth = {"Authorization": f"Bot {emulator.bot_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/no/such/route", headers=auth) as r:
            assert r.status == 404 and (await r.json())["code"] == 0
        async with http.get(f"{api}/channels/123456789012345678", headers=auth) as r:
            assert r.status == 404 and await r.json() == {"code": 10003, "message": "Unknown Channel"}
        async with http.get(f"{api}/guilds/{DEMO_GUILD_ID}") as r:
            assert r.status == 401
        async with http.get(f"{api}/gateway/bot", headers=auth) as r:
            body = await r.json()
            assert body["url"] == emulator.gateway_url and body["shards"] == 1
        async with http.post(f"{api}/interactions/1/nope/callback", json={"type": 4}) as r:
            assert r.status == 404 and (await r.json())["code"] == 10062


async def test_a_plugin_that_handles_messages_widens_the_intents_live():
    async with Emulator("127.0.0.1", 0) as emu:
        handled = HandledEventTypes(frozenset({"interaction_create"}))
        sink = RecordingSink()
        src = DiscordEventSource(DiscordSettings(), emulator=emu, event_types=handled)
        await src.start(sink, frozenset({"interaction_create"}))
        try:
            assert not src.client.intents.message_content
            handled.update(frozenset({"interaction_create", "message_create"}))  # the runner learnt a new handler
            general = emu.channel_named(DEMO_GUILD_ID, "general")
            for _ in range(100):
                if src.client.intents.message_content and src.client.is_ready():
                    break
                await asyncio.sleep(0.05)
            assert src.client.intents.message_content and src.client.intents.guild_messages
            emu.post_message(general, BOB, "now I am heard")
            event, _ = await sink.wait_for("message_create")
            assert event["content"] == "now I am heard"
        finally:
            await src.close()
