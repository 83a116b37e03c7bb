"""Widening the gateway intents live loses no event: the new session is made before the old one is broken."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
from maidcore_discord.handover import NEW, OLD, Dispatch, Handover, dispatch_key
from maidcore_discord.intents import intents_for
from maidcore_discord.settings import DiscordSettings
from maidcore_discord.source import DiscordEventSource

from maidcore.layers import HandledEventTypes
from maidcore.scope import Scope

from .conftest import BOB, RecordingSink

BEFORE = frozenset({"interaction_create", "message_create"})
PLUGIN_B = frozenset({"member_join"})  # needs the privileged members intent
PLUGIN_C = frozenset({"reaction_add"})  # needs guild reactions


class PingPlugin(RecordingSink):
    """Answers every ``ping N`` with ``pong N`` through the source's actions, as a ping plugin would."""

    def __init__(self) -> None:
        super().__init__()
        self.answering: set[asyncio.Task[Any]] = set()
        self.failures: list[BaseException] = []

    async def publish(self, event: dict[str, Any], **kw: Any) -> int:
        n = await super().publish(event, **kw)
        if (kw.get("event_type") or event["type"]) == "message_create" and event["content"].startswith("ping "):
            task = asyncio.create_task(self._answer(event))
            self.answering.add(task)
            task.add_done_callback(self.answering.discard)
        return n

    async def _answer(self, event: dict[str, Any]) -> None:
        assert self.source is not None
        content = "pong " + event["content"].removeprefix("ping ")
        try:
            params = {"channel_id": event["channel_id"], "content": content}
            await self.source.call(Scope(DEMO_GUILD_ID, "ping"), "discord.send_message", params)
        except Exception as exc:
            self.failures.append(exc)


def _connected(emu: Emulator) -> frozenset[str]:
    return frozenset(s.session_id for s in emu.sessions.values() if s.socket is not None)


async def _widen_while_pinging(emu: Emulator, src: DiscordEventSource, handled: HandledEventTypes, general: str):
    """Post pings every few ms from before the widening to well after it; return the pings and session samples."""
    pings: list[str] = []
    samples: list[tuple[float, frozenset[str]]] = []
    done = asyncio.Event()

    async def post() -> None:
        i = 0
        while not done.is_set():
            pings.append(f"ping {i}")
            emu.post_message(general, BOB, pings[-1])
            samples.append((time.monotonic(), _connected(emu)))
            i += 1
            await asyncio.sleep(0.005)

    poster = asyncio.create_task(post())
    await asyncio.sleep(0.3)
    # two plugins register their handlers at nearly the same moment (one install, or a restart)
    handled.update(BEFORE | PLUGIN_B)
    await asyncio.sleep(0.05)
    handled.update(BEFORE | PLUGIN_B | PLUGIN_C)
    wide = intents_for(BEFORE | PLUGIN_B | PLUGIN_C).value
    for _ in range(400):
        client = src.client
        if client is not None and client.intents.value == wide and len(_connected(emu)) == 1:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    done.set()
    await poster
    return pings, samples


async def _answers(emu: Emulator, general: str, plugin: PingPlugin, expected: int) -> dict[str, int]:
    deadline = time.monotonic() + 30
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        await emu.settle()
        counts = {}
        for msg in emu.state.messages.get(general, {}).values():
            if msg["content"].startswith("pong "):
                counts[msg["content"]] = counts.get(msg["content"], 0) + 1
        if len(counts) >= expected and not plugin.answering:
            break
        await asyncio.sleep(0.1)
    return counts


async def test_pings_during_a_widening_reconnect_are_each_answered_exactly_once():
    async with Emulator("127.0.0.1", 0) as emu:
        handled = HandledEventTypes(BEFORE)
        plugin = PingPlugin()
        src = DiscordEventSource(DiscordSettings(), emulator=emu, event_types=handled)
        await src.start(plugin, BEFORE)
        plugin.source = src
        try:
            general = emu.channel_named(DEMO_GUILD_ID, "general")
            (first,) = _connected(emu)
            identifies = emu.identifies
            pings, samples = await _widen_while_pinging(emu, src, handled, general)

            counts = await _answers(emu, general, plugin, len(pings))
            missing = [p for p in pings if counts.get("pong " + p.removeprefix("ping "), 0) == 0]
            twice = {k: n for k, n in counts.items() if n > 1}
            assert not missing, f"{len(missing)} of {len(pings)} pings never answered, e.g. {missing[:5]}"
            assert not twice, f"answered more than once: {twice}"
            assert not plugin.failures, plugin.failures[:3]  # no answer failed (old client's HTTP closed under it)
            received = [e["content"] for e, _ in plugin.events if e.get("content", "").startswith("ping ")]
            assert len(received) == len(set(received)) == len(pings)  # each published once

            # one reconnect for both plugins, with the wider intents
            assert emu.identifies == identifies + 1
            (second,) = _connected(emu)
            assert second != first
            assert emu.sessions[second].intents == intents_for(BEFORE | PLUGIN_B | PLUGIN_C).value
            assert src.client.intents.members and src.client.intents.guild_reactions
            # both sessions were live together, then the old one was ended by a clean close
            both = [t for t, live in samples if live == {first, second}]
            after = [t for t, live in samples if live == {second}]
            assert both and after and max(both) < min(after)
            assert (first, 1000) in emu.ended_sessions and first not in emu.sessions
            print(f"overlap seen by the emulator: {max(both) - min(both):.2f}s over {len(pings)} pings")
        finally:
            await src.close()


