"""A click on a message another node's plugin sent, and a modal submit arriving on another node, reach the plugin.

Two ``maidcore serve`` nodes (as in ``test_multinode``). The plugin's custom_ids
carry no ``<plugin_id>:`` prefix, so only the owner records can route them:

1. node a (holding the guild's shard) sends a message with a button; a is
   SIGKILLed and b takes the shard over;
2. the click arrives on b, which finds the message's sender in the cluster's
   shared state; the plugin (on b) opens a modal;
3. a comes back and gets its shard back; the submit arrives on a (memory
   empty: a restarted), which finds the modal's opener b noted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_multinode import cluster, connected_sessions, holder  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.slow

USER = "900000000000000202"

PLUGIN = """from yourbot_sdk import ActionRow, Button, Plugin, TextInput

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if not event.get("author_bot") and event.get("content") == "menu":
        row = ActionRow(Button("Press", custom_id="press"))  # no "<plugin_id>:" prefix
        ctx.discord.send_message(channel_id=event["channel_id"], content="menu", components=[row])


@plugin.on_component("press")
def on_press(ctx, event):
    ctx.interaction.send_modal(title="Form", custom_id="form", fields=[TextInput("Note", "note")])


@plugin.on_modal_submit("form")
def on_form(ctx, event):
    ctx.interaction.respond(content="got " + event.get("modal_values", {}).get("note", ""))


if __name__ == "__main__":
    plugin.run()
"""


def write_plugin(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "id": "noprefix",
        "name": "No prefix",
        "version": "1.0.0",
        "description": "A button and a modal whose custom_ids name no plugin",
        "capabilities_required": ["discord:send_message", "interaction:respond"],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "__main__.py").write_text(PLUGIN)
    return root


def test_a_click_and_a_modal_submit_on_another_node_reach_the_plugin(cluster, tmp_path):  # noqa: F811
    local, client, prefix = cluster
    channels = local.guild_channels()
    guild = next(g for g in channels if (int(g) >> 22) % 2 == 0)  # shard 0: node a's (a sorts first)
    channel = channels[guild]
    result = local.cli("a", "install", str(write_plugin(tmp_path / "noprefix")), "--server", guild, "--grant-all")
    assert result.returncode == 0, result.stderr
    local.start_node("a")
    local.start_node("b")
    settled = lambda: holder(client, prefix, 0) == "a" and holder(client, prefix, 1) == "b"  # noqa: E731
    local.wait(settled, 60, "shard 0 on a, shard 1 on b")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "both shards connected")

    def menus() -> list[dict]:
        return [m for m in local.messages(channel) if m["content"] == "menu" and m.get("components")]

    def menu_answered(count: int) -> list[dict]:
        local.post(channel, "menu", USER)
        return local.wait(lambda: len(menus()) >= count and menus(), 60, f"menu message {count}")

    first = menu_answered(1)[0]  # sent by the plugin on a
    owner_key = f"{prefix}:state:interactions:message:{first['id']}"
    local.wait(lambda: client.exists(owner_key), 10, "a shared the message's owner")
    assert json.loads(client.get(owner_key)) == "noprefix"
    assert 29 * 86400 < client.ttl(owner_key) <= 30 * 86400  # cluster.message_owner_days

    local.kill("a")
    local.wait(lambda: holder(client, prefix, 0) == "b", 30, "b took shard 0 over")
    local.wait(lambda: connected_sessions(local, 0) == 1, 30, "shard 0 connected on b")
    menu_answered(2)  # b's worker for the plugin is up (a cold start could outlast Discord's 3 s)

    click = local.api(
        "components", {"channel_id": channel, "message_id": first["id"], "user_id": USER, "custom_id": "press"}
    )
    modal_key = f"{prefix}:state:interactions:modal:{guild}:{USER}:form"
    try:
        local.wait(lambda: client.exists(modal_key), 30, "the click routed on b and the plugin opened its modal")
    except TimeoutError:
        print((local.base_dir / "b.log").read_text()[-5000:])
        raise
    assert 800 < client.ttl(modal_key) <= 900  # a modal lives as long as its interaction's token

    local.start_node("a")  # a returns with empty memory and gets shard 0 back
    local.wait(lambda: holder(client, prefix, 0) == "a", 60, "shard 0 handed back to a")
    local.wait(lambda: connected_sessions(local, 0) == 1, 30, "shard 0 connected on a")
    menu_answered(3)  # a's worker is up
    local.api("modals", {"interaction_id": click["id"], "values": {"note": "hello"}, "user_id": USER})
    try:
        local.wait(lambda: any(m["content"] == "got hello" for m in local.messages(channel)), 30, "the submit answered")
    except TimeoutError:
        print((local.base_dir / "a.log").read_text()[-5000:])
        raise
