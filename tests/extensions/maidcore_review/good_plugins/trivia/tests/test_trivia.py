import random

from mmo_maid_sdk.testing import dispatch, make_event, run_ready
from quiz import bank


def test_bank_loads_and_filters():
    assert len(bank.questions()) == 4
    assert bank.pick("history", random.Random(3))["category"] == "history"
    assert bank.by_id("s1")["choices"][0] == "Au"


def test_first_correct_answer_scores(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    click = make_event(
        "interaction_create", interaction_type=3, custom_id="trivia:s1:0", user_id="5", interaction_id="1"
    )
    dispatch(mmo_plugin.plugin, "interaction_create", click, ctx=ctx)
    late = make_event(
        "interaction_create", interaction_type=3, custom_id="trivia:s1:0", user_id="6", interaction_id="2"
    )
    dispatch(mmo_plugin.plugin, "interaction_create", late, ctx=ctx)
    assert ctx.interaction.responses[-1]["content"] == "Someone was faster."
    dispatch(
        mmo_plugin.plugin, "interaction_create", make_event("interaction_create", command_name="trivia-scores"), ctx=ctx
    )
    assert ctx.interaction.responses[-1]["content"] == "1. <@5> - 10"
