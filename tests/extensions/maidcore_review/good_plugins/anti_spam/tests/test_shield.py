from mmo_maid_sdk.testing import MockContext, dispatch, make_event, tick


def test_flood_is_deleted_and_timed_out_once(mmo_plugin):
    ctx = MockContext()
    ctx.kv.set("limits", {"messages_per_10s": 2, "mod_channel": "88"})
    for i in range(5):
        dispatch(
            mmo_plugin.plugin,
            "message_create",
            make_event("message_create", content=f"msg {i}", message_id=str(i), author_id="3"),
            ctx=ctx,
        )
    assert [m["message_id"] for m in ctx.messages_deleted] == ["2", "3", "4"]
    assert len(ctx.members_timed_out) == 1
    tick(mmo_plugin.plugin, "daily_report", ctx=ctx)
    assert ctx.messages_sent[-1]["content"] == "Spam Shield acted 1 time(s) yesterday."


def test_mass_mentions(mmo_plugin):
    ctx = MockContext()
    dispatch(
        mmo_plugin.plugin, "message_create", make_event("message_create", content="@a @b", mention_count=20), ctx=ctx
    )
    assert ctx.members_timed_out[0]["reason"] == "mass mention"
