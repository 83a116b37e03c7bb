import random

import pytest
from mmo_maid_sdk.testing import MockContext, dispatch, make_event, tick
from raffle import durations
from raffle.state import Raffle, RaffleBook


def test_durations():
    assert durations.parse("1h30m") == 5400
    assert durations.describe(7200) == "2h"
    with pytest.raises(ValueError):
        durations.parse("soon")
    with pytest.raises(ValueError):
        durations.parse("40d")


def test_a_member_enters_once():
    raffle = Raffle("r1", "Nitro", "1", "2", 0)
    assert raffle.enter("5") is True
    assert raffle.enter("5") is False
    assert raffle.draw(random.Random(0)) == ["5"]


def test_start_enter_and_draw(mmo_plugin, monkeypatch):
    ctx = MockContext()
    start = make_event(
        "interaction_create",
        command_name="raffle",
        options=[{"name": "prize", "value": "A mug"}, {"name": "duration", "value": "10m"}],
    )
    dispatch(mmo_plugin.plugin, "interaction_create", start, ctx=ctx)
    (raffle_id,) = ctx.kv.get("raffles:open")
    click = make_event("interaction_create", interaction_type=3, custom_id=f"raffle:enter:{raffle_id}", user_id="42")
    dispatch(mmo_plugin.plugin, "interaction_create", click, ctx=ctx)
    assert RaffleBook(ctx).load(raffle_id).entrants == ["42"]
    monkeypatch.setattr("time.time", lambda: 10**10)
    tick(mmo_plugin.plugin, "draw_due", ctx=ctx)
    assert ctx.messages_sent[-1]["content"] == "Winner(s) of **A mug**: <@42>"
    assert ctx.kv.get("raffles:open") == []
