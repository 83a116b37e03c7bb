"""Events Discord sends while no node holds a shard are not lost: the next holder RESUMEs the old session.

Two ``maidcore serve`` processes on one emulator (2 shards), PostgreSQL and Redis.
Pings posted after the holder of shard 0 was killed and before anyone took the
shard over reach nobody's socket; the emulator keeps them in the dead node's
session, and the survivor replays them from the sequence the dead node last
recorded. A node coming back and taking its shard back loses nothing either.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.cluster.test_multinode import cluster, connected_sessions, holder, install, pongs

pytestmark = pytest.mark.slow

__all__ = ["cluster"]  # the fixture, shared with the other multi-node tests


def test_events_of_the_gap_after_a_kill_and_during_a_hand_back_are_all_answered(cluster, tmp_path):
    local, client, prefix = cluster
    channels = local.guild_channels()
    shard_guild = {(int(g) >> 22) % 2: g for g in channels}
    install(local, tmp_path, list(channels), {}, delay=0)
    local.start_node("a")
    local.start_node("b")
    # settled: one shard on each node (the first node up handed one to the second), both serving
    local.wait(lambda: {holder(client, prefix, 0), holder(client, prefix, 1)} == {"a", "b"}, 60, "a shard on each")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "both shards connected")
    channel = channels[shard_guild[0]]
    local.post(channel, "ping 0")
    local.wait(lambda: 0 in pongs(local, channel), 60, "the warm-up ping answered")
    record_key = f"{prefix}:state:event_source.discord:resume:0"

    def recorded_past_warm_up() -> bool:
        """The holder's record names its live session (not the one it took over) at a sequence past ping 0."""
        raw = client.get(record_key)
        live = [s["session_id"] for s in local.api("sessions") if s["shard"][0] == 0 and s["connected"]]
        return bool(raw) and json.loads(raw)["session_id"] in live

    local.wait(recorded_past_warm_up, 30, "shard 0's holder recording its session")
    time.sleep(1)  # a record write or two after the warm-up ping was handled
    victim = holder(client, prefix, 0)
    survivor = "b" if victim == "a" else "a"

    local.kill(victim)
    gap = range(100, 120)
    for n in gap:
        local.post(channel, f"ping {n}")
    # posted while nobody served shard 0: the lease not yet taken over, no socket on the shard
    assert holder(client, prefix, 0) != survivor, "the survivor took shard 0 before the gap pings were posted"
    assert connected_sessions(local, 0) == 0

    local.wait(lambda: holder(client, prefix, 0) == survivor, 30, "the survivor taking shard 0")
    local.wait(lambda: set(gap) <= set(pongs(local, channel)), 60, "every ping of the gap answered")
    answers = pongs(local, channel)
    twice = {n: answers[n] for n in gap if len(answers[n]) > 1}
    assert not twice, f"pings of the gap answered more than once: {twice}"
    assert len(answers[0]) == 1, "the warm-up ping, recorded before the kill, was replayed"
    local.wait(lambda: connected_sessions(local, 0) == 1, 30, "the old session closed after the replay")
    print(f"{len(gap)} pings posted between the kill and the takeover: all answered once")

    # the victim returns and takes shard 0 back: pings posted all along the hand-back are answered
    local.start_node(victim)
    handback = iter(range(200, 10_000))
    posted: list[int] = []
    started = time.monotonic()

    def back_and_served() -> bool:
        return holder(client, prefix, 0) == victim and connected_sessions(local, 0) == 1

    while not back_and_served() and time.monotonic() - started < 60:
        n = next(handback)
        local.post(channel, f"ping {n}")
        posted.append(n)
        time.sleep(0.1)
    assert back_and_served(), "the returning node did not get shard 0 back"
    for _ in range(5):  # and a few after it serves again
        n = next(handback)
        local.post(channel, f"ping {n}")
        posted.append(n)
    local.wait(lambda: set(posted) <= set(pongs(local, channel)), 60, "every ping of the hand-back answered")
    answers = pongs(local, channel)
    twice = [n for n in posted if len(answers[n]) > 1]
    print(f"hand-back: {len(posted)} pings posted, all answered, {len(twice)} answered twice")
