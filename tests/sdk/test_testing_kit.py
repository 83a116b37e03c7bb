"""mmo_maid_sdk.testing: what MockContext records, returns and enforces, and the dispatch helpers."""

from __future__ import annotations

import inspect

import pytest
from mmo_maid_sdk import ActionRow, Button, CapabilityError, Context, KvQuotaError, Plugin, ValidationError
from mmo_maid_sdk._api import METHODS
from mmo_maid_sdk.testing import (
    MockClock,
    MockContext,
    _MockDiscord,
    _MockEphemeral,
    _MockHttp,
    _MockInteraction,
    _MockKv,
    _MockMetrics,
    _MockSecrets,
    _MockSql,
    call_dashboard,
    dispatch,
    make_event,
    run_ready,
    tick,
)

BULK = {"success": 2, "failed": 0, "errors": []}

# (call, recorded list, recorded entries, return value)
DISCORD = [
    (lambda d: d.send_message(channel_id="42", content="hi"), "messages_sent",
     [{"channel_id": "42", "content": "hi", "embeds": None, "components": None, "files": None, "message_id": "1"}],
     {"ok": True, "message_id": "1", "channel_id": "42"}),
    (lambda d: d.edit_message(channel_id="1", message_id="2", content="x"), "messages_edited",
     [{"channel_id": "1", "message_id": "2", "content": "x", "embeds": None, "components": None}],
     {"ok": True, "message_id": "2", "channel_id": "1"}),
    (lambda d: d.delete_message(channel_id="1", message_id="2"), "messages_deleted",
     [{"channel_id": "1", "message_id": "2"}], None),
    (lambda d: d.bulk_delete_messages(channel_id="1", message_ids=["2", "3"]), "messages_deleted",
     [{"channel_id": "1", "message_id": "2"}, {"channel_id": "1", "message_id": "3"}], None),
    (lambda d: d.pin_message(channel_id="1", message_id="2"), "messages_pinned",
     [{"channel_id": "1", "message_id": "2"}], None),
    (lambda d: d.unpin_message(channel_id="1", message_id="2"), "messages_unpinned",
     [{"channel_id": "1", "message_id": "2"}], None),
    (lambda d: d.add_reaction(channel_id="1", message_id="2", emoji="🎉"), "reactions_added",
     [{"channel_id": "1", "message_id": "2", "emoji": "🎉"}], None),
    (lambda d: d.add_role(user_id="1", role_id="9"), "roles_added", [{"user_id": "1", "role_id": "9", "reason": ""}],
     None),
    (lambda d: d.add_role_bulk(user_ids=["1", "2"], role_id="9", reason="r"), "roles_added",
     [{"user_id": "1", "role_id": "9", "reason": "r"}, {"user_id": "2", "role_id": "9", "reason": "r"}], BULK),
    (lambda d: d.remove_role(user_id="1", role_id="9", reason="x"), "roles_removed",
     [{"user_id": "1", "role_id": "9", "reason": "x"}], None),
    (lambda d: d.remove_role_bulk(user_ids=["1", "2"], role_id="9"), "roles_removed",
     [{"user_id": "1", "role_id": "9", "reason": ""}, {"user_id": "2", "role_id": "9", "reason": ""}], BULK),
    (lambda d: d.ban_member(user_id="1", reason="spam", delete_message_seconds=60), "members_banned",
     [{"user_id": "1", "reason": "spam", "delete_message_seconds": 60}], None),
    (lambda d: d.unban_member(user_id="1"), "members_unbanned", [{"user_id": "1"}], None),
    (lambda d: d.kick_member(user_id="1"), "members_kicked", [{"user_id": "1", "reason": ""}], None),
    (lambda d: d.kick_bulk(user_ids=["1", "2"], reason="x"), "members_kicked",
     [{"user_id": "1", "reason": "x"}, {"user_id": "2", "reason": "x"}], BULK),
    (lambda d: d.timeout_member(user_id="1", duration_seconds=60), "members_timed_out",
     [{"user_id": "1", "duration_seconds": 60, "reason": ""}], None),
    (lambda d: d.timeout_bulk(user_ids=["1", "2"], duration_seconds=5), "members_timed_out",
     [{"user_id": "1", "duration_seconds": 5, "reason": ""}, {"user_id": "2", "duration_seconds": 5, "reason": ""}],
     BULK),
    (lambda d: d.set_nickname(user_id="1", nickname="n"), "nicknames_set", [{"user_id": "1", "nickname": "n"}], None),
    (lambda d: d.create_channel(name="c", channel_type=2, user_limit=5), "channels_created",
     [{"name": "c", "channel_type": 2, "category_id": None, "topic": None, "user_limit": 5, "id": "100"}],
     {"id": "100", "name": "c", "type": 2}),
    (lambda d: d.edit_channel(channel_id="5", name="n"), "channels_edited",
     [{"channel_id": "5", "name": "n", "topic": None, "user_limit": None}], {"id": "5", "name": "n", "type": 0}),
    (lambda d: d.delete_channel(channel_id="5"), "channels_deleted", [{"channel_id": "5"}], None),
    (lambda d: d.create_thread(channel_id="5", name="t"), "threads_created",
     [{"channel_id": "5", "name": "t", "thread_type": 11, "auto_archive_duration": 1440, "id": "200"}],
     {"id": "200", "name": "t", "type": 11, "archived": False}),
    (lambda d: d.edit_thread(thread_id="7", locked=True), "threads_edited",
     [{"thread_id": "7", "archived": None, "locked": True, "name": None, "auto_archive_duration": None}], None),
    (lambda d: d.set_channel_permissions(channel_id="5", target_id="6", allow="1024"), "permissions_set",
     [{"channel_id": "5", "target_id": "6", "allow": "1024", "deny": "0", "target_type": 0}], None),
    (lambda d: d.delete_channel_permission(channel_id="5", target_id="6"), "permissions_deleted",
     [{"channel_id": "5", "target_id": "6"}], None),
    (lambda d: d.create_webhook(channel_id="5", name="w"), "webhooks_created",
     [{"channel_id": "5", "name": "w", "id": "300", "token": "mock_token"}],
     {"id": "300", "token": "mock_token", "channel_id": "5", "name": "w"}),
    (lambda d: d.execute_webhook(webhook_id="300", webhook_token="t", content="hi"), "webhooks_executed",
     [{"webhook_id": "300", "webhook_token": "t", "content": "hi", "embeds": None, "username": None,
       "avatar_url": None, "message_id": "1"}], {"message_id": "1"}),
    (lambda d: d.delete_webhook(webhook_id="300"), "webhooks_deleted", [{"webhook_id": "300"}], None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "name", "entries", "returned"), DISCORD, ids=[d[1] + str(i) for i, d in enumerate(DISCORD)]
)
def test_discord_calls_are_recorded_with_the_documented_keys(call, name, entries, returned):
    ctx = MockContext()
    assert call(ctx.discord) == returned
    assert getattr(ctx.discord, name) == entries