async def test_a_widening_while_the_old_session_resumes_loses_nothing():
    async with Emulator("127.0.0.1", 0) as emu:
        handled = HandledEventTypes(BEFORE)
        plugin = RecordingSink()
        src = DiscordEventSource(DiscordSettings(), emulator=emu, event_types=handled)
        await src.start(plugin, BEFORE)
        plugin.source = src
        try:
            general = emu.channel_named(DEMO_GUILD_ID, "general")
            resumes = emu.resumes
            # the old session's socket drops and its RESUME is answered only after the new session is ready:
            # what Discord sent in between is in the old session alone
            emu.resume_delay_seconds = 4.0
            await emu.drop_connections()
            texts = [f"resume {i}" for i in range(50)]
            for text in texts[:25]:
                emu.post_message(general, BOB, text)
            handled.update(BEFORE | PLUGIN_B)
            for text in texts[25:]:
                emu.post_message(general, BOB, text)
                await asyncio.sleep(0.05)
            widened = intents_for(BEFORE | PLUGIN_B).value
            for _ in range(300):
                if src.client.intents.value == widened and len(_connected(emu)) == 1:
                    break
                await asyncio.sleep(0.05)
            emu.post_message(general, BOB, "after")
            await plugin.wait_for("message_create", lambda e: e["content"] == "after", timeout=20)
            got = [e["content"] for e, _ in plugin.events if e.get("content", "").startswith("resume ")]
            assert sorted(got) == sorted(texts), f"lost: {sorted(set(texts) - set(got))}"
            assert len(got) == len(texts)
            assert emu.resumes == resumes + 1  # the old session was resumed (its backlog), then ended
            assert src.client.intents.value == widened
        finally:
            with contextlib.suppress(Exception):
                await src.close()


async def test_in_a_cluster_the_node_widens_its_shards_in_their_identify_turns_and_loses_nothing():
    async with Emulator("127.0.0.1", 0, demo=False, recommended_shards=2) as emu:
        guilds = emu.add_guilds(2)
        channels = {(int(g) >> 22) % 2: emu.channel_named(g, "general") for g in guilds}
        turns: list[int] = []
        lost_lease = asyncio.Event()
        second_turn = asyncio.Event()

        async def gate(shard_id: int) -> None:  # the cluster's IDENTIFY bucket: one at a time, a turn each
            turns.append(shard_id)
            if len(turns) > 2 and shard_id == 1:
                second_turn.set()
            await asyncio.sleep(0.2)

        src = DiscordEventSource(DiscordSettings(), emulator=emu)
        src.manage_shards(gate)
        sink = RecordingSink()
        try:
            await src.start(sink, BEFORE)
            await src.serve_shard(0)
            await src.serve_shard(1)
            old = {s.shard[0]: s.session_id for s in emu.sessions.values()}
            texts: list[tuple[int, str]] = []
            done = asyncio.Event()

            async def post() -> None:
                i = 0
                while not done.is_set():
                    for shard, channel in channels.items():
                        if shard == 1 and lost_lease.is_set():
                            continue
                        texts.append((shard, f"cluster {shard} {i}"))
                        emu.post_message(channel, BOB, texts[-1][1])
                    i += 1
                    await asyncio.sleep(0.01)

            poster = asyncio.create_task(post())
            await asyncio.sleep(0.2)
            widening = asyncio.create_task(src.widen(BEFORE | PLUGIN_B))
            await second_turn.wait()
            # shard 1's lease is lost mid-widening (another node takes it): this node stops it on both clients
            lost_lease.set()
            await src.stop_shard(1)
            stopped_at = len(sink.events)
            assert await widening
            await asyncio.sleep(0.5)
            done.set()
            await poster
            last = f"cluster 0 {len(texts)}"
            emu.post_message(channels[0], BOB, last)
            await sink.wait_for("message_create", lambda e: e.get("content") == last, timeout=20)

            got = [e["content"] for e, _ in sink.events if e.get("content", "").startswith("cluster 0 ")]
            want = [t for s, t in texts if s == 0]
            assert sorted(got) == sorted([*want, last]) and len(got) == len(set(got)), "shard 0: lost or doubled"
            late = [e for e, _ in sink.events[stopped_at:] if e.get("content", "").startswith("cluster 1 ")]
            assert not late  # nothing of a shard whose lease went is published after its stop
            assert turns[:2] == [0, 1] and sorted(turns[2:]) == [0, 1]  # the new sessions identified in their turns
            live = [s for s in emu.sessions.values() if s.socket is not None]
            assert [s.shard[0] for s in live] == [0] and live[0].session_id != old[0]
            assert live[0].intents == intents_for(BEFORE | PLUGIN_B).value
            assert (old[0], 1000) in emu.ended_sessions  # the old session of shard 0 ended after the switch
            assert emu.sessions[old[1]].socket is None  # shard 1's old session stays resumable for its next holder
            record = await src.shared.get("resume:0")
            assert record["session_id"] == live[0].session_id  # a takeover resumes the new session
        finally:
            await src.close()


