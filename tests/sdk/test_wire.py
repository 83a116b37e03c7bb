"""Every ctx method through the real runtime: the exact JSON-RPC request it sends and how it decodes the result."""

from __future__ import annotations

import json

import pytest

from .rpc_host import PluginProcess

ALL_CAPS = [
    "storage:kv",
    "storage:sql",
    "storage:secrets",
    "proxy:http",
    "interaction:respond",
    "discord:send_message",
    "discord:read",
]

CALLER = """
import datetime

def encode(value):
    if isinstance(value, SdkError):
        names = ("retry_after", "status_code", "permission", "method")
        attrs = {k: getattr(value, k) for k in names if hasattr(value, k)}
        return {"error": type(value).__name__, "code": value.code, "message": value.message, "str": str(value),
                "is_runtime_error": isinstance(value, RuntimeError), "attrs": attrs}
    if type(value).__name__ == "SqlRows":
        return {"rows": list(value), "truncated": value.truncated}
    return {"value": value}

@plugin.on_event("interaction_create")
def call(ctx, event):
    try:
        out = encode(eval(event["call"], globals(), {"ctx": ctx}))
    except SdkError as exc:
        out = encode(exc)
    ctx.log(json.dumps(out), tags=["result"])
"""


@pytest.fixture(scope="module")
def caller(tmp_path_factory: pytest.TempPathFactory):
    proc = PluginProcess(tmp_path_factory.mktemp("caller"), CALLER)
    proc.boot(capabilities=ALL_CAPS)
    yield proc
    proc.kill()


_ids = iter(range(1, 10**6))


def invoke(proc: PluginProcess, expr: str, rpc: str | None, params: dict | None, answer: dict | None) -> dict:
    """Run ``expr`` in the plugin; check the request it sends (if any), answer it, return the encoded outcome."""
    n = next(_ids)
    proc.event("interaction_create", {"interaction_id": f"i-{n}", "interaction_type": 2, "call": expr}, event_id=n)
    if rpc is not None:
        request = proc.wait_for(lambda m: "id" in m and "method" in m)
        expected = dict(params or {})
        if rpc.startswith("interaction."):
            expected = {"_interaction_id": f"i-{n}", **expected}
        assert request["method"] == rpc
        assert request["params"] == {**expected, "discord_srv_id": "5"}
        assert isinstance(request["id"], int)
        if "error" in (answer or {}) and len(answer) == 1:
            proc.respond_error(request, answer["error"])
        else:
            proc.respond(request, answer if answer is not None else {})
    log = proc.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"].get("tags") == ["result"])
    return json.loads(log["params"]["message"])


BUTTON_ROW = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}
BULK = {"success": 2, "failed": 0, "errors": []}
MEMBER = {"user_id": "7", "username": "ada", "display_name": "Ada", "nick": None, "avatar": None, "roles": [],
          "joined_at": "2026-01-01T00:00:00Z", "bot": False}  # fmt: skip
HTTP_RESULT = {"status": 200, "headers": {"content-type": "text/plain"}, "body_bytes": "ok", "truncated": False}