def test_the_mock_has_the_23_discord_lists():
    from mmo_maid_sdk.testing import DISCORD_LISTS

    assert len(DISCORD_LISTS) == 23
    ctx = MockContext()
    assert all(getattr(ctx.discord, name) == [] for name in DISCORD_LISTS)


def test_canned_ids_count_per_context():
    ctx = MockContext()
    assert ctx.discord.send_message(channel_id="1", content="a")["message_id"] == "1"
    assert ctx.discord.execute_webhook(webhook_id="9", webhook_token="t", content="b") == {"message_id": "2"}
    assert ctx.discord.send_message(channel_id="1", content="c")["message_id"] == "3"
    assert [ctx.discord.create_channel(name=n)["id"] for n in "ab"] == ["100", "101"]
    assert [ctx.discord.create_thread(channel_id="1", name=n)["id"] for n in "ab"] == ["200", "201"]
    assert [ctx.discord.create_webhook(channel_id="1", name=n)["id"] for n in "ab"] == ["300", "301"]
    ctx.interaction.respond(content="x")
    assert ctx.interaction.followup(content="y") == {"message_id": "1", "channel_id": ""}
    assert ctx.interaction.followup(content="z") == {"message_id": "2", "channel_id": ""}
    assert MockContext().discord.send_message(channel_id="1", content="a")["message_id"] == "1"


