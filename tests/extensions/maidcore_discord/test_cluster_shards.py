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
from maidcore_discord.resume import _FRAME, Tracker, gateway_key
from maidcore_discord.settings import DiscordSettings
from maidcore_discord.source import DiscordEventSource

from maidcore.cluster import DurableSink, ShardHost
from maidcore.layers.shared import Shared
from tests.cluster import engines
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
            # not a clean close: the session stays resumable for whoever takes the shard next, and says how far
            (left,) = [s for s in emu.sessions.values() if s.shard == (1, 2)]
            assert left.socket is None
            record = await source.shared.get("resume:1")
            assert record["session_id"] == left.session_id and record["seq"] == left.seq
            assert list(source.client.guilds) == []
            assert not [e for e, _ in sink.events if e.get("content") == "on shard 0"]
        finally:
            await source.close()


async def test_a_shard_served_after_discord_py_closed_the_client_gets_a_new_client():
    """discord.py closes the whole client when one shard ends for good; the node must still serve shards later."""
    async with Emulator("127.0.0.1", 0, demo=False, recommended_shards=2) as emu:
        guilds = emu.add_guilds(2)
        by_shard = {(int(g) >> 22) % 2: g for g in guilds}

        async def gate(shard_id: int) -> None:
            return None

        source = DiscordEventSource(DiscordSettings(), emulator=emu)
        source.manage_shards(gate)
        sink = RecordingSink()
        try:
            await source.start(sink, frozenset({"message_create"}))
            await source.serve_shard(0)
            closed = source.client
            await closed.close()  # what AutoShardedClient does itself when a shard's connection ends for good
            assert closed.is_closed()
            await source.serve_shard(1)
            assert source.client is not closed and not source.client.is_closed()
            emu.post_message(emu.channel_named(by_shard[1], "general"), BOB, "after the close")
            event, _ = await sink.wait_for("message_create", lambda e: e.get("content") == "after the close")
            assert event["guild_id"] == by_shard[1]
        finally:
            await source.close()


async def test_the_next_holder_resumes_the_old_session_and_publishes_what_came_in_the_gap():
    """Two sources sharing state as two nodes would: the second replays what the first never got."""
    async with Emulator("127.0.0.1", 0, demo=False, recommended_shards=1) as emu:
        (guild,) = emu.add_guilds(1)
        channel = emu.channel_named(guild, "general")
        shared = Shared()  # one process's stand-in for the cluster's Redis: both sources read and write it

        async def gate(shard_id: int) -> None:
            return None

        def source() -> DiscordEventSource:
            src = DiscordEventSource(DiscordSettings(), emulator=emu, shared=shared)
            src.manage_shards(gate)
            return src

        old, new = source(), source()
        old_sink, new_sink = RecordingSink(), RecordingSink()
        try:
            await old.start(old_sink, frozenset({"message_create"}))
            await old.serve_shard(0)
            emu.post_message(channel, BOB, "before")
            await old_sink.wait_for("message_create", lambda e: e["content"] == "before")
            await asyncio.sleep(0.8)  # the periodic record moved past "before"
            # the holder dies: its socket drops (no clean close, no last record), its tasks stop
            shard = old._shard_map().pop(0)
            shard._cancel_task()
            await shard.ws.socket.close(code=4000)
            await old.sessions.close()
            gap = [f"gap {n}" for n in range(5)]
            for text in gap:
                emu.post_message(channel, BOB, text)
            await emu.settle()

            await new.start(new_sink, frozenset({"message_create"}))
            await new.serve_shard(0)
            emu.post_message(channel, BOB, "after")
            await new_sink.wait_for("message_create", lambda e: e["content"] == "after")
            got = [e["content"] for e, _ in new_sink.events if e.get("type") == "message_create"]
            assert [c for c in got if c.startswith("gap")] == gap  # every one, once, in order
            assert got.count("after") == 1 and "before" not in got
            assert emu.resumes == 1 and emu.invalid_sessions == 0
            # the old session is ended; the new one is what the next holder would resume
            assert [s.session_id for s in emu.sessions.values() if s.shard == (0, 1)] == [
                new.client.shards[0]._parent.ws.session_id
            ]
            record = await shared.get("resume:0")
            assert record["session_id"] == new.client.shards[0]._parent.ws.session_id
        finally:
            await new.close()
            await old.close()


