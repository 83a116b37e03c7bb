from mmo_maid_sdk.testing import MockContext, call_dashboard, dispatch, make_event, tick


def test_messages_are_tallied_and_ranked(mmo_plugin):
    ctx = MockContext()
    for author in ("1", "1", "2"):
        dispatch(
            mmo_plugin.plugin,
            "message_create",
            make_event("message_create", author_id=author, channel_id="9", timestamp="2026-01-01T14:00:00Z"),
            ctx=ctx,
        )
    top = call_dashboard(mmo_plugin.plugin, "top_posters", {}, ctx=ctx)
    assert top["rows"][0] == {"member": "<@1>", "messages": 2}
    hours = call_dashboard(mmo_plugin.plugin, "busiest_hours", {}, ctx=ctx)
    assert hours["datasets"][0]["data"][14] == 3


def test_rollup_resets_the_pending_counter(mmo_plugin):
    ctx = MockContext()
    ctx.kv.set("pending_messages", 7)
    tick(mmo_plugin.plugin, "hourly_rollup", ctx=ctx)
    assert ctx.metrics.recorded[-1]["value"] == 7
    assert ctx.kv.get("pending_messages") == 0


def test_alert_settings_validation_and_alert(mmo_plugin):
    ctx = MockContext()
    assert (
        call_dashboard(mmo_plugin.plugin, "save_alert_settings", {"values": {"channel": "x"}}, ctx=ctx)["ok"] is False
    )
    call_dashboard(mmo_plugin.plugin, "save_alert_settings", {"values": {"channel": "5", "min_messages": 10}}, ctx=ctx)
    tick(mmo_plugin.plugin, "activity_alert", ctx=ctx)
    assert ctx.messages_sent[-1]["channel_id"] == "5"
    assert call_dashboard(mmo_plugin.plugin, "alert_log", {}, ctx=ctx)["total"] == 1
