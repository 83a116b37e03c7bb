import random

from levels import curve
from levels.store import XpStore
from mmo_maid_sdk.testing import dispatch, make_event, run_ready, tick


def test_curve():
    assert curve.xp_for_next(0) == 100
    assert curve.level_for(100) == (1, 0)
    assert curve.level_for(99) == (0, 99)
    assert 15 <= curve.gain(random.Random(1)) <= 25


def test_chatting_levels_up_and_rewards(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    store = XpStore(ctx)
    store.set_reward(1, "555")
    store.add("7", 95)
    dispatch(mmo_plugin.plugin, "message_create", make_event("message_create", author_id="7", content="hi"), ctx=ctx)
    assert ctx.messages_sent[-1]["content"] == "<@7> reached level 1!"
    assert ctx.roles_added[-1]["role_id"] == "555"
    # the cooldown stops the next message from earning XP
    total = store.total("7")
    dispatch(mmo_plugin.plugin, "message_create", make_event("message_create", author_id="7", content="hi"), ctx=ctx)
    assert store.total("7") == total


def test_rank_and_top(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    XpStore(ctx).add("1", 300)
    XpStore(ctx).add("2", 50)
    dispatch(mmo_plugin.plugin, "interaction_create", make_event("interaction_create", command_name="top"), ctx=ctx)
    assert ctx.interaction.responses[-1]["content"].startswith("1. <@1> - 300 XP")
    tick(mmo_plugin.plugin, "weekly_decay", ctx=ctx)
    assert XpStore(ctx).total("1") == 285