def test_read_methods_return_the_canned_data():
    d = MockContext().discord
    assert d.get_guild() == {"id": "999", "name": "Test Server", "icon": None, "member_count": 100,
                             "premium_tier": 0, "features": [], "owner_id": "1", "description": None}  # fmt: skip
    assert d.get_member(user_id="42") == {"user_id": "42", "username": "user_42", "display_name": "User 42",
                                          "nick": None, "avatar": None, "roles": [],
                                          "joined_at": "2026-01-01T00:00:00Z", "bot": False}  # fmt: skip
    assert d.get_channel(channel_id="7") == {"id": "7", "name": "channel-7", "type": 0, "topic": None,
                                             "parent_id": None, "position": 0, "nsfw": False}  # fmt: skip
    assert d.list_roles() == [{"id": "1", "name": "@everyone", "color": 0, "position": 0, "managed": False,
                               "mentionable": False, "permissions": "0"}]  # fmt: skip
    assert d.list_channels() == [{"id": "1", "name": "general", "type": 0, "parent_id": None, "position": 0}]
    assert d.list_members() == [] and d.search_members("a") == [] and d.get_messages(channel_id="1") == []


def test_interaction_lists_record_as_passed():
    ctx = MockContext()
    row = ActionRow(Button("Go", "go"))
    ctx.interaction.defer(ephemeral=True)
    ctx.interaction.respond(content="hi", components=[row], allowed_mentions={"parse": []})
    ctx.interaction.send_modal(title="T", custom_id="m", fields=[row])
    assert ctx.interaction.defers == [{"ephemeral": True}]
    assert ctx.interaction.responses == [
        {"content": "hi", "embeds": None, "components": [row], "ephemeral": False, "allowed_mentions": {"parse": []}}
    ]
    assert ctx.modals_sent is ctx.interaction.modals_sent
    assert ctx.modals_sent == [{"title": "T", "custom_id": "m", "fields": [row]}]
    assert ctx.interaction.respond(content="again") is None  # no once-only rule in the mock


def test_arguments_are_recorded_without_cuts():
    ctx = MockContext()
    ctx.discord.send_message(channel_id=42, content="x" * 3000)
    assert ctx.messages_sent[0]["content"] == "x" * 3000
    assert ctx.messages_sent[0]["channel_id"] == 42


def test_shortcut_properties_are_the_same_lists():
    ctx = MockContext()
    for name in ("messages_sent", "messages_edited", "messages_deleted", "messages_pinned", "messages_unpinned",
                 "reactions_added", "roles_added", "roles_removed", "members_banned", "members_kicked",
                 "members_timed_out"):  # fmt: skip
        assert getattr(ctx, name) is getattr(ctx.discord, name)


def test_capabilities_none_grants_all_and_an_explicit_list_grants_exactly_those():
    assert MockContext().has_capability("discord:ban_members")
    ctx = MockContext(capabilities=["discord:send_message"])
    ctx.discord.send_message(channel_id="1", content="ok")
    with pytest.raises(CapabilityError, match=r"capability discord:ban_members is not granted for discord\.ban_member"):
        ctx.discord.ban_member(user_id="1")
    assert ctx.members_banned == []
    nothing = MockContext(capabilities=[])
    assert nothing.capabilities == set()
    with pytest.raises(CapabilityError):
        nothing.kv.get("a")
    with pytest.raises(CapabilityError):
        nothing.interaction.respond(content="x")
    assert nothing.interaction.responses == []
    nothing.ephemeral.counter("k")  # no capability needed
    nothing.metrics.record("m")
    assert nothing.metrics.recorded == [{"metric": "m", "value": 1.0, "tags": None}]


def test_local_checks_apply_in_the_mock_and_record_nothing():
    ctx = MockContext()
    with pytest.raises(ValidationError):
        ctx.discord.send_message(channel_id="1")
    with pytest.raises(ValidationError):
        ctx.kv.set("bad\x00key", 1)
    with pytest.raises(KvQuotaError):
        ctx.kv.set("big", "x" * 70_000)
    with pytest.raises(ValidationError):
        ctx.sql.execute("SELECT $1, %s", [1, 2])
    assert ctx.messages_sent == [] and ctx.sql.executed == [] and ctx.kv.get("big") is None


def test_mock_classes_are_exact_and_patchable():
    ctx = MockContext()
    assert type(ctx.interaction) is _MockInteraction
    assert type(ctx.discord) is _MockDiscord
    for cls in (_MockDiscord, _MockInteraction, _MockKv, _MockSql, _MockEphemeral, _MockHttp, _MockMetrics,
                _MockSecrets):  # fmt: skip
        assert not any("__slots__" in vars(k) for k in cls.__mro__[:-1])
    ctx.discord.get_guild = lambda: {"id": "custom"}
    ctx.http.get = lambda url, **kw: {"status": 418}
    assert ctx.discord.get_guild() == {"id": "custom"}
    assert ctx.http.get("https://x.test") == {"status": 418}
    assert MockContext().discord.get_guild()["id"] == "999"