# (expression, rpc method, params sent (without discord_srv_id), host result, decoded return value)
CASES = [
    (
        "ctx.discord.send_message(channel_id=42, content='x' * 2100, embeds=[{}] * 12,"
        " components=[ActionRow(Button('Go', 'go'))], files=[{'filename': 'a', 'data_b64': ''}] * 4)",
        "discord.send_message",
        {
            "channel_id": "42",
            "content": "x" * 2000,
            "embeds": [{}] * 10,
            "components": [BUTTON_ROW],
            "files": [{"filename": "a", "data_b64": ""}] * 3,
        },
        {"message_id": "9", "channel_id": "42"},
        {"message_id": "9", "channel_id": "42"},
    ),
    (
        "ctx.discord.send_message(channel_id='1', components=[{'type': 1, 'components': []}])",
        "discord.send_message",
        {"channel_id": "1", "content": "", "components": [{"type": 1, "components": []}]},
        {"message_id": "3", "channel_id": "1"},
        {"message_id": "3", "channel_id": "1"},
    ),
    (
        "ctx.discord.edit_message(channel_id='1', message_id='2', content='')",
        "discord.edit_message",
        {"channel_id": "1", "message_id": "2", "content": ""},
        {"message_id": "2", "channel_id": "1"},
        {"message_id": "2", "channel_id": "1"},
    ),
    (
        "ctx.discord.pin_message(channel_id=1, message_id=2)",
        "discord.pin_message",
        {"channel_id": "1", "message_id": "2"},
        {},
        None,
    ),
    (
        "ctx.discord.unpin_message(channel_id=1, message_id=2)",
        "discord.unpin_message",
        {"channel_id": "1", "message_id": "2"},
        {},
        None,
    ),
    (
        "ctx.discord.delete_message(channel_id=1, message_id=2)",
        "discord.delete_message",
        {"channel_id": "1", "message_id": "2"},
        {},
        None,
    ),
    (
        "ctx.discord.bulk_delete_messages(channel_id=1, message_ids=[3, '4'])",
        "discord.bulk_delete_messages",
        {"channel_id": "1", "message_ids": ["3", "4"]},
        {},
        None,
    ),
    (
        "ctx.discord.add_reaction(channel_id=1, message_id=2, emoji='👍')",
        "discord.add_reaction",
        {"channel_id": "1", "message_id": "2", "emoji": "👍"},
        {},
        None,
    ),
    (
        "ctx.discord.add_reaction(channel_id=1, message_id=2, emoji='party:123')",
        "discord.add_reaction",
        {"channel_id": "1", "message_id": "2", "emoji": "party:123"},
        {},
        None,
    ),
    (
        "ctx.discord.get_messages(channel_id=1, limit=500, before=9)",
        "discord.get_messages",
        {"channel_id": "1", "limit": 50, "before": "9"},
        {"messages": [{"id": "8"}]},
        [{"id": "8"}],
    ),
    ("ctx.discord.get_guild()", "discord.get_guild", {}, {"guild": {"id": "5", "name": "G"}}, {"id": "5", "name": "G"}),
    (
        "ctx.discord.get_channel(channel_id=3)",
        "discord.get_channel",
        {"channel_id": "3"},
        {"channel": {"id": "3"}},
        {"id": "3"},
    ),
    ("ctx.discord.list_channels()", "discord.list_channels", {}, {"channels": [{"id": "1"}]}, [{"id": "1"}]),
    ("ctx.discord.get_member(user_id=7)", "discord.get_member", {"user_id": "7"}, {"member": MEMBER}, MEMBER),
    (
        "ctx.discord.list_members(role_id=8, limit=0)",
        "discord.list_members",
        {"role_id": "8", "limit": 1},
        {"members": [MEMBER]},
        [MEMBER],
    ),
    (
        "ctx.discord.search_members('ad', limit=99)",
        "discord.search_members",
        {"query": "ad", "limit": 25},
        {"members": []},
        [],
    ),
    (
        "ctx.discord.list_roles()",
        "discord.list_roles",
        {},
        {"roles": [{"id": "1", "permissions": "0"}]},
        [{"id": "1", "permissions": "0"}],
    ),
    (
        "ctx.discord.create_channel(name='n' * 120, channel_type=2, user_limit=500)",
        "discord.create_channel",
        {"name": "n" * 100, "channel_type": 2, "user_limit": 99},
        {"channel": {"id": "11", "name": "n", "type": 2}},
        {"id": "11", "name": "n", "type": 2},
    ),
    (
        "ctx.discord.edit_channel(channel_id=1, topic='t' * 1100)",
        "discord.edit_channel",
        {"channel_id": "1", "topic": "t" * 1024},
        {"channel": {"id": "1", "name": "a", "type": 0}},
        {"id": "1", "name": "a", "type": 0},
    ),
    ("ctx.discord.delete_channel(channel_id='1')", "discord.delete_channel", {"channel_id": "1"}, {}, None),
    (
        "ctx.discord.set_channel_permissions(channel_id=1, target_id=2, allow=1024, target_type=1)",
        "discord.set_channel_permissions",
        {"channel_id": "1", "target_id": "2", "allow": "1024", "deny": "0", "target_type": 1},
        {},
        None,
    ),
    (
        "ctx.discord.delete_channel_permission(channel_id=1, target_id=2)",
        "discord.delete_channel_permission",
        {"channel_id": "1", "target_id": "2"},
        {},
        None,
    ),
    (
        "ctx.discord.create_thread(channel_id=1, name='t' * 101, thread_type=12, auto_archive_duration=60)",
        "discord.create_thread",
        {"channel_id": "1", "name": "t" * 100, "thread_type": 12, "auto_archive_duration": 60},
        {"thread": {"id": "20", "name": "t", "type": 12, "archived": False}},
        {"id": "20", "name": "t", "type": 12, "archived": False},
    ),
    (
        "ctx.discord.edit_thread(thread_id=4, archived=True)",
        "discord.edit_thread",
        {"thread_id": "4", "archived": True},
        {},
        None,
    ),
    (
        "ctx.discord.timeout_member(user_id=1, duration_seconds=9999999, reason='r' * 600)",
        "discord.timeout_member",
        {"user_id": "1", "duration_seconds": 2419200, "reason": "r" * 512},
        {},
        None,
    ),
    ("ctx.discord.set_nickname(user_id=1)", "discord.set_nickname", {"user_id": "1", "nickname": None}, {}, None),
    (
        "ctx.discord.set_nickname(user_id=1, nickname='n' * 40)",
        "discord.set_nickname",
        {"user_id": "1", "nickname": "n" * 32},
        {},
        None,
    ),
    (
        "ctx.discord.timeout_bulk(user_ids=list(range(30)), duration_seconds=-5)",
        "discord.timeout_bulk",
        {"user_ids": [str(i) for i in range(25)], "duration_seconds": 0, "reason": ""},
        BULK,
        BULK,
    ),
    (
        "ctx.discord.ban_member(user_id=1, delete_message_seconds=10**7)",
        "discord.ban_member",
        {"user_id": "1", "reason": "", "delete_message_seconds": 604800},
        {},
        None,
    ),
    ("ctx.discord.unban_member(user_id=1)", "discord.unban_member", {"user_id": "1"}, {}, None),
    (
        "ctx.discord.kick_member(user_id=1, reason='spam')",
        "discord.kick_member",
        {"user_id": "1", "reason": "spam"},
        {},
        None,
    ),
    ("ctx.discord.kick_bulk(user_ids=[1, 2])", "discord.kick_bulk", {"user_ids": ["1", "2"], "reason": ""}, BULK, BULK),
    (
        "ctx.discord.add_role(user_id=1, role_id=2)",
        "discord.add_role",
        {"user_id": "1", "role_id": "2", "reason": ""},
        {},
        None,
    ),
    (
        "ctx.discord.remove_role(user_id=1, role_id=2, reason='x')",
        "discord.remove_role",
        {"user_id": "1", "role_id": "2", "reason": "x"},
        {},
        None,
    ),
    (
        "ctx.discord.add_role_bulk(user_ids=[1, 3], role_id=2)",
        "discord.add_role_bulk",
        {"user_ids": ["1", "3"], "role_id": "2", "reason": ""},
        BULK,
        BULK,
    ),
    (
        "ctx.discord.remove_role_bulk(user_ids=[1, 3], role_id=2)",
        "discord.remove_role_bulk",
        {"user_ids": ["1", "3"], "role_id": "2", "reason": ""},
        BULK,
        BULK,
    ),
    (
        "ctx.discord.create_webhook(channel_id=1, name='w' * 90)",
        "discord.create_webhook",
        {"channel_id": "1", "name": "w" * 80},
        {"webhook": {"id": "30", "token": "t", "channel_id": "1", "name": "w"}},
        {"id": "30", "token": "t", "channel_id": "1", "name": "w"},
    ),
    (
        "ctx.discord.execute_webhook(webhook_id=1, webhook_token='t', content='hi', username='bot')",
        "discord.execute_webhook",
        {"webhook_id": "1", "webhook_token": "t", "content": "hi", "username": "bot"},
        {"message_id": "5"},
        {"message_id": "5"},
    ),
    ("ctx.discord.delete_webhook(webhook_id=1)", "discord.delete_webhook", {"webhook_id": "1"}, {}, None),
    # interaction
    (
        "ctx.interaction.respond(content='hi', ephemeral=True)",
        "interaction.respond",
        {"content": "hi", "embeds": [], "components": [], "ephemeral": True},
        {},
        None,
    ),
    (
        "ctx.interaction.respond(content='c' * 2001, components=[ActionRow(Button('Go', 'go'))],"
        " allowed_mentions={'parse': []})",
        "interaction.respond",
        {
            "content": "c" * 2000,
            "embeds": [],
            "components": [BUTTON_ROW],
            "ephemeral": False,
            "allowed_mentions": {"parse": []},
        },
        {},
        None,
    ),
    ("ctx.interaction.defer(ephemeral=True)", "interaction.defer", {"ephemeral": True}, {}, None),
    (
        "ctx.interaction.followup(content='more')",
        "interaction.followup",
        {"content": "more", "embeds": [], "components": [], "ephemeral": False},
        {"message_id": "1", "channel_id": "2"},
        {"message_id": "1", "channel_id": "2"},
    ),
    (
        "ctx.interaction.followup(content='more')",
        "interaction.followup",
        {"content": "more", "embeds": [], "components": [], "ephemeral": False},
        {},
        {},
    ),
    (
        "ctx.interaction.send_modal(title='T' * 50, custom_id='m', fields=[TextInput('Name', 'name'),"
        " ActionRow(TextInput('Age', 'age', style='paragraph'))])",
        "interaction.send_modal",
        {
            "title": "T" * 45,
            "custom_id": "m",
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 4, "custom_id": "name", "label": "Name", "style": 1, "required": True}],
                },
                {
                    "type": 1,
                    "components": [{"type": 4, "custom_id": "age", "label": "Age", "style": 2, "required": True}],
                },
            ],
        },
        {},
        None,
    ),
    # kv
    ("ctx.kv.get('a')", "kv.get", {"key": "a"}, {"value": {"x": 1}}, {"x": 1}),
    ("ctx.kv.get('missing')", "kv.get", {"key": "missing"}, {"value": None}, None),
    ("ctx.kv.set('a', {'x': 1})", "kv.put", {"key": "a", "value": {"x": 1}}, {}, None),
    ("ctx.kv.set('a', 1, ttl_seconds=60)", "kv.put", {"key": "a", "value": 1, "ttl_seconds": 60}, {}, None),
    ("ctx.kv.set('a', None)", "kv.del", {"key": "a"}, {}, None),
    ("ctx.kv.delete('a')", "kv.del", {"key": "a"}, {}, None),
    ("ctx.kv.exists('a')", "kv.get", {"key": "a"}, {"value": None}, False),
    ("ctx.kv.exists('a')", "kv.get", {"key": "a"}, {"value": 0}, True),
    ("ctx.kv.increment('hits')", "kv.increment", {"key": "hits", "path": "", "amount": 1}, {"value": 3}, 3),
    (
        "ctx.kv.increment('stats', 2, path='a.b')",
        "kv.increment",
        {"key": "stats", "path": "a.b", "amount": 2},
        {"value": 4},
        4,
    ),
    ("ctx.kv.decrement('n', 2)", "kv.decr", {"key": "n", "amount": 2}, {"value": -2}, -2),
    (
        "ctx.kv.list('p', limit=500, start_after='p1')",
        "kv.list",
        {"prefix": "p", "limit": 100, "start_after": "p1"},
        {"keys": ["p2"]},
        ["p2"],
    ),
    ("ctx.kv.list_values()", "kv.list_values", {"prefix": "", "limit": 100}, {"values": {"a": 1}}, {"a": 1}),
    ("ctx.kv.count('p')", "kv.list", {"prefix": "p", "limit": 0, "count_only": True}, {"count": 4}, 4),
    ("ctx.kv.get_many(['a', 'b'])", "kv.mget", {"keys": ["a", "b"]}, {"values": {"a": 1}}, {"a": 1}),
    ("ctx.kv.set_many({'a': 1, 'b': [2]})", "kv.mput", {"entries": {"a": 1, "b": [2]}}, {}, None),
    # sql
    (
        "ctx.sql.execute('INSERT INTO t VALUES ($1, $1)', [1])",
        "sql.execute",
        {"sql": "INSERT INTO t VALUES ($1, $1)", "params": [1]},
        {"rowcount": 1},
        1,
    ),
    (
        "ctx.sql.query('SELECT * FROM t WHERE d = %s', (datetime.date(2026, 1, 2),), limit=5000)",
        "sql.query",
        {"sql": "SELECT * FROM t WHERE d = %s", "params": ["2026-01-02"], "limit": 1000},
        {"rows": [{"a": 1}], "truncated": True},
        "ROWS",
    ),
    ("ctx.sql.query_one('SELECT 1')", "sql.query_one", {"sql": "SELECT 1", "params": []}, {"row": {"a": 1}}, {"a": 1}),
    (
        "ctx.sql.scalar('SELECT count(*) FROM t')",
        "sql.query_one",
        {"sql": "SELECT count(*) FROM t", "params": []},
        {"row": {"count": 3}},
        3,
    ),
    (
        "ctx.sql.scalar('SELECT 1 WHERE false')",
        "sql.query_one",
        {"sql": "SELECT 1 WHERE false", "params": []},
        {"row": None},
        None,
    ),
    # ephemeral
    (
        "ctx.ephemeral.counter('k', window_seconds=0)",
        "ephemeral.counter",
        {"key": "k", "window_seconds": 1},
        {"count": 2},
        2,
    ),
    ("ctx.ephemeral.cooldown_set('k')", "ephemeral.cooldown_set", {"key": "k", "ttl_seconds": 60}, {}, None),
    (
        "ctx.ephemeral.cooldown_check('k')",
        "ephemeral.cooldown_check",
        {"key": "k"},
        {"active": True, "remaining_seconds": 1.5},
        {"active": True, "remaining_seconds": 1.5},
    ),
    (
        "ctx.ephemeral.dedup('k', ttl_seconds=999999)",
        "ephemeral.dedup",
        {"key": "k", "ttl_seconds": 86400},
        {"is_new": True},
        True,
    ),
    ("ctx.ephemeral.flag_set('k')", "ephemeral.flag_set", {"key": "k", "ttl_seconds": 3600}, {}, None),
    ("ctx.ephemeral.flag_check('k')", "ephemeral.flag_check", {"key": "k"}, {"active": True}, True),
    # http
    (
        "ctx.http.request('get', 'https://api.example.com/x?a=1', params={'b': [1, 2], 'c': None})",
        "proxy.request",
        {"method": "GET", "url": "https://api.example.com/x?a=1&b=1&b=2", "headers": {}, "body": None},
        HTTP_RESULT,
        HTTP_RESULT,
    ),
    (
        "ctx.http.get('https://api.example.com/s', headers={'A': 'b'}, params={'q': 'x y'})",
        "proxy.request",
        {"method": "GET", "url": "https://api.example.com/s?q=x+y", "headers": {"A": "b"}, "body": None},
        HTTP_RESULT,
        HTTP_RESULT,
    ),
    (
        "ctx.http.post('https://api.example.com/p', body='{}')",
        "proxy.request",
        {"method": "POST", "url": "https://api.example.com/p", "headers": {}, "body": "{}"},
        HTTP_RESULT,
        HTTP_RESULT,
    ),
    # metrics
    (
        "ctx.metrics.record('hits', 2, tags={i: i for i in range(12)})",
        "metrics.record",
        {"metric": "hits", "value": 2.0, "tags": {str(i): str(i) for i in range(10)}},
        {},
        None,
    ),
    ("ctx.metrics.record('a.b_c')", "metrics.record", {"metric": "a.b_c", "value": 1.0}, {}, None),
    (
        "ctx.metrics.query('hits', period='24h', group_by='cmd')",
        "metrics.query",
        {"metric": "hits", "period": "24h", "aggregate": "sum", "group_by": "cmd"},
        {"labels": ["a"], "series": [{"name": "x", "data": [1]}], "total": 1.0},
        {"labels": ["a"], "series": [{"name": "x", "data": [1]}], "total": 1.0},
    ),
    ("ctx.metrics.total('hits')", "metrics.total", {"metric": "hits", "period": "30d"}, {"total": 5}, 5.0),
    # secrets
    ("ctx.secrets.get('token')", "secrets.get", {"key": "token"}, {"value": "s3"}, "s3"),
    ("ctx.secrets.set('token', 'v')", "secrets.set", {"key": "token", "value": "v"}, {}, None),
    ("ctx.secrets.delete('token')", "secrets.del", {"key": "token"}, {}, None),
]


