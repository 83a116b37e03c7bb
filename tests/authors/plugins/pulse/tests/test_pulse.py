import json

from plugin_main import STATUS_URL, poll_status, pulse
from yourbot_sdk import RateLimitError, ValidationError
from yourbot_sdk.testing import MockContext


def page(indicator, description):
    return json.dumps({"status": {"indicator": indicator, "description": description}})


def test_nothing_happens_before_watch(ctx):
    poll_status(ctx)
    assert ctx.http.requests == []


def test_watch_then_poll_posts_only_changes(ctx, pulse_event):
    pulse(ctx, pulse_event("watch", channel="70"))
    assert ctx.kv.get("channel") == "70"
    ctx.http.mock_response("status.pulse.test", status=200, body=page("none", "All Systems Operational"))
    poll_status(ctx)
    assert ctx.messages_sent == []  # first look, and all is well: nothing to say
    request = ctx.http.requests[-1]
    assert request["url"] == STATUS_URL and request["params"] == {"lang": "en"}
    assert request["secret_auth"] == "STATUS_TOKEN" and request["method"] == "GET"


def test_incident_is_posted_with_a_colour(pulse_event):
    ctx = MockContext(capabilities=["storage:kv", "discord:send_message", "interaction:respond", "proxy:http"])
    pulse(ctx, pulse_event("watch", channel="70"))
    ctx.kv.set("last_status", ["none", "All Systems Operational"])
    ctx.http.mock_response("summary.json", status=200, body=page("major", "Partial outage"))
    poll_status(ctx)
    embed = ctx.messages_sent[-1]["embeds"][0]
    assert ctx.messages_sent[-1]["channel_id"] == "70"
    assert embed == {"title": "Status update", "description": "Partial outage", "color": 0xE67E22}
    poll_status(ctx)
    assert len(ctx.messages_sent) == 1


def test_status_page_errors_are_logged(ctx):
    ctx.kv.set("channel", "70")
    ctx.http.mock_response("status.pulse.test", status=503, body="")
    poll_status(ctx)
    assert ctx.log_entries[-1]["message"] == "status page answered 503"
    assert ctx.messages_sent == []


def test_rate_limit_is_logged_with_retry_after(ctx):
    ctx.kv.set("channel", "70")

    def limited(*args, **kwargs):
        raise RateLimitError("Proxy rate limit exceeded (30/min)", retry_after=7.5)

    ctx.http.request = limited
    poll_status(ctx)
    assert ctx.log_entries[-1]["retry_after"] == 7.5
    assert ctx.log_lines[-1] == "status page rate limited"


def test_check_defers_then_follows_up(ctx, pulse_event):
    ctx.http.mock_response("status.pulse.test", status=200, body=page("minor", "Degraded"))
    pulse(ctx, pulse_event("check"))
    assert ctx.interaction.defers[-1]["ephemeral"] is True
    assert ctx.interaction.followups[-1]["content"] == "Degraded (minor)"
    assert ctx.interaction.followups[-1]["ephemeral"] is True


def test_trust_reports_the_platform_refusal(ctx, pulse_event):
    def refuse(host):
        raise ValidationError("allow_host needs a member with Manage Server")

    ctx.http.allow_host = refuse
    pulse(ctx, pulse_event("trust", host="hooks.example.com"))
    assert ctx.interaction.responses[-1]["content"] == (
        "Not allowed: allow_host needs a member with Manage Server [VALIDATION_ERROR]"
    )


def test_trust_says_which_host(ctx, pulse_event):
    ctx.http.allow_host = lambda host: {"host": host, "allowed": True}
    pulse(ctx, pulse_event("trust", host="hooks.example.com"))
    assert ctx.interaction.responses[-1]["content"] == "Allowed hooks.example.com."


def test_activity_counts_messages_after_a_point(ctx, pulse_event):
    ctx.discord.set_messages([{"id": str(i), "author": {"id": str(i % 3)}, "content": f"m{i}"} for i in range(1, 251)])
    pulse(ctx, pulse_event("activity", since="100"))
    assert ctx.interaction.responses[-1]["content"] == "150 message(s) from 3 member(s) since then."


def test_activity_pages_in_order(ctx):
    ctx.discord.set_messages([{"id": str(i)} for i in range(1, 8)])
    oldest_first = [m["id"] for m in ctx.discord.iter_messages(channel_id="1", after="2", batch_size=2)]
    newest_first = [m["id"] for m in ctx.discord.iter_messages(channel_id="1", before="6", batch_size=2)]
    # pages come oldest page first; each page as Discord returns it (newest first)
    assert oldest_first == ["4", "3", "6", "5", "7"]
    assert newest_first == ["5", "4", "3", "2", "1"]


def test_get_messages_respects_limit(ctx):
    ctx.discord.set_messages([{"id": str(i)} for i in range(1, 8)])
    assert [m["id"] for m in ctx.discord.get_messages(channel_id="1", limit=3)] == ["7", "6", "5"]
