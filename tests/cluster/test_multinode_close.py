"""A cluster node stopped gracefully (SIGTERM) lets a handler mid-way finish its Discord call, and acks it.

Two ``maidcore serve`` nodes on the emulator (2 shards), PostgreSQL and Redis. The
node holding shard 0 is stopped while a handler there sleeps before sending. Its
event source stops its intake first but keeps the HTTP session, and its cluster
node keeps renewing its leases and writing acks until the runner drained: the
answer is sent by the stopping node (no ``Session is closed``), the event is acked
in the shard's log and the node taking the shard over does not deliver it again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from tests.cluster.test_multinode import cluster, connected_sessions, holder

pytestmark = pytest.mark.slow

__all__ = ["cluster"]  # the fixture, used by name

PLUGIN = """import time

from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    content = event.get("content") or ""
    if not event.get("author_bot") and content.startswith("slow "):
        time.sleep(1.5)  # the node is stopped meanwhile
        ctx.discord.send_message(channel_id=event["channel_id"], content=f"done {content[5:]} {event['delivery_id']}")


if __name__ == "__main__":
    plugin.run()
"""


def answers(local, channel: str) -> dict[int, list[str]]:
    """slow number -> the delivery ids of every answer to it."""
    found: dict[int, list[str]] = defaultdict(list)
    for message in local.messages(channel):
        parts = message["content"].split()
        if len(parts) == 3 and parts[0] == "done":
            found[int(parts[1])].append(parts[2])
    return found


def test_a_node_stopped_mid_handler_sends_the_answer_and_acks_the_event(cluster, tmp_path: Path):
    local, client, prefix = cluster
    channels = local.guild_channels()
    shard_guild = {(int(g) >> 22) % 2: g for g in channels}
    bundle = tmp_path / "slowsender"
    bundle.mkdir()
    manifest = {
        "id": "slowsender",
        "name": "Slow sender",
        "version": "1.0.0",
        "description": "Answers slow N with done N <delivery id>, after a second and a half",
        "capabilities_required": ["discord:send_message"],
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    (bundle / "__main__.py").write_text(PLUGIN)
    for guild in channels:
        result = local.cli("a", "install", str(bundle), "--server", guild, "--grant-all")
        assert result.returncode == 0, result.stderr
    local.start_node("a")
    local.start_node("b")
    local.wait(lambda: holder(client, prefix, 0) and holder(client, prefix, 1), 60, "both shards held")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "both shards connected")

    victim = holder(client, prefix, 0)
    survivor = "b" if victim == "a" else "a"
    channel = channels[shard_guild[0]]
    stream = f"{prefix}:events:0"
    local.post(channel, "slow 0")  # the worker is up once this is answered
    local.wait(lambda: 0 in answers(local, channel), 60, "the warm-up answered")

    added = int(client.xinfo_stream(stream)["entries-added"])
    local.post(channel, "slow 1")
    local.wait(lambda: int(client.xinfo_stream(stream)["entries-added"]) > added, 30, "slow 1 recorded")
    local.wait(lambda: client.xpending(stream, "maidcore")["pending"] >= 1, 30, "slow 1 handed to the worker")
    local.stop(victim)  # SIGTERM; returns once the node exited

    # the stopping node sent the answer itself, while it drained
    assert len(answers(local, channel)[1]) == 1, answers(local, channel)
    log = (local.base_dir / f"{victim}.log").read_text()
    assert "Session is closed" not in log and "host method discord.send_message failed" not in log, log[-4000:]
    assert client.xpending(stream, "maidcore")["pending"] == 0  # acked before the lease was let go

    # the survivor takes the shard over and has nothing left to deliver again
    local.wait(lambda: holder(client, prefix, 0) == survivor, 60, "the survivor took shard 0")
    local.post(channel, "slow 2")
    local.wait(lambda: 2 in answers(local, channel), 60, "the survivor serves shard 0")
    final = answers(local, channel)
    assert len(final[1]) == 1, f"slow 1 delivered again after a graceful stop: {final[1]}"
