import plugin_main
from yourbot_sdk.testing import MockContext, dispatch, make_event, tick


def test_the_morning_digest_posts_and_resets_the_counters():
    ctx = MockContext()
    event = make_event(
        "interaction_create", command_name="digest-channel", options=[{"name": "channel", "type": 7, "value": "12"}]
    )
    dispatch(plugin_main.plugin, "interaction_create", event, ctx=ctx)
    dispatch(plugin_main.plugin, "message_create", make_event("message_create", content="hi"), ctx=ctx)
    dispatch(plugin_main.plugin, "message_create", make_event("message_create", author_bot=True), ctx=ctx)
    dispatch(plugin_main.plugin, "member_join", ctx=ctx)
    tick(plugin_main.plugin, "morning_digest", ctx=ctx)
    assert ctx.messages_sent[-1]["channel_id"] == "12"
    assert ctx.messages_sent[-1]["content"] == "Yesterday: 1 messages, 1 new members."
    assert ctx.kv.get("today.messages") is None


def test_no_channel_no_post():
    ctx = MockContext()
    tick(plugin_main.plugin, "morning_digest", ctx=ctx)
    assert ctx.messages_sent == []


def test_heartbeat_records_a_metric():
    ctx = MockContext()
    ctx.kv.set("today.messages", 4)
    tick(plugin_main.plugin, "heartbeat", ctx=ctx)
    assert ctx.metrics.recorded == [{"metric": "digest_pending_messages", "value": 4, "tags": {}}]
