import arith
from mmo_maid_sdk.testing import MockContext, dispatch, make_event


def test_arithmetic_without_eval():
    assert arith.evaluate("3*4") == 12
    assert arith.evaluate("(10+2)/3") == 4
    assert arith.evaluate("__import__('os')") is None
    assert arith.evaluate("7/2") is None


def test_counting_and_twice_in_a_row(mmo_plugin):
    ctx = MockContext()
    dispatch(
        mmo_plugin.plugin,
        "interaction_create",
        make_event("interaction_create", command_name="counting", channel_id="5"),
        ctx=ctx,
    )
    for i, (user, text) in enumerate([("1", "1"), ("2", "1+1"), ("2", "3")]):
        dispatch(
            mmo_plugin.plugin,
            "message_create",
            make_event("message_create", channel_id="5", author_id=user, content=text, message_id=str(i)),
            ctx=ctx,
        )
    assert len(ctx.reactions_added) == 2
    assert "can't count twice" in ctx.messages_sent[-1]["content"]
    assert ctx.kv.get("count")["best"] == 2
