import pytest
from mmo_maid_sdk.testing import MockContext, call_dashboard, dispatch, make_event
from responder import triggers


def test_keyword_and_regex():
    assert triggers.Trigger("hello", "hi").matches("well HELLO there")
    assert not triggers.Trigger("hell", "x").matches("hello")
    assert triggers.Trigger("/colou?r/", "x").matches("my favourite color")
    with pytest.raises(ValueError):
        triggers.validate({"pattern": "/(/", "reply": "x"})


def test_dashboard_then_reply_with_cooldown(mmo_plugin):
    ctx = MockContext()
    assert call_dashboard(
        mmo_plugin.plugin, "add_trigger", {"values": {"pattern": "ping", "reply": "pong", "cooldown": 60}}, ctx=ctx
    ) == {"ok": True}
    for _ in range(2):
        dispatch(mmo_plugin.plugin, "message_create", make_event("message_create", content="ping"), ctx=ctx)
    assert [m["content"] for m in ctx.messages_sent] == ["pong"]