def test_class_level_replacement_affects_new_contexts(monkeypatch):
    calls = []
    monkeypatch.setattr(_MockInteraction, "respond", lambda self, **kw: calls.append(kw))
    monkeypatch.setattr(_MockDiscord, "edit_message", lambda self, **kw: "patched")
    ctx = MockContext(capabilities=[])  # the replacement carries no capability check
    ctx.interaction.respond(content="x")
    assert calls == [{"content": "x"}]
    assert ctx.discord.edit_message(channel_id="1", message_id="2") == "patched"


def test_mock_methods_take_the_real_names_and_defaults_also_positionally():
    namespaces = {"discord": "_Discord", "interaction": "_Interaction", "kv": "_Kv", "sql": "_Sql",
                  "ephemeral": "_Ephemeral", "http": "_Http", "metrics": "_Metrics", "secrets": "_Secrets"}  # fmt: skip
    from mmo_maid_sdk import _context, testing

    for qualname in METHODS:
        api, name = qualname.split(".")
        real = inspect.signature(getattr(getattr(_context, namespaces[api]), name))
        mock = inspect.signature(getattr(getattr(testing, "_Mock" + namespaces[api][1:]), name))
        real_params = [(p.name, p.default) for p in real.parameters.values()]
        mock_params = [(p.name, p.default) for p in mock.parameters.values()]
        if qualname == "http.post":
            assert mock_params[:3] == [
                ("self", inspect.Parameter.empty),
                ("url", inspect.Parameter.empty),
                ("body", ""),
            ]
            continue
        assert real_params == mock_params, qualname
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in mock.parameters.values()), qualname
    ctx = MockContext()
    ctx.discord.send_message("42", "hi")
    ctx.kv.set("a", 1, 60)
    ctx.http.post("https://api.example.com", "payload")
    assert ctx.messages_sent[0]["content"] == "hi"
    assert ctx.http.requests[0]["body"] == "payload"


def test_real_context_signatures_are_keyword_only_as_documented():
    sig = inspect.signature(Context.__init__)
    assert "server_id" in sig.parameters
    from mmo_maid_sdk._context import _Discord, _Http, _Kv

    assert str(inspect.signature(_Discord.send_message)) == (
        "(self, *, channel_id, content='', embeds=None, components=None, files=None)"
    )
    assert str(inspect.signature(_Discord.search_members)) == "(self, query, *, limit=25)"
    assert str(inspect.signature(_Kv.increment)) == "(self, key, amount=1, *, path='')"
    assert str(inspect.signature(_Http.post)) == "(self, url, *, body, headers=None, params=None)"


# -- stateful mocks -------------------------------------------------------------------------------


def test_kv_is_a_real_store_with_ttl_paging_and_counters():
    clock = MockClock(start=1000.0)
    kv = MockContext(clock=clock).kv
    kv.set("a", {"n": [1]})
    value = kv.get("a")
    value["n"].append(2)
    assert kv.get("a") == {"n": [1]}  # values are copies
    kv.set("temp", 1, ttl_seconds=10)
    assert kv.exists("temp")
    clock.advance(10)
    assert kv.get("temp") is None and not kv.exists("temp")
    kv.set("a", None)
    assert kv.get("a") is None
    for i in range(150):
        kv.set(f"k{i:03}", i)
    page = kv.list("k")
    assert len(page) == 100 and page == sorted(page)
    assert kv.list("k", start_after=page[-1]) == [f"k{i:03}" for i in range(100, 150)]
    assert kv.list("k", limit=0) == ["k000"]
    assert kv.list_values("k", limit=2) == {"k000": 0, "k001": 1}
    assert kv.count("k") == 150 and kv.count() == 150
    assert kv.get_many(["k000", "missing", "k149"]) == {"k000": 0, "k149": 149}
    kv.set_many({"x": 1, "y": 2})
    assert kv.get_many(["x", "y"]) == {"x": 1, "y": 2}


