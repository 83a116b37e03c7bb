import pytest
from feeds import parse, sources
from mmo_maid_sdk.testing import MockContext, dispatch, make_event, tick

RSS = """<rss><channel>
<item><guid>2</guid><title>Second</title><link>https://hnrss.org/2</link></item>
<item><guid>1</guid><title>First</title><link>https://hnrss.org/1</link></item>
</channel></rss>"""
ATOM = """<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>a</id><title>Atom</title><link href="https://x/a"/></entry></feed>"""


def test_parse_both_formats():
    assert [e["id"] for e in parse.entries(RSS)] == ["2", "1"]
    assert parse.entries(ATOM) == [{"id": "a", "title": "Atom", "link": "https://x/a"}]
    assert parse.entries("not xml") == []


def test_only_declared_hosts():
    assert sources.check("hn-front") == "https://hnrss.org/frontpage"
    with pytest.raises(ValueError):
        sources.check("https://evil.example/rss")


def test_first_poll_remembers_then_posts_new(mmo_plugin):
    ctx = MockContext()
    follow = make_event(
        "interaction_create", command_name="feed", options=[{"name": "url", "value": "hn-front"}], channel_id="5"
    )
    dispatch(mmo_plugin.plugin, "interaction_create", follow, ctx=ctx)
    ctx.http.mock_response("hnrss.org", body=RSS)
    tick(mmo_plugin.plugin, "poll_feeds", ctx=ctx)
    assert ctx.messages_sent == []
    newer = RSS.replace(
        "<item><guid>2", "<item><guid>3</guid><title>Third</title><link>https://hnrss.org/3</link></item><item><guid>2"
    )
    ctx2 = MockContext()
    ctx2.kv = ctx.kv
    ctx2.http.mock_response("hnrss.org", body=newer)
    tick(mmo_plugin.plugin, "poll_feeds", ctx=ctx2)
    assert ctx2.messages_sent[-1]["content"] == "📰 **Third**\nhttps://hnrss.org/3"