@pytest.mark.parametrize("engine", ["redis", "postgresql"])
async def test_events_recorded_after_the_last_written_resume_point_are_not_recorded_again(request, engine):
    """The holder dies after recording events its resume record does not cover yet: the replay keeps them once.

    Each source appends to the shard's real log (Redis, then PostgreSQL) through ``DurableSink``, as a node does;
    the first one's periodic resume record is stopped before the events come (the kill lands
    before its next write), so the second one's RESUME replays them.
    """
    async with (
        engines.open_coordinators(request, engine, count=1) as (coord,),
        Emulator("127.0.0.1", 0, demo=False, recommended_shards=1) as emu,
    ):
        (guild,) = emu.add_guilds(1)
        channel = emu.channel_named(guild, "general")
        shared = Shared()

        async def gate(shard_id: int) -> None:
            return None

        async def node(name: str) -> tuple[DiscordEventSource, DurableSink]:
            lease = await coord.acquire(0, name, ttl=30)
            assert lease is not None
            sink = DurableSink(RecordingSink(), coord, name)  # type: ignore[arg-type]
            sink.shard_count, sink.leases[0] = 1, lease
            src = DiscordEventSource(DiscordSettings(), emulator=emu, shared=shared)
            src.manage_shards(gate)
            await src.start(sink, frozenset({"message_create"}))
            return src, sink

        async def logged() -> list[str]:
            return [record["event"].get("content") for record in await engines.logged_records(coord, 0)]

        async def until(check, what: str) -> None:
            for _ in range(200):
                if check(await logged()):
                    return
                await asyncio.sleep(0.02)
            raise AssertionError(f"timed out waiting for {what}; log: {await logged()}")

        old, old_sink = await node("a")
        new = None
        try:
            await old.serve_shard(0)
            await old.sessions.close()  # no further periodic record: the kill comes before the next one
            recorded = [f"recorded {n}" for n in range(5)]
            for text in recorded:
                emu.post_message(channel, BOB, text)
            await until(lambda log: sorted(log) == recorded, "the old holder to record its events")
            # the holder dies: its socket drops, its tasks stop, its lease goes
            shard = old._shard_map().pop(0)
            shard._cancel_task()
            await shard.ws.socket.close(code=4000)
            await coord.release(old_sink.leases.pop(0))
            gap = [f"gap {n}" for n in range(3)]
            for text in gap:
                emu.post_message(channel, BOB, text)
            await emu.settle()

            new, new_sink = await node("b")
            await new.serve_shard(0)
            emu.post_message(channel, BOB, "after")
            await until(lambda log: "after" in log, "the new holder to record live events")
            # each once (handler tasks append concurrently: the order within the replay may vary)
            assert sorted(await logged()) == sorted([*recorded, *gap, "after"])
            assert emu.resumes == 1
            assert new_sink.counters["duplicate"] == len(recorded)  # replayed, recognised, dropped
        finally:
            if new is not None:
                await new.close()
            await old.close()


async def test_an_expired_session_is_not_replayed_and_the_new_one_serves():
    async with Emulator("127.0.0.1", 0, demo=False, recommended_shards=1, resume_seconds=0.2) as emu:
        (guild,) = emu.add_guilds(1)
        channel = emu.channel_named(guild, "general")
        shared = Shared()
        await shared.put("resume:0", {"session_id": "gone", "seq": 3, "gateway": emu.gateway_url}, 60)

        async def gate(shard_id: int) -> None:
            return None

        src = DiscordEventSource(DiscordSettings(), emulator=emu, shared=shared)
        src.manage_shards(gate)
        sink = RecordingSink()
        try:
            await src.start(sink, frozenset({"message_create"}))
            await src.serve_shard(0)
            assert emu.invalid_sessions == 1 and emu.resumes == 0
            emu.post_message(channel, BOB, "served")
            await sink.wait_for("message_create", lambda e: e["content"] == "served")
            assert (await shared.get("resume:0"))["session_id"] != "gone"
        finally:
            await src.close()


async def test_a_node_can_use_an_emulator_another_process_runs():
    async with Emulator("127.0.0.1", 0) as emu:
        mode = RemoteEmulatorMode(DiscordSettings(emulator_url=emu.base_url))
        await mode.start()
        assert mode.demo_server_id is not None and mode.url == emu.page_url
        assert mode.emulator.api_base == emu.api_base and mode.emulator.bot_token == emu.bot_token
    with pytest.raises(RuntimeError, match="no emulator answers there"):
        await RemoteEmulatorMode(DiscordSettings(emulator_url="http://127.0.0.1:9")).start()


def test_gateway_keys_name_each_event_of_a_dispatch():
    """Session, sequence and type; a bulk delete's second and later events of one type are numbered."""
    tracker = Tracker(0, lambda: None)  # type: ignore[arg-type,return-value]
    frame = tracker.begin("sess", 41)
    assert gateway_key("message_delete") is None  # outside a tracked dispatch

    def publishes() -> list[str | None]:
        return [gateway_key("message_delete"), gateway_key("message_delete"), gateway_key("reaction_add")]

    token = _FRAME.set(frame)
    try:
        first = publishes()
    finally:
        _FRAME.reset(token)
    assert first == ["sess:41:message_delete", "sess:41:message_delete:1", "sess:41:reaction_add"]
    replayed = Tracker(0, lambda: None).begin("sess", 41)  # type: ignore[arg-type,return-value]
    token = _FRAME.set(replayed)
    try:
        assert publishes() == first  # the same names on a replay of that dispatch
    finally:
        _FRAME.reset(token)