def test_kv_counters():
    clock = MockClock(start=0.0)
    kv = MockContext(clock=clock).kv
    assert kv.increment("hits") == 1
    assert kv.increment("hits", 5) == 6
    assert kv.decrement("hits", 2) == 4
    assert kv.decrement("fresh", 3) == -3
    assert kv.increment("stats", 2, path="a.b") == 2
    assert kv.increment("stats", path="a.c") == 1
    assert kv.get("stats") == {"a": {"b": 2, "c": 1}}
    assert isinstance(kv.increment("f", 0.5), float)
    kv.set("text", "abc")
    with pytest.raises(ValidationError):
        kv.increment("text")
    kv.set("ttl", 1, ttl_seconds=5)
    kv.increment("ttl")
    clock.advance(5)
    assert kv.get("ttl") is None  # increment kept the TTL


def test_kv_quota_of_ten_thousand_keys():
    kv = MockContext().kv
    kv.set_many({f"a{i}": i for i in range(25)})
    for i in range(9975):
        kv.set(f"k{i}", 1)
    with pytest.raises(KvQuotaError):
        kv.set("one_more", 1)
    kv.set("k0", 2)  # overwriting an existing key is fine
    with pytest.raises(KvQuotaError):
        kv.set_many({"n1": 1})
    with pytest.raises(ValidationError):
        kv.get_many([str(i) for i in range(51)])


def test_ephemeral_primitives_follow_the_clock():
    clock = MockClock(start=0.0)
    eph = MockContext(clock=clock).ephemeral
    assert [eph.counter("c", window_seconds=10) for _ in range(3)] == [1, 2, 3]
    clock.advance(10.5)
    assert eph.counter("c", window_seconds=10) == 1
    assert eph.cooldown_check("cd") == {"active": False, "remaining_seconds": 0.0}
    eph.cooldown_set("cd", ttl_seconds=30)
    clock.advance(10)
    check = eph.cooldown_check("cd")
    assert check == {"active": True, "remaining_seconds": 20.0} and isinstance(check["remaining_seconds"], float)
    assert eph.dedup("d", ttl_seconds=5) is True and eph.dedup("d") is False
    clock.advance(5)
    assert eph.dedup("d") is True
    assert eph.flag_check("f") is False
    eph.flag_set("f", ttl_seconds=1)
    assert eph.flag_check("f") is True
    clock.advance(1)
    assert eph.flag_check("f") is False


def test_secrets_prefer_the_server_value_over_developer_defaults():
    secrets = MockContext().secrets
    secrets.defaults["token"] = "dev"
    assert secrets.get("token") == "dev" and secrets.get("other") is None
    secrets.set("token", "server")
    assert secrets.get("token") == "server"
    secrets.delete("token")
    assert secrets.get("token") == "dev"


def test_sql_and_metrics_record_and_return_empty_results():
    ctx = MockContext()
    assert ctx.sql.execute("INSERT INTO t VALUES ($1)", [1]) == 0
    rows = ctx.sql.query("SELECT * FROM t")
    assert rows == [] and rows.truncated is False
    assert ctx.sql.query_one("SELECT 1") is None and ctx.sql.scalar("SELECT 1") is None
    assert ctx.sql.executed == [
        {"sql": "INSERT INTO t VALUES ($1)", "params": [1]},
        {"sql": "SELECT * FROM t", "params": None},
        {"sql": "SELECT 1", "params": None},
        {"sql": "SELECT 1", "params": None},
    ]
    ctx.metrics.record("hits", 2, {"cmd": "roll"})
    assert ctx.metrics.recorded == [{"metric": "hits", "value": 2, "tags": {"cmd": "roll"}}]
    assert ctx.metrics.query("hits") == {"labels": [], "series": [], "total": 0.0}
    assert ctx.metrics.total("hits") == 0.0


def test_http_mock_responses_match_by_substring_first_wins():
    http = MockContext().http
    http.mock_response("api.example.com/status", status=200, body='{"online": true}', headers={"x": "1"})
    http.mock_response("api.example.com", status=404)
    first = http.get("https://api.example.com/status", params={"v": 2})
    second = http.get("https://api.example.com/status")
    assert first == {"status": 200, "headers": {"x": "1"}, "body_bytes": '{"online": true}', "truncated": False}
    assert first is not second and first["headers"] is not second["headers"]
    assert http.post("https://api.example.com/other", body="b")["status"] == 404
    assert http.request("delete", "https://elsewhere.test/") == {
        "status": 200,
        "headers": {},
        "body_bytes": "",
        "truncated": False,
    }
    assert [r["method"] for r in http.requests] == ["GET", "GET", "POST", "DELETE"]
    assert http.requests[0]["url"] == "https://api.example.com/status?v=2"
    assert http.requests[2] == {"method": "POST", "url": "https://api.example.com/other", "headers": None, "body": "b"}


