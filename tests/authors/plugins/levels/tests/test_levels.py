"""Levels' handlers on the official testing kit."""

import json
from pathlib import Path

import pytest
from plugin_main import (
    award_xp,
    create_tables,
    daily,
    dash_chart,
    dash_load,
    dash_members,
    dash_save,
    dash_top,
    level_for,
    plugin,
    rank,
    top,
    top_page,
    weekly_reset,
)
from yourbot_sdk import CapabilityError, DiscordApiError, QueryResult
from yourbot_sdk.testing import MockContext, make_event

ROOT = Path(__file__).resolve().parent.parent


def say(user="1", name="ann", channel="50"):
    return make_event("message_create", author_id=user, author_username=name, channel_id=channel, content="hi")


@pytest.mark.parametrize(("xp", "level"), [(0, 0), (49, 0), (50, 1), (199, 1), (200, 2), (1250, 5)])
def test_level_curve(xp, level):
    assert level_for(xp) == level


def test_on_ready_creates_the_table():
    ctx = MockContext(capabilities=["storage:sql"])
    create_tables(ctx)
    assert ctx.sql.executed[0]["sql"].startswith("CREATE TABLE IF NOT EXISTS xp")


def test_xp_once_a_minute(ctx, clock, table):
    award_xp(ctx, say())
    award_xp(ctx, say())
    assert ctx.kv.get("profile:1") == {"xp": 15}
    assert table.rows["1"] == {"user_id": "1", "name": "ann", "xp": 15}
    clock.advance(60)
    award_xp(ctx, say())
    assert ctx.kv.get("profile:1") == {"xp": 30}
    assert [w for w in ctx.kv_writes if w["op"] == "increment"] == [
        {"op": "increment", "key": "profile:1", "path": "xp", "amount": 15}
    ] * 2
    assert sum(r["value"] for r in ctx.metrics.recorded) == 30


def test_level_up_announces_with_a_single_mention(ctx, clock):
    ctx.kv.set("profile:1", {"xp": 40})
    award_xp(ctx, say())
    sent = ctx.messages_sent[-1]
    assert sent == {
        "channel_id": "50",
        "content": "<@1> reached level 1!",
        "embeds": None,
        "components": None,
        "allowed_mentions": {"users": ["1"]},
    } or (sent["content"], sent["allowed_mentions"]) == ("<@1> reached level 1!", {"users": ["1"]})


def test_reward_role_and_its_failure(ctx):
    ctx.kv.set("settings", {"announce": False, "reward_role": "77", "reward_level": 1})
    ctx.kv.set("profile:1", {"xp": 40})
    award_xp(ctx, say())
    assert ctx.roles_added == [{"user_id": "1", "role_id": "77", "reason": "Level 1"}]
    assert ctx.messages_sent == []

    def broken(**kwargs):
        raise DiscordApiError("Discord API error: 403 Missing Access", status_code=403)

    ctx.discord.add_role = broken
    ctx.kv.set("profile:2", {"xp": 40})
    award_xp(ctx, say(user="2"))
    entry = ctx.log_entries[-1]
    assert entry["level"] == "warning" and entry["tags"] == ["reward"]
    assert entry["code"] == "DISCORD_API_ERROR"


def test_rank_embed(ctx):
    ctx.kv.set("profile:9", {"xp": 260, "coins": 300})
    rank(
        ctx,
        make_event("interaction_create", command_name="rank", options=[{"name": "member", "type": 6, "value": "9"}]),
    )
    embed = ctx.interaction.responses[-1]["embeds"][0]
    assert [f["value"] for f in embed["fields"]] == ["2", "260 / 450", "300"]
    rank(ctx, make_event("interaction_create", command_name="rank", user_id="4"))
    assert ctx.interaction.responses[-1]["embeds"][0]["description"] == "<@4>"


