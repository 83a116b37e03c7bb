"""The source as a cluster runs it: no shard at start, shards served and stopped one by one, IDENTIFY gated.

Also the standalone emulator's guild/shard flags and ``discord.emulator_url`` (a node using an
emulator another process runs, still in local mode).
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from maidcore_discord.emulator import Emulator
from maidcore_discord.emulator.__main__ import main as emulator_main
from maidcore_discord.local import RemoteEmulatorMode
from maidcore_discord.settings import DiscordSettings
from maidcore_discord.source import DiscordEventSource

from maidcore.cluster import ShardHost
from tests.extensions.maidcore_discord.conftest import BOB, RecordingSink


async def test_add_guilds_spreads_them_over_the_shards_and_gateway_bot_says_the_buckets():
    async with Emulator("127.0.0.1", 0, demo=False, recommended_shards=3, max_concurrency=2) as emu:
        ids = emu.add_guilds(6)
        assert sorted((int(g) >> 22) % 3 for g in ids) == [0, 0, 1, 1, 2, 2]
        async with (
            aiohttp.ClientSession() as http,
            http.get(emu.api_base + "/gateway/bot", headers={"Authorization": f"Bot {emu.bot_token}"}) as r,
        ):
            body = await r.json()
        assert body["shards"] == 3 and body["session_start_limit"]["max_concurrency"] == 2


def test_the_standalone_emulator_refuses_bad_counts(capsys):
    with pytest.raises(SystemExit):
        emulator_main(["--shards", "0"])
    assert "--shards and --max-concurrency >= 1" in capsys.readouterr().err


async def test_a_managed_source_serves_only_the_shards_it_is_given():
    async with Emulator("127.0.0.1", 0, demo=False, recommended_shards=2) as emu:
        guilds = emu.add_guilds(2)
        by_shard = {(int(g) >> 22) % 2: g for g in guilds}
        gated: list[int] = []

        async def gate(shard_id: int) -> None:
            gated.append(shard_id)

        source = DiscordEventSource(DiscordSettings(), emulator=emu)
        assert isinstance(source, ShardHost)
        source.manage_shards(gate)
        sink = RecordingSink()
        try:
            await source.start(sink, frozenset({"message_create"}))
            assert source.shard_count == 2 and source.max_concurrency == 1
            assert not [s for s in emu.sessions.values() if s.socket is not None]  # nothing until a lease says so
            await source.serve_shard(1)
            assert gated == [1]
            assert {str(g.id) for g in source.client.guilds} == {by_shard[1]}
            emu.post_message(emu.channel_named(by_shard[1], "general"), BOB, "on shard 1")
            emu.post_message(emu.channel_named(by_shard[0], "general"), BOB, "on shard 0")
            event, _ = await sink.wait_for("message_create", lambda e: e.get("content") == "on shard 1")
            assert event["guild_id"] == by_shard[1]
            await source.stop_shard(1)
            await asyncio.sleep(0.2)
            assert not [s for s in emu.sessions.values() if s.shard == (1, 2)]  # a clean close ends the session
            assert list(source.client.guilds) == []
            assert not [e for e, _ in sink.events if e.get("content") == "on shard 0"]
        finally:
            await source.close()


async def test_a_node_can_use_an_emulator_another_process_runs():
    async with Emulator("127.0.0.1", 0) as emu:
        mode = RemoteEmulatorMode(DiscordSettings(emulator_url=emu.base_url))
        await mode.start()
        assert mode.demo_server_id is not None and mode.url == emu.page_url
        assert mode.emulator.api_base == emu.api_base and mode.emulator.bot_token == emu.bot_token
    with pytest.raises(RuntimeError, match="no emulator answers there"):
        await RemoteEmulatorMode(DiscordSettings(emulator_url="http://127.0.0.1:9")).start()
