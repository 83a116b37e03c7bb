"""Interactions in a cluster: accepted on one node, answered from another; deferred for the plugin when late.

Two discord.py sources on one emulator, each sharing state through its own
Redis coordinator (one key prefix): node a holds the shard and accepts the
interaction, node b holds no shard (as a node that took the event over from
the log after a failover would, before answering).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import pytest_asyncio
from maidcore_discord.emulator import DEMO_GUILD_ID
from maidcore_discord.interactions import TICKET_KEY
from maidcore_discord.settings import DiscordSettings
from maidcore_discord.source import DiscordEventSource
from yourbot_sdk.events import EVENT_TYPES

from maidcore.cluster.redis_coordinator import RedisCoordinator
from maidcore.errors import InvalidArgument
from maidcore.layers.shared import Shared
from maidcore.scope import Scope

from .conftest import ALICE, RecordingSink

pytestmark = pytest.mark.asyncio(loop_scope="module")

PING = Scope(DEMO_GUILD_ID, "pingpong")
RESCUE = 1.0


async def no_wait(shard_id: int) -> None:
    return None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def nodes(emulator, redis_url):
    prefix = f"maidcore-test-{uuid.uuid4().hex[:8]}"
    coords = [RedisCoordinator(redis_url, prefix) for _ in range(2)]
    settings = DiscordSettings(interaction_rescue_seconds=RESCUE)
    sources, sinks = [], []
    for i, coord in enumerate(coords):
        await coord.start()
        shared = Shared()
        shared.attach(coord)
        sink = RecordingSink()
        source = DiscordEventSource(settings, emulator=emulator, shared=shared.scoped("event_source.discord"))
        sink.source = source
        if i == 1:
            source.manage_shards(no_wait)  # node b: connected, but serving no shard
        await source.start(sink, frozenset(EVENT_TYPES))
        sources.append(source)
        sinks.append(sink)
    await sinks[0].install(DEMO_GUILD_ID, "pingpong", [{"name": "ping", "description": "Ping"}])
    yield sources, sinks
    for source in sources:
        await source.close()
    keys = [k async for k in coords[0].r.scan_iter(f"{prefix}:*")]
    if keys:
        await coords[0].r.delete(*keys)
    for coord in coords:
        await coord.close()


async def accepted_on_a(nodes, emulator, general) -> str:
    (a, b), (sink_a, _) = nodes
    inter = emulator.run_command(general, ALICE, "ping", {})
    await sink_a.wait_for("interaction_create", lambda e: e["interaction_id"] == inter["id"])
    assert inter["id"] in a.interactions.pending and inter["id"] not in b.interactions.pending
    return inter["id"]


def answers(emulator, general, iid: str) -> list[dict]:
    return [m for m in emulator.state.messages[general].values() if m.get("interaction_metadata", {}).get("id") == iid]


async def call(source: DiscordEventSource, method: str, iid: str, **params):
    return await source.call(PING, f"interaction.{method}", {"_interaction_id": iid, **params})


async def test_an_interaction_accepted_on_one_node_is_answered_from_another(nodes, emulator, general):
    (a, b), _ = nodes
    iid = await accepted_on_a(nodes, emulator, general)
    await call(b, "respond", iid, content="answered by b")
    assert [m["content"] for m in answers(emulator, general, iid)] == ["answered by b"]
    # node a learns it from the shared ticket: a second answer is the SDK's typed error, Discord is never asked
    with pytest.raises(InvalidArgument, match="respond after respond"):
        await call(a, "respond", iid, content="answered by a")
    # had a's view been stale (a lost write), Discord's 40060 would come back as the same typed error
    ticket = await a.shared.get(TICKET_KEY + iid)
    await a.shared.put(TICKET_KEY + iid, {**ticket, "answered": ""}, 60)
    with pytest.raises(InvalidArgument, match="40060"):
        await call(a, "respond", iid, content="answered by a")
    assert [m["content"] for m in answers(emulator, general, iid)] == ["answered by b"]
    followup = await call(a, "followup", iid, content="and a follow-up from a")
    assert followup["channel_id"] == general
    assert len(answers(emulator, general, iid)) == 2


async def wait_deferred(emulator, iid: str) -> None:
    deadline = time.monotonic() + 5
    while not emulator.state.interactions[iid]["acknowledged"]:
        assert time.monotonic() < deadline, "nobody deferred the unanswered interaction"
        await asyncio.sleep(0.05)


def rescued(nodes) -> int:
    (a, b), _ = nodes
    return a.interactions.rescued + b.interactions.rescued


async def wait_rescued(nodes, count: int) -> None:
    """Until a node has finished its defer: Discord marks it acknowledged before that node saves the ticket."""
    deadline = time.monotonic() + 5
    while rescued(nodes) < count:
        assert time.monotonic() < deadline, "no node finished deferring the interaction"
        await asyncio.sleep(0.02)


async def test_an_interaction_nobody_answers_in_time_is_deferred_and_answered_later(nodes, emulator, general):
    (a, b), _ = nodes
    before = rescued(nodes)
    iid = await accepted_on_a(nodes, emulator, general)
    received = time.monotonic()
    await wait_deferred(emulator, iid)
    assert RESCUE - 0.1 <= time.monotonic() - received < 3.0  # after the rescue delay, inside Discord's 3 s
    assert emulator.state.interactions[iid]["deferred"]
    await wait_rescued(nodes, before + 1)
    assert rescued(nodes) == before + 1  # one node deferred it
    await asyncio.sleep(max(0.0, 3.2 - (time.monotonic() - received)))  # past Discord's 3 s: respond still lands
    await call(b, "respond", iid, content="late but here")
    (message,) = answers(emulator, general, iid)
    assert message["content"] == "late but here" and not message["flags"] & 128  # the placeholder, filled
    with pytest.raises(InvalidArgument, match="respond after respond"):
        await call(a, "respond", iid, content="again")


async def test_after_a_platform_defer_ephemeral_answers_stay_private_and_modals_are_refused(nodes, emulator, general):
    (a, _), _ = nodes
    before = rescued(nodes)
    iid = await accepted_on_a(nodes, emulator, general)
    await wait_deferred(emulator, iid)
    await wait_rescued(nodes, before + 1)  # the deferring node saves the ticket right after Discord's answer
    with pytest.raises(InvalidArgument, match="platform deferred it"):
        await call(a, "send_modal", iid, title="Too late", custom_id="m", fields=[{"type": 4, "custom_id": "x"}])
    await call(a, "respond", iid, content="only for you", ephemeral=True)
    (message,) = answers(emulator, general, iid)  # the public placeholder went; the answer is ephemeral
    assert message["content"] == "only for you" and message["flags"] & 64


async def test_a_late_component_answer_still_updates_its_message(nodes, emulator, general):
    (a, b), (sink_a, _) = nodes
    before = rescued(nodes)
    row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "pingpong:go"}]}
    sent = await a.call(PING, "discord.send_message", {"channel_id": general, "content": "click", "components": [row]})
    click = emulator.click(general, sent["message_id"], ALICE, "pingpong:go")
    await sink_a.wait_for("interaction_create", lambda e: e["interaction_id"] == click["id"])
    count = len(emulator.state.messages[general])
    await wait_deferred(emulator, click["id"])  # acknowledged without a placeholder (a component's defer)
    await wait_rescued(nodes, before + 1)
    assert len(emulator.state.messages[general]) == count
    await call(b, "respond", click["id"], content="clicked, late", components=[], update_message=True)
    assert emulator.state.messages[general][sent["message_id"]]["content"] == "clicked, late"
    assert len(emulator.state.messages[general]) == count