def test_leaderboard_pages_with_buttons(ctx, table):
    for i in range(7):
        table.execute("INSERT INTO xp", [str(i), f"u{i}", 100 * i])
    top(ctx, make_event("interaction_create", command_name="top"))
    first = ctx.interaction.responses[-1]
    assert first["content"].splitlines()[0] == "1. u6 — 600 XP"
    prev, nxt = (b.to_dict() for b in first["components"][0].children)
    assert prev["disabled"] is True and nxt["custom_id"] == "top:2" and not nxt.get("disabled")
    top_page(ctx, make_event("interaction_create", interaction_type=3, custom_id="top:2"))
    second = ctx.interaction.responses[-1]
    assert second["update_message"] is True
    assert second["content"].splitlines() == ["6. u1 — 100 XP", "7. u0 — 0 XP"]


def test_daily_once_per_day(ctx, clock):
    daily(ctx, make_event("interaction_create", command_name="daily", user_id="3"))
    daily(ctx, make_event("interaction_create", command_name="daily", user_id="3"))
    assert ctx.kv.get("profile:3") == {"coins": 100}
    assert ctx.interaction.responses[-1]["content"].startswith("Already collected")
    clock.advance(86400)  # the claim lasts the whole day, to the second
    daily(ctx, make_event("interaction_create", command_name="daily", user_id="3"))
    assert ctx.kv.get("profile:3") == {"coins": 100}
    clock.advance(1)
    daily(ctx, make_event("interaction_create", command_name="daily", user_id="3"))
    assert ctx.kv.get("profile:3") == {"coins": 200}


def test_weekly_reset_archives_the_top_three(ctx, table):
    for i in range(5):
        table.execute("INSERT INTO xp", [str(i), f"u{i}", i])
    weekly_reset(ctx)
    assert ctx.kv.get("last_week") == [{"user_id": "4", "xp": 4}, {"user_id": "3", "xp": 3}, {"user_id": "2", "xp": 2}]
    assert table.rows == {}
    entry = ctx.log_entries[-1]
    assert (entry["winners"], entry["truncated"]) == (3, True)


def test_query_result_is_a_list():
    rows = QueryResult([{"a": 1}])
    assert isinstance(rows, list) and rows == [{"a": 1}] and rows.truncated is False


def test_dashboard_handlers(ctx, table):
    table.execute("INSERT INTO xp", ["1", "ann", 10])
    assert dash_members(ctx, {}) == {"value": 1}
    assert dash_top(ctx, {}) == {"rows": [{"name": "ann", "xp": 10}], "total": 1}
    assert dash_chart(ctx, {}) == {"labels": [], "series": []}
    assert dash_load(ctx, {}) == {"values": {"announce": True, "reward_role": "", "reward_level": 5}}
    assert dash_save(ctx, {"values": {"announce": False, "reward_role": "5", "reward_level": 500}})["ok"] is False
    assert dash_save(ctx, {"values": {"announce": False, "reward_role": "5", "reward_level": 10}}) == {"ok": True}
    assert dash_load(ctx, {})["values"] == {"announce": False, "reward_role": "5", "reward_level": 10}


def test_dashboard_manifest_is_current():
    import importlib.util

    spec = importlib.util.spec_from_file_location("dashboard_builder", ROOT / "dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build().to_json()
    assert built == json.loads((ROOT / "dashboard_manifest.json").read_text())
    handlers = {w["rpc_method"] for p in built["pages"] for w in p["widgets"]}
    handlers |= {w["save_rpc_method"] for p in built["pages"] for w in p["widgets"] if "save_rpc_method" in w}
    assert handlers == {"members", "xp_chart", "top_table", "load_settings", "save_settings"}


def test_sql_needs_its_capability():
    ctx = MockContext(capabilities=["storage:kv"])
    with pytest.raises(CapabilityError) as info:
        create_tables(ctx)
    assert "storage:sql" in str(info.value)


def test_plugin_object():
    assert plugin is not None
