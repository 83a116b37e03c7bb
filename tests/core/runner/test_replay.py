"""``maidcore replay``: our SDK's ping_pong example, and a plugin on the reference SDK 0.5.4 served unchanged."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

from maidcore.replay import replay
from tests.official_sdks import official_python_or_skip

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def reference_python() -> str:
    """An interpreter with the reference SDK ``mmo-maid-sdk==0.5.4`` from PyPI (the shared, locked venv cache)."""
    return str(official_python_or_skip("mmo-maid-sdk", "0.5.4"))


def run_replay(plugin: Path, events: list[dict] | Path, tmp_path: Path, **kwargs) -> tuple[int, list[dict], str]:
    if isinstance(events, list):
        path = tmp_path / "events.jsonl"
        path.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
        events = path
    out, err = io.StringIO(), io.StringIO()
    code = replay(plugin, events, out=out, err=err, **kwargs)
    calls = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, calls, err.getvalue()


def test_replay_of_the_ping_pong_example(tmp_path):
    code, calls, err = run_replay(
        ROOT / "examples" / "ping_pong", ROOT / "examples" / "ping_pong" / "events.jsonl", tmp_path, server_id="42"
    )
    assert code == 0, err
    assert [c["method"] for c in calls] == [
        "discord.send_message",
        "interaction.send_modal",
        "interaction.respond",
        "interaction.respond",
    ]
    assert calls[0]["params"]["content"] == "Pong!" and calls[0]["server_id"] == "42"
    assert calls[0]["result"] == {"ok": True, "message_id": "1", "channel_id": "10"}  # what the testing kit returns
    assert calls[2]["params"]["content"] == "Thanks: nice"
    assert "5 acked" in err


REFERENCE_PLUGIN = textwrap.dedent(
    """
    from mmo_maid_sdk import Plugin

    plugin = Plugin()
    print("a stray print before run(): the host must ignore it")


    @plugin.on_event("message_create")
    def on_message(ctx, event):
        if event.get("author_bot"):
            return
        n = ctx.kv.increment("seen")
        ctx.discord.send_message(channel_id=event["channel_id"], content=f"#{n}: {event['content']}")
        ctx.log("handled " + event["content"])


    @plugin.on_slash_command("count")
    def on_count(ctx, event):
        ctx.interaction.respond(content=f"seen {ctx.kv.get('seen')}")


    @plugin.on_event("member_join")
    def denied(ctx, event):
        ctx.discord.ban_member(user_id=event["user_id"], reason="not granted")


    plugin.run()
    """
)


def test_a_plugin_on_the_reference_sdk_054_is_served_unchanged(tmp_path, reference_python):
    bundle = tmp_path / "legacy"
    bundle.mkdir()
    (bundle / "__main__.py").write_text(REFERENCE_PLUGIN, encoding="utf-8")
    manifest = {
        "id": "legacy_counter",
        "name": "Legacy counter",
        "version": "0.5.4",
        "description": "Written for mmo-maid-sdk 0.5.4.",
        "capabilities_required": ["storage:kv", "discord:send_message", "discord:ban_members"],
        "slash_commands": [{"name": "count", "description": "How many messages"}],
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    events = [
        {"type": "message_create", "content": "hello", "channel_id": "5"},
        {"type": "message_create", "content": "again", "channel_id": "5"},
        {"type": "member_join", "user_id": "77"},
        {"type": "interaction_create", "interaction_type": 2, "command_name": "count", "interaction_id": "900"},
    ]
    code, calls, err = run_replay(
        bundle,
        events,
        tmp_path,
        server_id="4242",
        python=reference_python,
        grants=["storage:kv", "discord:send_message", "interaction:respond"],
    )
    assert code == 0, err
    methods = [c["method"] for c in calls]
    assert methods.count("kv.increment") == 2 and methods.count("discord.send_message") == 2
    assert {c["server_id"] for c in calls} == {"4242"}  # 0.5.4 names no server: attributed to its one delivery
    sent = [c for c in calls if c["method"] == "discord.send_message"]
    assert [c["params"]["content"] for c in sent] == ["#1: hello", "#2: again"]
    ban = next(c for c in calls if c["method"] == "discord.ban_member")
    assert ban["error"]["data"]["code"] == "CAPABILITY_DENIED"
    assert "capability discord:ban_members is not granted" in ban["error"]["message"]
    respond = next(c for c in calls if c["method"] == "interaction.respond")
    assert respond["params"]["content"] == "seen 2"
    assert "handled hello" in err and "4 acked" in err


def test_replay_exits_1_when_an_event_is_never_acked(tmp_path):
    bundle = tmp_path / "dies"
    bundle.mkdir()
    (bundle / "__main__.py").write_text("import sys\nsys.exit(1)\n", encoding="utf-8")
    manifest = {"id": "dies", "name": "Dies", "version": "1.0.0", "description": "Exits at once."}
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, calls, err = run_replay(bundle, [{"type": "message_create"}], tmp_path, timeout=60)
    assert code == 1 and calls == []
    assert "not acked" in err


def test_replay_reports_unusable_input(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "message_create"}\nnot json\n', encoding="utf-8")
    code, _, err = run_replay(ROOT / "examples" / "ping_pong", events, tmp_path)
    assert code == 2 and "events.jsonl:2: not a JSON object" in err


def test_replay_with_a_kept_data_directory_runs_the_changed_plugin_without_a_version_bump(tmp_path):
    bundle = tmp_path / "greeter"
    bundle.mkdir()
    manifest = {
        "id": "greeter",
        "name": "Greeter",
        "version": "1.0.0",
        "description": "Says hello.",
        "capabilities_required": ["discord:send_message"],
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code = textwrap.dedent(
        """
        from mmo_maid_sdk import Plugin

        plugin = Plugin()


        @plugin.on_event("message_create")
        def hello(ctx, event):
            ctx.discord.send_message(channel_id=event["channel_id"], content="{greeting}")


        if __name__ == "__main__":
            plugin.run()
        """
    )
    kept = tmp_path / "kept"
    sent = []
    for greeting in ("hello", "bonjour"):
        (bundle / "__main__.py").write_text(code.replace("{greeting}", greeting), encoding="utf-8")
        status, calls, err = run_replay(bundle, [{"type": "message_create"}], tmp_path, data_dir=kept)
        assert status == 0, err
        sent += [c["params"]["content"] for c in calls if c["method"] == "discord.send_message"]
    assert sent == ["hello", "bonjour"]
