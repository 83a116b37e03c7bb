"""The testing kit as plugin suites use it: recording mocks, the capability check, history paging, the KV
store on a clock, and the helpers this SDK adds (``dispatch``, ``run_ready``, ``tick``, ``call_dashboard``).
(That each mock records and returns what the official kit does is checked call by call in ``differential/``.)"""

from __future__ import annotations

import pytest
from yourbot_sdk import ActionRow, Button, CapabilityError, Plugin
from yourbot_sdk.testing import (
    MockClock,
    MockContext,
    _MockDiscord,
    call_dashboard,
    dispatch,
    make_event,
    run_ready,
    tick,
)


def test_default_grant_is_everything_but_the_two_opt_in_capabilities():
    ctx = MockContext()
    assert len(ctx.capabilities) == 16
    assert "proxy:websocket" not in ctx.capabilities and "events:message_content" not in ctx.capabilities
    with pytest.raises(CapabilityError) as raised:
        ctx.ws.ensure("feed", "wss://example.com")
    assert raised.value.code == "CAPABILITY_DENIED" and "proxy:websocket" in str(raised.value)
    assert ctx.ws.ensured == []


def test_an_explicit_list_grants_exactly_that_and_blocked_calls_record_nothing():
    ctx = MockContext(capabilities=["discord:send_message"])
    ctx.discord.send_message(channel_id="1", content="ok")
    ctx.discord.pin_message(channel_id="1", message_id="1")  # pinning is part of send_message, as officially
    with pytest.raises(CapabilityError):
        ctx.sql.query("SELECT 1")
    with pytest.raises(CapabilityError):
        ctx.discord.ban_member(user_id="1")
    assert ctx.sql.executed == [] and ctx.members_banned == [] and len(ctx.messages_sent) == 1
    assert MockContext(capabilities=[], strict_capabilities=False).kv.set("a", 1) is None
    assert MockContext(capabilities=[]).ephemeral.counter("free") == 1  # ephemeral and metrics need nothing


def test_replacing_a_mock_method():
    original = _MockDiscord.get_guild
    try:
        _MockDiscord.get_guild = lambda self: {"id": "patched"}
        assert MockContext().discord.get_guild() == {"id": "patched"}
        with pytest.raises(CapabilityError):  # the capability check stays in front of a class-level patch
            MockContext(capabilities=[]).discord.get_guild()
    finally:
        _MockDiscord.get_guild = original
    ctx = MockContext(capabilities=[])
    ctx.discord.get_guild = lambda: {"id": "instance"}  # an instance-level patch replaces the method outright
    assert ctx.discord.get_guild() == {"id": "instance"}


def test_recorded_arguments_are_the_objects_passed():
    ctx = MockContext()
    row = ActionRow(Button("Go", "go"))
    result = ctx.discord.send_message(channel_id=1, content="x" * 3000, components=[row])
    assert result == {"ok": True, "message_id": "1", "channel_id": 1}
    sent = ctx.messages_sent[0]
    assert sent["components"][0] is row and len(sent["content"]) == 3000 and sent["message_id"] == "1"
    ctx.interaction.respond(content="hi", update_message=True)
    assert ctx.interaction.responses[-1]["update_message"] is True


def test_history_pages_like_the_platform():
    ctx = MockContext()
    ctx.discord.set_messages([{"id": str(i), "content": f"m{i}"} for i in range(1, 121)])
    newest = ctx.discord.get_messages(channel_id="1")
    assert [m["id"] for m in newest[:2]] == ["120", "119"] and len(newest) == 50
    assert [m["id"] for m in ctx.discord.get_messages(channel_id="1", limit=2, before="10")] == ["9", "8"]
    assert [m["id"] for m in ctx.discord.get_messages(channel_id="1", limit=2, after="10")] == ["12", "11"]
    everything = list(ctx.discord.iter_messages(channel_id="1", batch_size=7))
    assert [m["id"] for m in everything] == [str(i) for i in range(120, 0, -1)]
    forward = list(ctx.discord.iter_messages(channel_id="1", batch_size=50, after="100"))
    assert sorted(int(m["id"]) for m in forward) == list(range(101, 121))


def test_kv_is_a_store_on_the_context_clock_with_a_write_log():
    ctx = MockContext(clock=MockClock(start=1_000.0))
    ctx.kv.set("session", {"user": "1"}, ttl_seconds=60)
    for i in range(150):
        ctx.kv.set(f"k{i:03}", i)
    assert len(ctx.kv.list("k")) == 100  # the platform's cap per call
    assert ctx.kv.list("k", start_after="k147") == ["k148", "k149"]
    assert ctx.kv.count("k") == 150
    ctx.clock.advance(61)
    assert ctx.kv.get("session") is None and not ctx.kv.exists("session")
    assert ctx.kv.increment("hits") == 1 and ctx.kv.increment("hits", 4) == 5 and ctx.kv.decrement("hits") == 4
    assert ctx.kv_writes[0] == {"op": "set", "key": "session", "value": {"user": "1"}, "ttl_seconds": 60}
    assert ctx.kv_writes[-1] == {"op": "increment", "key": "hits", "path": "", "amount": -1}


