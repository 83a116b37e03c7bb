from datetime import date

from bday import dates
from mmo_maid_sdk.testing import dispatch, make_event, run_ready, tick


def test_dates():
    assert dates.valid(29, 2)
    assert not dates.valid(31, 4)
    assert dates.next_occurrence(29, 2, date(2026, 3, 2)) == date(2027, 3, 1)


def test_wish_once_a_year(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    today = date.today()
    opts = [{"name": "day", "value": today.day}, {"name": "month", "value": today.month}]
    dispatch(
        mmo_plugin.plugin,
        "interaction_create",
        make_event("interaction_create", command_name="birthday", options=opts, user_id="3"),
        ctx=ctx,
    )
    ctx.kv.set("setup", {"channel": "50", "role": "60"})
    tick(mmo_plugin.plugin, "announce", ctx=ctx)
    tick(mmo_plugin.plugin, "announce", ctx=ctx)
    assert [m["content"] for m in ctx.messages_sent] == ["Happy birthday <@3>! 🎉"]
    assert ctx.roles_removed[-1]["user_id"] == "3"
