from mmo_maid_sdk.testing import dispatch, make_event, run_ready


def test_submit_and_approve(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    ctx.kv.set("channel", "70")
    form = make_event(
        "interaction_create",
        interaction_type=5,
        custom_id="suggest:form",
        modal_values={"title": "Dark mode", "body": "Please"},
        user_id="4",
    )
    dispatch(mmo_plugin.plugin, "interaction_create", form, ctx=ctx)
    assert ctx.messages_sent[-1]["content"].startswith("**#1 Dark mode** - 🗳️ Open")
    assert [r["emoji"] for r in ctx.reactions_added] == ["👍", "👎"]
    status = make_event(
        "interaction_create",
        command_name="suggestion-status",
        options=[
            {"name": "id", "value": 1},
            {"name": "status", "value": "planned"},
            {"name": "note", "value": "Next month"},
        ],
    )
    dispatch(mmo_plugin.plugin, "interaction_create", status, ctx=ctx)
    assert "🛠️ Planned" in ctx.messages_edited[-1]["content"]
    assert ctx.messages_edited[-1]["content"].endswith("> Next month")