def test_ephemeral_primitives_follow_the_clock():
    ctx = MockContext(clock=MockClock(start=0.0))
    assert [ctx.ephemeral.counter("c", 10) for _ in range(3)] == [1, 2, 3]
    ctx.clock.advance(11)
    assert ctx.ephemeral.counter("c", 10) == 1
    ctx.ephemeral.cooldown_set("cd", 30)
    ctx.clock.advance(10)
    assert ctx.ephemeral.cooldown_check("cd") == {"active": True, "remaining_seconds": 20.0}
    assert ctx.ephemeral.dedup("d", 5) is True and ctx.ephemeral.dedup("d", 5) is False
    ctx.clock.advance(5)
    assert ctx.ephemeral.dedup("d", 5) is True
    with pytest.raises(RuntimeError):
        MockClock().advance(1)


def test_http_mock_answers_by_url_substring_and_records_params_apart():
    ctx = MockContext()
    ctx.http.mock_response("api.example.com/v1", status=201, body='{"ok": true}', headers={"X": "1"})
    answer = ctx.http.get("https://api.example.com/v1/items", params={"page": 2})
    assert answer == {"status": 201, "body_bytes": '{"ok": true}', "headers": {"X": "1"}, "truncated": False}
    assert ctx.http.get("https://other.example.com")["status"] == 200
    assert ctx.http.requests[0] == {
        "method": "GET", "url": "https://api.example.com/v1/items", "headers": None, "body": None,
        "params": {"page": 2}, "secret_auth": None, "auth": None,
    }  # fmt: skip
    assert ctx.http.allow_host("api.example.com") == {"ok": True, "host": "api.example.com"}
    assert ctx.http.allowed_hosts == ["api.example.com"]


def test_ws_and_secrets_mocks():
    ctx = MockContext(capabilities=["proxy:websocket", "storage:secrets"])
    assert ctx.ws.ensure("feed", "wss://a.example.com", secret_auth="TOKEN") == {
        "conn_id": "mock-feed", "name": "feed", "state": "connecting",
    }  # fmt: skip
    ctx.ws.send("feed", b"\x00")
    assert ctx.ws.sent == [{"name": "feed", "data": b"\x00"}]
    ctx.secrets.defaults["API_KEY"] = "dev-key"
    assert ctx.secrets.get("API_KEY") == "dev-key"
    ctx.secrets.set("API_KEY", "server-key")
    assert ctx.secrets.get("API_KEY") == "server-key"


def _plugin() -> Plugin:
    plugin = Plugin()

    @plugin.on_ready
    def ready(ctx):
        ctx.kv.set("ready", True)

    @plugin.on_slash_command("roll")
    def roll(ctx, event):
        ctx.interaction.respond(content=f"rolled for {ctx.request_id}")

    @plugin.on_component(prefix="page:")
    def page(ctx, event):
        ctx.interaction.respond(content=event["custom_id"], update_message=True)

    @plugin.cron("0 9 * * *")
    def morning(ctx):
        ctx.log("good morning")

    @plugin.on_dashboard("stats")
    def stats(ctx, params):
        return {"value": params.get("n", 0) * 2}

    return plugin


def test_dispatch_filters_like_production_and_scopes_request_id():
    plugin = _plugin()
    ctx = MockContext()
    dispatch(plugin, "interaction_create", make_event("interaction_create", command_name="roll"), ctx=ctx)
    dispatch(plugin, "interaction_create", make_event("interaction_create", command_name="other"), ctx=ctx)
    dispatch(plugin, "interaction_create", make_event("interaction_create", interaction_type=3, custom_id="page:2"),
             ctx=ctx)  # fmt: skip
    assert [r["content"] for r in ctx.interaction.responses] == ["rolled for 300", "page:2"]
    assert ctx.request_id == ""


def test_helpers_run_ready_ticks_and_dashboards():
    plugin = _plugin()
    ctx = run_ready(plugin)
    assert ctx.kv.get("ready") is True
    assert tick(plugin, "morning").log_lines == ["good morning"]
    assert call_dashboard(plugin, "dashboard.stats", {"n": 21}) == {"value": 42}
    with pytest.raises(ValueError, match="morning"):
        tick(plugin, "evening")
    with pytest.raises(ValueError, match="stats"):
        call_dashboard(plugin, "nope")