def test_the_handover_publishes_the_first_copy_of_each_event_and_forgets_the_oldest_past_its_bound():
    handover = Handover(limit=4)

    def first(side: str, name: str, data: dict[str, Any], kind: str = "message_create") -> bool:
        return handover.first(Dispatch(handover, side, dispatch_key(name, data)), kind)

    ping = {"id": "1", "content": "ping"}
    assert first(OLD, "MESSAGE_CREATE", ping) and not first(NEW, "MESSAGE_CREATE", {**ping, "member": {}})
    assert first(NEW, "MESSAGE_CREATE", {"id": "2"}) and not first(OLD, "MESSAGE_CREATE", {"id": "2"})
    # payloads without an id are compared whole: a reaction added, removed and added again is three events
    add = {"message_id": "1", "user_id": "7", "emoji": {"name": "x"}}
    assert first(OLD, "MESSAGE_REACTION_ADD", add, "reaction_add")
    assert first(OLD, "MESSAGE_REACTION_ADD", add, "reaction_add")
    assert not first(NEW, "MESSAGE_REACTION_ADD", add, "reaction_add")
    assert handover.dropped == 3 and handover.published == {OLD: 3, NEW: 1}
    # a dispatch giving several events of one type (a bulk delete) numbers them
    bulk = Dispatch(handover, OLD, dispatch_key("MESSAGE_DELETE_BULK", {"ids": ["5", "6"]}))
    assert handover.first(bulk, "message_delete") and handover.first(bulk, "message_delete")
    # bounded: the oldest remembered copies are forgotten first
    for i in range(10):
        first(OLD, "MESSAGE_CREATE", {"id": f"x{i}"})
    assert len(handover.seen) == 4
    assert first(NEW, "MESSAGE_CREATE", {"id": "x0"}) and not first(NEW, "MESSAGE_CREATE", {"id": "x9"})
    assert handover.admit(OLD) and handover.admit(NEW)
    handover.cut = True
    assert not handover.admit(OLD) and handover.admit(NEW)


async def test_a_widening_past_discords_session_start_limit_is_refused_and_the_old_session_serves_on():
    async with Emulator("127.0.0.1", 0) as emu:
        src = DiscordEventSource(DiscordSettings(), emulator=emu)
        sink = RecordingSink()
        await src.start(sink, BEFORE)
        try:
            emu.session_start_total = emu.identifies  # today's session starts are used up
            with pytest.raises(RuntimeError, match=r"session start limit leaves 0 IDENTIFYs .* needs 1"):
                await src.widen(BEFORE | PLUGIN_B)
            assert emu.identifies == 1 and not src.client.intents.members
            emu.post_message(emu.channel_named(DEMO_GUILD_ID, "general"), BOB, "still heard")
            await sink.wait_for("message_create", lambda e: e["content"] == "still heard")
        finally:
            await src.close()


async def test_a_shard_taken_mid_widening_is_served_on_the_new_client():
    async with Emulator("127.0.0.1", 0, demo=False, recommended_shards=2) as emu:
        guilds = emu.add_guilds(2)
        channels = {(int(g) >> 22) % 2: emu.channel_named(g, "general") for g in guilds}
        new_turn = asyncio.Event()
        turns: list[int] = []

        async def gate(shard_id: int) -> None:
            turns.append(shard_id)
            if len(turns) == 2:
                new_turn.set()

        src = DiscordEventSource(DiscordSettings(), emulator=emu)
        src.manage_shards(gate)
        sink = RecordingSink()
        try:
            await src.start(sink, BEFORE)
            await src.serve_shard(0)
            widening = asyncio.create_task(src.widen(BEFORE | PLUGIN_B))
            await new_turn.wait()  # shard 0 is identifying on the new client
            await src.serve_shard(1)  # a lease taken now waits for the widening, then connects on the new client
            assert await widening
            wide = intents_for(BEFORE | PLUGIN_B).value
            live = {s.shard[0]: s for s in emu.sessions.values() if s.socket is not None}
            assert sorted(live) == [0, 1] and {s.intents for s in live.values()} == {wide}
            assert src.client.intents.value == wide and sorted(src._shard_map()) == [0, 1]
            emu.post_message(channels[1], BOB, "on shard 1")
            await sink.wait_for("message_create", lambda e: e.get("content") == "on shard 1")
        finally:
            await src.close()
