import pytest
from mmo_maid_sdk.testing import MockContext, dispatch, make_event
from polls.model import Poll


def test_choices_are_validated():
    assert Poll.parse_choices("a | b |c") == ["a", "b", "c"]
    with pytest.raises(ValueError):
        Poll.parse_choices("only one")


def test_single_choice_moves_the_vote():
    poll = Poll("1", "?", ["a", "b"])
    poll.toggle("u", 0)
    poll.toggle("u", 1)
    assert poll.counts() == [0, 1]
    assert "b" in poll.chart()


def test_create_click_close(mmo_plugin):
    ctx = MockContext()
    create = make_event(
        "interaction_create",
        command_name="vote",
        options=[{"name": "question", "value": "Pizza?"}, {"name": "choices", "value": "yes|no"}],
    )
    dispatch(mmo_plugin.plugin, "interaction_create", create, ctx=ctx)
    click = make_event("interaction_create", interaction_type=3, custom_id="poll:1:0", user_id="9")
    dispatch(mmo_plugin.plugin, "interaction_create", click, ctx=ctx)
    close = make_event("interaction_create", command_name="vote-close", options=[{"name": "poll", "value": "1"}])
    dispatch(mmo_plugin.plugin, "interaction_create", close, ctx=ctx)
    assert "(closed)" in ctx.messages_edited[-1]["content"]
    assert ctx.kv.get("poll:1")["votes"] == {"9": [0]}
