import board
import settings
from mmo_maid_sdk.testing import MockContext, dispatch, make_event


def starred(count):
    return [{"id": "500", "author_id": "7", "content": "look at this", "reactions": [{"emoji": "⭐", "count": count}]}]


def test_render_and_count():
    message = {**starred(4)[0], "channel_id": "1"}
    assert board.star_count(message) == 4
    assert board.render(message, 4).startswith("⭐ **4** | <#1> | <@7>")


def test_posts_once_then_edits(mmo_plugin):
    ctx = MockContext()
    settings.save(ctx.kv, "99", 3)
    ctx.discord.get_messages = lambda **kwargs: starred(3)
    event = make_event("reaction_add", emoji="⭐", message_id="500", channel_id="1")
    dispatch(mmo_plugin.plugin, "reaction_add", event, ctx=ctx)
    assert ctx.messages_sent[-1]["channel_id"] == "99"
    ctx.discord.get_messages = lambda **kwargs: starred(2)
    dispatch(
        mmo_plugin.plugin,
        "reaction_remove",
        make_event("reaction_remove", emoji="⭐", message_id="500", channel_id="1"),
        ctx=ctx,
    )
    assert len(ctx.messages_sent) == 1
    assert ctx.messages_edited[-1]["content"].startswith("⭐ **2**")
