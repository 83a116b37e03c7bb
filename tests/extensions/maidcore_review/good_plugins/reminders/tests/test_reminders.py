from datetime import UTC, datetime, timedelta

import pytest
from mmo_maid_sdk.testing import dispatch, make_event, run_ready, tick
from remindme import when

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_parsing():
    assert when.parse("in 2h30m", NOW) == NOW + timedelta(hours=2, minutes=30)
    assert when.parse("tomorrow 09:00", NOW) == datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        when.parse("later", NOW)
    assert when.humanise(timedelta(hours=3)) == "3 hours"


def test_remind_then_deliver(ctx, mmo_plugin, monkeypatch):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    opts = [{"name": "when", "value": "in 10m"}, {"name": "what", "value": "stretch"}]
    dispatch(
        mmo_plugin.plugin,
        "interaction_create",
        make_event("interaction_create", command_name="remind", options=opts),
        ctx=ctx,
    )
    assert ctx.interaction.responses[-1]["content"] == "I'll remind you in 10 minutes."
    from remindme import bot

    monkeypatch.setattr(bot, "utcnow", lambda: datetime.now(UTC) + timedelta(minutes=11))
    tick(mmo_plugin.plugin, "deliver", ctx=ctx)
    assert ctx.messages_sent[-1]["content"] == "⏰ <@200>: stretch"
    tick(mmo_plugin.plugin, "deliver", ctx=ctx)
    assert len(ctx.messages_sent) == 1
