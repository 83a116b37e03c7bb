from mmo_maid_sdk.testing import call_dashboard, dispatch, make_event, run_ready
from modbot import cases, config, filters


def slash(name, **options):
    opts = [{"name": k, "type": 6 if k == "member" else 3, "value": v} for k, v in options.items()]
    return make_event("interaction_create", command_name=name, options=opts, user_id="1")


def test_filters_catch_words_invites_and_caps():
    settings = config.Settings(banned_words=["heck"])
    assert filters.first_violation("what the HECK", settings) == "banned word: heck"
    assert filters.first_violation("join discord.gg/abc", settings) == "invite link"
    assert filters.first_violation("THIS IS ALL SHOUTING TODAY", settings) == "too many capitals"
    assert filters.first_violation("a perfectly fine message", settings) is None


def test_migrations_run_once(ctx):
    assert cases.migrate(ctx) == 2
    assert cases.migrate(ctx) == 2


def test_three_warnings_time_a_member_out(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    for _ in range(3):
        dispatch(mmo_plugin.plugin, "interaction_create", slash("modwarn", member="77", reason="spam"), ctx=ctx)
    assert ctx.members_timed_out[-1]["user_id"] == "77"
    actions = [row["action"] for row in cases.for_member(ctx, "77")]
    assert actions == ["timeout", "warn", "warn", "warn"]


def test_automod_deletes_and_logs(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    event = make_event("message_create", content="badword here", author_id="5", message_id="9")
    dispatch(mmo_plugin.plugin, "message_create", event, ctx=ctx)
    assert ctx.messages_deleted[0]["message_id"] == "9"
    assert call_dashboard(mmo_plugin.plugin, "recent_cases", {"action": "delete"}, ctx=ctx)["total"] == 1


def test_settings_round_trip(ctx, mmo_plugin):
    saved = call_dashboard(
        mmo_plugin.plugin, "save_settings", {"values": {"banned_words": "a, b", "log_channel": "12"}}, ctx=ctx
    )
    assert saved == {"ok": True}
    assert config.load(ctx).banned_words == ["a", "b"]


def test_warnings_are_logged_to_the_log_channel(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    config.save(ctx, config.Settings(log_channel="33"))
    dispatch(mmo_plugin.plugin, "interaction_create", slash("modwarn", member="4", reason="rude"), ctx=ctx)
    assert ctx.messages_sent[-1] == {"channel_id": "33", "content": "<@4> was warned (1 this week): rude"} | {
        k: v for k, v in ctx.messages_sent[-1].items() if k not in ("channel_id", "content")
    }