@pytest.mark.parametrize(("expr", "rpc", "params", "answer", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_method_sends_the_documented_request_and_decodes_the_result(caller, expr, rpc, params, answer, expected):
    outcome = invoke(caller, expr, rpc, params, answer)
    if expected == "ROWS":
        assert outcome == {"rows": [{"a": 1}], "truncated": True}
    else:
        assert outcome == {"value": expected}


def test_every_public_method_is_covered_by_the_wire_table():
    from mmo_maid_sdk._api import METHODS

    called = {c[0].split("(")[0].removeprefix("ctx.") for c in CASES}
    assert set(METHODS) <= called, sorted(set(METHODS) - called)


LOCAL_ERRORS = [
    ("ctx.discord.send_message(channel_id='1')", "ValidationError"),
    ("ctx.discord.send_message(channel_id='', content='x')", "ValidationError"),
    ("ctx.discord.add_reaction(channel_id=1, message_id=2, emoji='thumbsup')", "ValidationError"),
    ("ctx.discord.add_reaction(channel_id=1, message_id=2, emoji='')", "ValidationError"),
    ("ctx.discord.bulk_delete_messages(channel_id=1, message_ids=list(range(101)))", "ValidationError"),
    ("ctx.discord.create_channel(name='x', channel_type=3)", "ValidationError"),
    ("ctx.discord.create_thread(channel_id=1, name='x', auto_archive_duration=5)", "ValidationError"),
    ("ctx.kv.get('a\\x00b')", "ValidationError"),
    ("ctx.kv.get('')", "ValidationError"),
    ("ctx.kv.get('k' * 257)", "ValidationError"),
    ("ctx.kv.set('a', 'x' * 70000)", "KvQuotaError"),
    ("ctx.kv.set('a', object())", "ValidationError"),
    ("ctx.kv.set('a', 1, ttl_seconds=-1)", "ValidationError"),
    ("ctx.kv.get_many([str(i) for i in range(51)])", "ValidationError"),
    ("ctx.kv.set_many({str(i): i for i in range(26)})", "ValidationError"),
    ("ctx.sql.execute('SELECT $1, %s', [1, 2])", "ValidationError"),
    ("ctx.sql.execute('SELECT $2', [1])", "ValidationError"),
    ("ctx.sql.execute('SELECT %s', [])", "ValidationError"),
    ("ctx.sql.execute('SELECT 1', [1])", "ValidationError"),
    ("ctx.sql.execute('SELECT %s', [object()])", "ValidationError"),
    ("ctx.ephemeral.counter('k' * 257)", "ValidationError"),
    ("ctx.metrics.record('m' * 65)", "ValidationError"),
    ("ctx.metrics.record('1abc')", "ValidationError"),
    ("ctx.metrics.query('m', period='2d')", "ValidationError"),
    ("ctx.metrics.query('m', aggregate='median')", "ValidationError"),
    ("ctx.secrets.set('bad key', 'v')", "ValidationError"),
    ("ctx.secrets.set('k', 'v' * 4097)", "ValidationError"),
]


@pytest.mark.parametrize(("expr", "error"), LOCAL_ERRORS, ids=[e[0][:60] for e in LOCAL_ERRORS])
def test_arguments_that_can_never_be_valid_raise_locally_and_send_nothing(caller, expr, error):
    outcome = invoke(caller, expr, None, None, None)
    assert outcome["error"] == error
    unanswered = [m for i, m in enumerate(caller.messages) if "id" in m and "method" in m and i not in caller._consumed]
    assert unanswered == []


def test_interaction_calls_outside_an_interaction_are_refused_locally(spawn):
    proc = spawn(
        """
@plugin.on_event("message_create")
def on_message(ctx, event):
    try:
        ctx.interaction.respond(content="hi")
    except ValidationError as exc:
        ctx.log("refused: " + str(exc))
"""
    )
    proc.boot(capabilities=["interaction:respond"])
    proc.event("message_create", {"content": "x"})
    proc.wait_for(method="event.ack")
    assert any(line.startswith("refused: interaction.respond is only valid") for line in proc.logs())
    assert not [m for m in proc.messages if m.get("method") == "interaction.respond"]


def test_ctx_log_applies_the_limits(caller):
    n = next(_ids)
    expr = "ctx.log('m' * 5000, level='warn', tags=list(range(12)), **{f'k{i}': 'v' * 600 for i in range(25)})"
    caller.event("interaction_create", {"interaction_id": f"i-{n}", "interaction_type": 2, "call": expr}, event_id=n)
    log = caller.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"]["message"].startswith("mmm"))
    p = log["params"]
    assert p["level"] == "warning"
    assert p["message"] == "m" * 4000
    assert p["tags"] == [str(i) for i in range(10)]
    assert list(p["extra"]) == [f"k{i}" for i in range(20)]
    assert all(v == "v" * 500 for v in p["extra"].values())
    assert p["discord_srv_id"] == "5"
    assert p["event_id"] == n
    caller.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"].get("tags") == ["result"])


def test_unknown_log_levels_become_info(caller):
    n = next(_ids)
    caller.event("interaction_create", {"interaction_type": 2, "call": "ctx.log(42, level='loud')"}, event_id=n)
    log = caller.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"]["message"] == "42")
    assert log["params"]["level"] == "info"
    caller.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"].get("tags") == ["result"])


# -- host errors -> exception classes ------------------------------------------------------------

STRUCTURED = [
    (
        {
            "code": -32001,
            "message": "capability storage:kv is not granted for kv.get",
            "data": {"code": "CAPABILITY_DENIED"},
        },
        "CapabilityError",
        {},
    ),
    (
        {
            "code": -32002,
            "message": "discord actions rate limit exceeded (remaining=0/min)",
            "data": {"code": "RATE_LIMITED", "retry_after": 12.5},
        },
        "RateLimitError",
        {"retry_after": 12.5},
    ),
    (
        {
            "code": -32003,
            "message": "discord api error 404 Unknown Channel",
            "data": {"code": "DISCORD_API_ERROR", "status_code": 404},
        },
        "DiscordApiError",
        {"status_code": 404},
    ),
    (
        {
            "code": -32004,
            "message": "bot lacks permission manage_channels",
            "data": {"code": "BOT_MISSING_PERMISSION", "permission": "manage_channels"},
        },
        "SdkPermissionError",
        {"permission": "manage_channels"},
    ),
    (
        {"code": -32005, "message": "kv quota reached: 10000 keys", "data": {"code": "KV_QUOTA_EXCEEDED"}},
        "KvQuotaError",
        {},
    ),
    (
        {
            "code": -32602,
            "message": "invalid key: key is required and must be a string",
            "data": {"code": "VALIDATION_ERROR"},
        },
        "ValidationError",
        {},
    ),
    ({"code": -32006, "message": "kv.get timed out after 5s", "data": {"code": "RPC_TIMEOUT"}}, "RpcTimeoutError", {}),
    (
        {"code": -32000, "message": "storage unavailable", "data": {"code": "RPC_ERROR"}},
        "RpcError",
        {"method": "kv.get"},
    ),
    # structured code wins over misleading text; attributes come from the text when data lacks them
    (
        {
            "code": -32002,
            "message": "proxy http rate limit exceeded (remaining=4/min)",
            "data": {"code": "RATE_LIMITED"},
        },
        "RateLimitError",
        {"retry_after": 15.0},
    ),
    (
        {"code": -32003, "message": "discord api error 503 later", "data": {"code": "DISCORD_API_ERROR"}},
        "DiscordApiError",
        {"status_code": 503},
    ),
]

TEXT_ONLY = [
    ({"code": -32001, "message": "capability storage:kv is not granted for kv.get"}, "CapabilityError", {}),
    (
        {"code": -32002, "message": "discord actions rate limit exceeded (remaining=0/min)"},
        "RateLimitError",
        {"retry_after": 60.0},
    ),
    (
        {"code": -32002, "message": "proxy http rate limit exceeded (remaining=7/min)"},
        "RateLimitError",
        {"retry_after": 8.0},
    ),
    ({"code": -32002, "message": "rate limit exceeded (remaining=120/min)"}, "RateLimitError", {"retry_after": 1.0}),
    ({"code": -32000, "message": "Quota exceeded"}, "RateLimitError", {"retry_after": 5.0}),
    ({"code": -32003, "message": "Discord API error 500 upstream"}, "DiscordApiError", {"status_code": 500}),
    ({"code": -32003, "message": "discord api error: unknown"}, "DiscordApiError", {"status_code": 0}),
    (
        {"code": -32004, "message": "bot lacks permission manage_roles"},
        "SdkPermissionError",
        {"permission": "manage_roles"},
    ),
    ({"code": -32005, "message": "kv quota reached: value over 64 KB"}, "KvQuotaError", {}),
    ({"code": -32005, "message": "plugin_kv quota exceeded"}, "KvQuotaError", {}),
    ({"code": -32602, "message": "invalid key: key is required and must be a string"}, "ValidationError", {}),
    ({"code": -32602, "message": "channel_id is required (invalid snowflake)"}, "ValidationError", {}),
    ({"code": -32000, "message": "something broke"}, "RpcError", {"method": "kv.get"}),
    ({"code": -32006, "message": "kv.get timed out after 5s"}, "RpcError", {"method": "kv.get"}),
    ("capability missing", "CapabilityError", {}),
    ("it failed", "RpcError", {"method": "kv.get"}),
]


CODES = {
    "CapabilityError": "CAPABILITY_DENIED",
    "RateLimitError": "RATE_LIMITED",
    "DiscordApiError": "DISCORD_API_ERROR",
    "SdkPermissionError": "BOT_MISSING_PERMISSION",
    "KvQuotaError": "KV_QUOTA_EXCEEDED",
    "ValidationError": "VALIDATION_ERROR",
    "RpcTimeoutError": "RPC_TIMEOUT",
    "RpcError": "RPC_ERROR",
}


@pytest.mark.parametrize(
    ("error", "cls", "attrs"), STRUCTURED + TEXT_ONLY, ids=[repr(e[0])[:70] for e in STRUCTURED + TEXT_ONLY]
)
def test_host_errors_raise_the_documented_class(caller, error, cls, attrs):
    outcome = invoke(caller, "ctx.kv.get('a')", "kv.get", {"key": "a"}, {"error": error})
    message = error["message"] if isinstance(error, dict) else error
    assert outcome["error"] == cls
    assert outcome["message"] == message
    for key, value in attrs.items():
        assert outcome["attrs"][key] == value
    assert outcome["code"] == CODES[cls]
    if cls == "RpcError":
        assert outcome["str"] == f"RPC error (kv.get): {message}"
        assert outcome["is_runtime_error"] is True


def test_missing_permission_falls_back_to_the_methods_discord_permission(caller):
    outcome = invoke(
        caller,
        "ctx.discord.create_channel(name='x')",
        "discord.create_channel",
        {"name": "x", "channel_type": 0},
        {"error": {"code": -32004, "message": "Missing Permission"}},
    )
    assert outcome["error"] == "SdkPermissionError"
    assert outcome["attrs"]["permission"] == "manage_channels"
    outcome = invoke(
        caller, "ctx.kv.get('a')", "kv.get", {"key": "a"}, {"error": {"code": -32004, "message": "missing permission"}}
    )
    assert outcome["attrs"]["permission"] == "unknown"
