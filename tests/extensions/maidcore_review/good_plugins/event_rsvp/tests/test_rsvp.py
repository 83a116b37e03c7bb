from datetime import UTC, datetime, timedelta

from mmo_maid_sdk.testing import dispatch, make_event, run_ready, tick


def test_capacity_waitlist_and_reminder(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    soon = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    opts = [
        {"name": "title", "value": "Game night"},
        {"name": "starts", "value": soon},
        {"name": "capacity", "value": 1},
    ]
    dispatch(
        mmo_plugin.plugin,
        "interaction_create",
        make_event("interaction_create", command_name="event", options=opts),
        ctx=ctx,
    )
    for user in ("1", "2"):
        click = make_event("interaction_create", interaction_type=3, custom_id="rsvp:1:going", user_id=user)
        dispatch(mmo_plugin.plugin, "interaction_create", click, ctx=ctx)
    assert ctx.interaction.responses[-1]["content"] == "You're on the waitlist."
    assert "Waitlist: 1" in ctx.messages_edited[-1]["content"]
    tick(mmo_plugin.plugin, "remind_attendees", ctx=ctx)
    assert ctx.messages_sent[-1]["content"].endswith("<@1>")