def test_log_entries_keep_values_as_passed():
    ctx = MockContext()
    ctx.log("hello", "warning", ["t"], user=1)
    ctx.log("plain")
    assert ctx.log_entries == [
        {"message": "hello", "level": "warning", "tags": ["t"], "user": 1},
        {"message": "plain", "level": "info", "tags": []},
    ]


def test_mock_context_defaults():
    ctx = MockContext()
    assert (ctx.server_id, ctx.plugin_id, ctx.version) == ("999999999", "test_plugin", "1.0.0")
    assert ctx.request_id == "" and isinstance(ctx.clock, MockClock)
    assert MockContext("1", "p", "2.0", ["storage:kv"]).capabilities == {"storage:kv"}


def test_mock_clock():
    wall = MockClock()
    with pytest.raises(RuntimeError):
        wall.advance(1)
    frozen = MockClock(start=100.0)
    frozen.advance(2.5)
    assert frozen.now() == 102.5
    with pytest.raises(ValueError):
        frozen.advance(-1)


# -- helpers --------------------------------------------------------------------------------------


def build_plugin() -> Plugin:
    plugin = Plugin()

    @plugin.on_ready
    def ready(ctx):
        ctx.log("ready")

    @plugin.on_slash_command("roll")
    def roll(ctx, event):
        ctx.interaction.respond(content=f"rolled for {ctx.request_id}")

    @plugin.on_component(prefix="vote:")
    def vote(ctx, event):
        ctx.log(f"vote {event['custom_id']}")

    @plugin.on_modal_submit("feedback")
    def feedback(ctx, event):
        ctx.log(f"feedback {event['modal_values']['text']}")

    @plugin.schedule(60)
    def sweep(ctx):
        ctx.log("sweep")

    @plugin.cron("0 9 * * *")
    def morning(ctx):
        ctx.log("morning")

    @plugin.on_dashboard("stats")
    def stats(ctx, params):
        return {"value": params.get("n", 0)}

    @plugin.on_event("message_create")
    def explode(ctx, event):
        raise ValueError("boom")

    return plugin


def test_dispatch_filters_like_production_and_scopes_request_id():
    plugin = build_plugin()
    ctx = dispatch(plugin, "interaction_create", make_event("interaction_create", command_name="roll"))
    assert ctx.interaction.responses[0]["content"] == "rolled for 300"
    assert ctx.request_id == ""
    dispatch(plugin, "interaction_create", make_event("interaction_create", command_name="other"), ctx=ctx)
    dispatch(plugin, "interaction_create",
             make_event("interaction_create", interaction_type=3, custom_id="vote:yes"), ctx=ctx)  # fmt: skip
    dispatch(plugin, "interaction_create",
             make_event("interaction_create", interaction_type=3, custom_id="other"), ctx=ctx)  # fmt: skip
    dispatch(plugin, "interaction_create",
             make_event("interaction_create", interaction_type=5, custom_id="feedback",
                        modal_values={"text": "great"}), ctx=ctx)  # fmt: skip
    assert len(ctx.interaction.responses) == 1
    assert [e["message"] for e in ctx.log_entries] == ["vote vote:yes", "feedback great"]
    assert dispatch(plugin, "member_join").log_entries == []


def test_helpers_run_ready_ticks_and_dashboards_and_let_exceptions_through():
    plugin = build_plugin()
    assert run_ready(plugin).log_entries[0]["message"] == "ready"
    ctx = MockContext()
    tick(plugin, "sweep", ctx=ctx)
    tick(plugin, "morning", ctx=ctx)
    assert [e["message"] for e in ctx.log_entries] == ["sweep", "morning"]
    assert call_dashboard(plugin, "stats", {"n": 3}) == {"value": 3}
    assert call_dashboard(plugin, "dashboard.stats") == {"value": 0}
    with pytest.raises(ValueError, match="boom"):
        dispatch(plugin, "message_create")
    with pytest.raises(ValueError, match="no @schedule or @cron function named 'nope'"):
        tick(plugin, "nope")
    with pytest.raises(ValueError, match="no @on_dashboard handler named 'nope'"):
        call_dashboard(plugin, "nope")
