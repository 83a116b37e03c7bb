"""A slash command accepted by a node that dies before its plugin answered is answered by another node.

Two ``maidcore serve`` processes (as in ``test_multinode``); the plugin takes
1.5 s to answer, the node holding the command's shard is SIGKILLed as soon as
the command is in its shard's log. Discord (and the emulator) drop an
interaction not acknowledged within 3 s, and a failover takes longer: the
surviving node defers it for the plugin 2 s after it arrived, takes the shard,
delivers the logged command to its own worker, and the plugin's ``respond``
fills the placeholder the user sees.
"""

from __future__ import annotations

import json
import time
import urllib.error
from pathlib import Path

import pytest

from .test_multinode import cluster, connected_sessions, holder  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.slow

PLUGIN = """import time

from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_slash_command("slow")
def slow(ctx, event):
    time.sleep(1.5)  # a kill of the node now leaves the command unanswered
    ctx.interaction.respond(content="answered " + event.get("delivery_id", "?"))


if __name__ == "__main__":
    plugin.run()
"""


def write_plugin(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "id": "slowslash",
        "name": "Slow slash",
        "version": "1.0.0",
        "description": "Answers /slow after 1.5 s",
        "capabilities_required": ["interaction:respond"],
        "slash_commands": [{"name": "slow", "description": "Answer slowly"}],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "__main__.py").write_text(PLUGIN)
    return root


def test_a_command_accepted_by_a_killed_node_is_answered_by_another(cluster, tmp_path):  # noqa: F811
    local, client, prefix = cluster
    channels = local.guild_channels()
    guild = next(g for g in channels if (int(g) >> 22) % 2 == 0)
    channel = channels[guild]
    bundle = write_plugin(tmp_path / "slowslash")
    result = local.cli("a", "install", str(bundle), "--server", guild, "--grant-all")
    assert result.returncode == 0, result.stderr
    local.env["MAIDCORE_DISCORD__INTERACTION_RESCUE_SECONDS"] = "1.5"  # margin for a loaded test machine
    local.start_node("a")
    local.start_node("b")
    balanced = lambda: holder(client, prefix, 0) and holder(client, prefix, 1) not in (None, holder(client, prefix, 0))  # noqa: E731
    local.wait(balanced, 60, "one shard held by each node (no hand-back still to come)")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "both shards connected")
    victim = holder(client, prefix, 0)
    survivor = "b" if victim == "a" else "a"
    stream = f"{prefix}:events:0"

    def run_command():
        try:
            return local.api("commands", {"channel_id": channel, "user_id": "900000000000000202", "name": "slow"})
        except urllib.error.HTTPError:  # the command is not registered in the guild yet
            return None

    inter = local.wait(run_command, 60, "/slow registered and run")
    recorded = lambda: any(inter["id"] in fields["r"] for _, fields in client.xrange(stream))  # noqa: E731
    try:
        local.wait(recorded, 10, "the command recorded in shard 0's log")
    except TimeoutError:
        print(inter, client.xrange(stream), (local.base_dir / f"{victim}.log").read_text()[-4000:])
        raise
    killed_at = time.monotonic()
    local.kill(victim)
    assert not any(m["content"].startswith("answered") for m in local.messages(channel)), "answered before the kill"

    def answer():
        return next((m for m in local.messages(channel) if m["content"].startswith("answered ")), None)

    try:
        message = local.wait(answer, 45, "the command answered by the surviving node")
    except TimeoutError:
        print((local.base_dir / f"{survivor}.log").read_text()[-6000:])
        raise
    print(f"/slow answered {time.monotonic() - killed_at:.1f} s after its node was SIGKILLed")
    assert holder(client, prefix, 0) == survivor
    assert message["interaction_metadata"]["id"] == inter["id"]  # the placeholder of that interaction, filled
    assert not message["flags"] & 128  # no "thinking..." left
    assert message["content"].split()[1].startswith("0:")  # delivered from shard 0's log
    time.sleep(1)
    answers = [m for m in local.messages(channel) if m.get("interaction_metadata", {}).get("id") == inter["id"]]
    assert len(answers) == 1
    assert "deferred it for its plugin" in (local.base_dir / f"{survivor}.log").read_text()
