import plugin_main
from yourbot_sdk.testing import MockContext, call_dashboard, dispatch, make_event


def command(ctx, name, **options):
    opts = [{"name": k, "type": 6 if k == "member" else 3, "value": v} for k, v in options.items()]
    event = make_event("interaction_create", command_name=name, options=opts, channel_id="10")
    return dispatch(plugin_main.plugin, "interaction_create", event, ctx=ctx)


def test_the_third_strike_times_the_member_out():
    ctx = MockContext()
    for _ in range(3):
        command(ctx, "strike", member="77", reason="spam")
    assert ctx.members_timed_out == [{"user_id": "77", "duration_seconds": 600, "reason": "3 strikes"}]
    assert ctx.kv.get("strikes:77") == 0
    assert ctx.interaction.responses[-1]["content"].endswith("timed out for 10 minutes.")


def test_settings_saved_from_the_dashboard_change_the_threshold():
    ctx = MockContext()
    assert call_dashboard(
        plugin_main.plugin, "save_settings", {"values": {"threshold": "1", "timeout_minutes": "5"}}, ctx=ctx
    ) == {"ok": True}
    assert call_dashboard(plugin_main.plugin, "settings", ctx=ctx) == {"values": {"threshold": 1, "timeout_minutes": 5}}
    command(ctx, "strike", member="9")
    assert ctx.members_timed_out[-1]["duration_seconds"] == 300


def test_strikes_table_lists_members_with_strikes():
    ctx = MockContext()
    command(ctx, "strike", member="5")
    assert call_dashboard(plugin_main.plugin, "strikes", ctx=ctx) == {
        "rows": [{"member": "5", "strikes": 1}],
        "total": 1,
    }


def test_cleanup_defers_then_reports():
    ctx = MockContext()
    command(ctx, "cleanup", count=5)
    assert ctx.interaction.defers == [{"ephemeral": True}]
    assert ctx.interaction.followups[-1]["content"] == "Deleted 0 message(s)."


def test_without_the_capability_a_strike_cannot_time_out():
    ctx = MockContext(capabilities=["storage:kv", "interaction:respond"])
    import pytest
    from yourbot_sdk import CapabilityError

    with pytest.raises(CapabilityError):
        for _ in range(3):
            command(ctx, "strike", member="77")
