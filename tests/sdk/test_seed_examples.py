"""The examples of the public SDK page (v0.5.1), as tests. The page's ping handler sends "Pong" but its test
expects "Pong!"; here the handler sends "Pong!" so the two agree."""

from __future__ import annotations

from yourbot_sdk import (
    CapabilityError,
    Context,
    DiscordApiError,
    KvQuotaError,
    Plugin,
    RateLimitError,
    RpcTimeoutError,
    SdkError,
    SdkPermissionError,
    ValidationError,
)
from yourbot_sdk.testing import MockContext, _MockDiscord, make_event

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx: Context, event: dict):
    try:
        ctx.discord.send_message(channel_id=event["channel_id"], content="Pong!")
    except RateLimitError as exc:
        ctx.log(f"rate limited; retry in {exc.retry_after}s", level="warning")
    except SdkPermissionError as exc:
        ctx.log(f"missing Discord permission: {exc.permission}", level="error")
    except DiscordApiError as exc:
        if exc.status_code == 404:
            ctx.log("channel was deleted", level="info")
        else:
            ctx.log(f"discord {exc.status_code}: {exc}", level="error")
    except SdkError as exc:
        # Catch-all — logs and keeps the plugin running.
        ctx.log(f"unexpected: {exc}", level="error")


def my_status_handler(ctx: Context, event: dict) -> None:
    if event["content"] == "!status":
        reply = ctx.http.get("https://api.example.com/status")
        ctx.discord.send_message(channel_id=event["channel_id"], content=reply["body_bytes"])


def test_ping_replies_pong():
    ctx = MockContext()
    event = make_event("message_create", content="!ping", channel_id="42")
    on_message(ctx, event)  # the handler from your __main__.py
    assert len(ctx.messages_sent) == 1
    sent = ctx.messages_sent[0]
    assert sent["channel_id"] == "42"
    assert sent["content"] == "Pong!"


def test_kv_counter_increments():
    ctx = MockContext()
    ctx.kv.increment("hits")
    ctx.kv.increment("hits")
    assert ctx.kv.get("hits") == 2


def test_capability_gate():
    ctx = MockContext(capabilities=["discord:send_message"])
    assert ctx.has_capability("discord:send_message")
    assert not ctx.has_capability("storage:sql")


def test_calls_external_api():
    ctx = MockContext()
    ctx.http.mock_response(
        "api.example.com/status",
        status=200,
        body='{"online": true}',
    )
    my_status_handler(ctx, make_event("message_create", content="!status"))
    assert ctx.http.requests[0]["url"].startswith("https://api.example.com")
    assert ctx.messages_sent[0]["content"] == '{"online": true}'


def test_what_mock_context_records_is_listed_on_the_page():
    ctx = MockContext()
    for name in ("messages_sent", "messages_edited", "messages_deleted", "messages_pinned", "messages_unpinned",
                 "reactions_added", "roles_added", "roles_removed", "members_banned", "members_kicked",
                 "members_timed_out", "modals_sent", "log_entries"):  # fmt: skip
        assert getattr(ctx, name) == []
    assert ctx.interaction.responses == [] and ctx.metrics.recorded == [] and ctx.sql.executed == []


def test_make_event_has_defaults_for_all_16_types():
    from mmo_maid_sdk.events import EVENT_TYPES

    assert len(EVENT_TYPES) == 16
    for event_type in EVENT_TYPES:
        assert make_event(event_type)["guild_id"] == "999"


def raising(exc):
    def fake(self, **kwargs):
        raise exc

    return fake


def test_the_error_example_handles_each_documented_error(monkeypatch):
    cases = [
        (RateLimitError("slow down", retry_after=12.0), "warning", "rate limited; retry in 12.0s"),
        (SdkPermissionError("no", permission="send_messages"), "error", "missing Discord permission: send_messages"),
        (DiscordApiError("gone", status_code=404), "info", "channel was deleted"),
        (DiscordApiError("oops", status_code=500), "error", "discord 500: oops"),
        (KvQuotaError("full"), "error", "unexpected: full"),
        (CapabilityError("not granted"), "error", "unexpected: not granted"),
        (ValidationError("bad"), "error", "unexpected: bad"),
        (RpcTimeoutError("RPC timeout: discord.send_message (30s)"), "error",
         "unexpected: RPC timeout: discord.send_message (30s)"),
    ]  # fmt: skip
    for exc, level, text in cases:
        monkeypatch.setattr(_MockDiscord, "send_message", raising(exc))
        ctx = MockContext()
        on_message(ctx, make_event("message_create", content="!ping"))
        assert ctx.log_entries == [{"message": text, "level": level, "tags": []}]


def test_calling_an_api_you_did_not_request_raises_capability_error():
    ctx = MockContext(capabilities=["discord:send_message"])
    try:
        ctx.sql.query("SELECT 1")
    except CapabilityError as exc:
        assert exc.code == "CAPABILITY_DENIED"
    else:
        raise AssertionError("CapabilityError not raised")
    assert ctx.sql.executed == []  # the call was blocked, no partial damage
