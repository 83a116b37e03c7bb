"""ctx calls through the real runtime: the request each sends, how answers and errors come back, what the
SDK adds for correlation and for a maidcore host. (The call-by-call comparison with the official SDK is
``differential/``; these tests need no official wheel.)"""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from yourbot_sdk import spec

from .rpc_host import PluginProcess

CALLER = """
import datetime

def encode(value):
    if isinstance(value, SdkError):
        names = ("retry_after", "status_code", "permission", "method")
        attrs = {k: getattr(value, k) for k in names if hasattr(value, k)}
        return {"error": type(value).__name__, "code": value.code, "str": str(value), "attrs": attrs}
    if isinstance(value, QueryResult):
        return {"rows": list(value), "truncated": value.truncated}
    return {"value": value}

@plugin.on_event("interaction_create")
def call(ctx, event):
    try:
        out = encode(eval(event["call"], globals(), {"ctx": ctx}))
    except SdkError as exc:
        out = encode(exc)
    sys.stderr.write("RESULT " + json.dumps(out) + "\\n")
    sys.stderr.flush()
"""


@pytest.fixture(scope="module")
def caller(tmp_path_factory: pytest.TempPathFactory):
    proc = PluginProcess(tmp_path_factory.mktemp("caller"), CALLER)
    proc.boot(capabilities=["storage:kv"], host_scheduler=None)
    yield proc
    proc.kill()


_ids = iter(range(1, 10**6))


def invoke(proc: PluginProcess, expr: str, answer: dict | None = None) -> tuple[dict | None, dict]:
    """Run ``expr`` in the plugin; answer its request (if any); return (request line, outcome)."""
    n = next(_ids)
    results_before = len([x for x in proc.stderr if x.startswith("RESULT ")])
    proc.event("interaction_create", {"interaction_id": f"i-{n}", "interaction_type": 2, "call": expr}, event_id=n)
    request = None
    with contextlib.suppress(AssertionError):  # a call that sends nothing
        request = proc.wait_for(lambda m: "id" in m and "method" in m, timeout=2)
    if request is not None:
        reply = answer if answer is not None else {"result": {}}
        proc.send({"jsonrpc": "2.0", "id": request["id"], **reply})
    proc.wait_until(lambda: len([x for x in proc.stderr if x.startswith("RESULT ")]) > results_before, what="result")
    outcome = json.loads([x for x in proc.stderr if x.startswith("RESULT ")][results_before][7:])
    proc.wait_until(lambda: n in proc.acked(), what="the ack")
    return request, outcome


# (expression, rpc, params before the correlation ids, host result, decoded value)
CASES = [
    ("ctx.discord.send_message(channel_id=42, content='hi')", "discord.send_message",
     {"channel_id": "42", "content": "hi"}, {"message_id": "9"}, {"message_id": "9"}),
    ("ctx.discord.send_message(channel_id='1', embeds=[{}], allowed_mentions={'parse': []})", "discord.send_message",
     {"channel_id": "1", "embeds": [{}], "allowed_mentions": {"parse": []}}, None, {}),
    ("ctx.discord.edit_message(channel_id='1', message_id='2', content='')", "discord.edit_message",
     {"channel_id": "1", "message_id": "2", "content": ""}, {"ok": True}, {"ok": True}),
    ("ctx.discord.bulk_delete_messages(channel_id='1', message_ids=list(range(120)))", "discord.bulk_delete_messages",
     {"channel_id": "1", "message_ids": [str(i) for i in range(100)]}, {}, None),
    ("ctx.discord.get_messages(channel_id='1', limit=500)", "discord.get_messages",
     {"channel_id": "1", "limit": 50}, {"messages": [{"id": "1"}]}, [{"id": "1"}]),
    ("ctx.discord.list_members(role_id='3')", "discord.list_members",
     {"limit": 100, "role_id": "3"}, {"members": None}, []),
    ("ctx.discord.get_guild()", "discord.get_guild", {}, {"guild": {"id": "5"}}, {"id": "5"}),
    ("ctx.discord.create_channel(name='n' * 120, user_limit=150)", "discord.create_channel",
     {"name": "n" * 100, "channel_type": 0, "user_limit": 99}, {"channel": {"id": "1"}}, {"channel": {"id": "1"}}),
    ("ctx.discord.create_thread(channel_id='1', name='t')", "discord.create_thread",
     {"channel_id": "1", "name": "t", "thread_type": 11, "auto_archive_duration": 1440}, {"thread": {"id": "7"}},
     {"id": "7"}),
    ("ctx.discord.timeout_member(user_id='1', duration_seconds=-5)", "discord.timeout_member",
     {"user_id": "1", "duration_seconds": 0, "reason": ""}, {}, None),
    ("ctx.discord.set_nickname(user_id='1')", "discord.set_nickname", {"user_id": "1", "nickname": None}, {}, None),
    ("ctx.discord.kick_bulk(user_ids=list(range(30)))", "discord.kick_bulk",
     {"user_ids": [str(i) for i in range(25)], "reason": ""}, None, {"success": 0, "failed": 0, "errors": []}),
    ("ctx.interaction.respond(content='x' * 2100, update_message=True)", "interaction.respond",
     {"_interaction_id": "I", "content": "x" * 2000, "embeds": [], "components": [], "ephemeral": False,
      "update_message": True}, {}, None),
    ("ctx.interaction.send_modal(title='T', custom_id='m', fields=[TextInput('A', 'a')])", "interaction.send_modal",
     {"_interaction_id": "I", "title": "T", "custom_id": "m",
      "components": [{"type": 1, "components": [{"type": 4, "custom_id": "a", "style": 1, "label": "A",
                                                  "required": True}]}]}, {}, None),
    ("ctx.kv.set('k', 1, ttl_seconds=5)", "kv.put", {"key": "k", "value": 1, "ttl_seconds": 5}, {}, None),
    ("ctx.kv.set('k', None)", "kv.put", {"key": "k", "value": None}, {}, None),
    ("ctx.kv.increment('k', 2, path='a.b')", "kv.increment", {"key": "k", "path": "a.b", "amount": 2}, {"value": 3}, 3),
    ("ctx.kv.list('p', 500, start_after='a')", "kv.list", {"prefix": "p", "limit": 100, "start_after": "a"},
     {"keys": ["b"]}, ["b"]),
    ("ctx.kv.count('p')", "kv.list", {"prefix": "p", "limit": 0, "count_only": True}, {"count": 4}, 4),
    ("ctx.kv.exists('k')", "kv.get", {"key": "k"}, {"value": 0}, True),
    ("ctx.sql.query('SELECT $1', (1,), limit=5000)", "sql.query", {"sql": "SELECT $1", "params": [1], "limit": 1000},
     {"rows": [{"a": 1}], "truncated": True}, "ROWS"),
    ("ctx.sql.scalar('SELECT 1')", "sql.query_one", {"sql": "SELECT 1", "params": []}, {"row": {"n": 7}}, 7),
    ("ctx.ephemeral.cooldown_check('c')", "ephemeral.cooldown_check", {"key": "c"}, None,
     {"active": False, "remaining_seconds": 0}),
    ("ctx.http.get('https://a.com/p', params={'q': 'a b', 'l': [1, 2]})", "proxy.request",
     {"method": "GET", "url": "https://a.com/p?q=a+b&l=1&l=2", "headers": {}, "body": None}, {"status": 200},
     {"status": 200}),
    ("ctx.http.request('post', 'https://a.com', body='b', secret_auth='TOKEN')", "proxy.request",
     {"method": "POST", "url": "https://a.com", "headers": {}, "body": "b", "secret_auth": "TOKEN"}, None, {}),
    ("ctx.http.allow_host('api.a.com')", "http.allow_host", {"host": "api.a.com"}, {"ok": True}, {"ok": True}),
    ("ctx.metrics.record('m', 2, {'a': 1})", "metrics.record", {"metric": "m", "value": 2.0, "tags": {"a": "1"}}, {},
     None),
    ("ctx.metrics.query('m', group_by='g')", "metrics.query",
     {"metric": "m", "period": "7d", "aggregate": "sum", "group_by": "g"}, None,
     {"labels": [], "series": [], "total": 0}),
    ("ctx.secrets.delete('K')", "secrets.del", {"key": "K"}, {}, None),
    ("ctx.ws.ensure('feed', 'wss://a.com', secret_auth='S')", "ws.ensure",
     {"name": "feed", "url": "wss://a.com", "auth": {"scheme": "bearer", "secret": "S"}, "subscribe": [],
      "binary": False}, {"conn_id": "c"}, {"conn_id": "c"}),
    ("ctx.ws.send('feed', b'\\x00\\x01')", "ws.send", {"name": "feed", "data_b64": "AAE="}, {}, {}),
]  # fmt: skip


@pytest.mark.parametrize(("expr", "rpc", "params", "answer", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_a_call_sends_its_request_and_decodes_the_answer(caller, expr, rpc, params, answer, expected):
    request, outcome = invoke(caller, expr, {"result": answer})
    assert request is not None and request["method"] == rpc
    event_id = request["params"].pop("_event_id")
    assert isinstance(event_id, int)
    if "_interaction_id" in params:
        params = {**params, "_interaction_id": f"i-{event_id}"}
    assert request["params"] == params
    if expected == "ROWS":
        assert outcome == {"rows": [{"a": 1}], "truncated": True}
    else:
        assert outcome == {"value": expected}


def _sample(param: spec.Param) -> object:
    if param.rule is not None and param.rule.pattern is not None:  # a name the rule accepts (an HTTP method)
        return next(v for v in ("x", "GET") if re.fullmatch(param.rule.pattern, v))
    kind = param.rule.kind if param.rule else "string"
    choice = (param.rule.choices or (0,))[0] if param.rule else 0
    return {
        "snowflake": "1", "snowflakes": ["1", "2"], "integer": 1, "number": 1, "boolean": True, "object": {},
        "objects": [], "strings": ["a"], "json": {"a": 1}, "choice": choice,
    }.get(kind, "x")  # fmt: skip


@pytest.mark.parametrize("method", list(spec.METHODS.values()), ids=list(spec.METHODS))
def test_every_spec_method_sends_what_its_table_says(caller, method):
    """Called with its required arguments, each method sends ``Method.rpc`` with only the table's keys,
    and the params pass the host-side ``spec.check_params``."""
    args = ", ".join(f"{p.name}={_sample(p)!r}" for p in method.params if p.required)
    expr = f"ctx.{method.qualname}({args})"
    if method.name == "iter_messages":
        expr = f"next(ctx.{method.qualname}({args}), None)"
    request, _ = invoke(caller, expr, {"result": {}})
    assert request is not None and request["method"] == method.rpc
    assert spec.check_params(method.rpc, request["params"]) == []


def test_json_on_the_wire_is_compact_and_ascii(caller):
    invoke(caller, "ctx.kv.set('k', 'h\u00e9 \U0001f600')")
    raw = [line for line in caller.raw if b'"kv.put"' in line][-1]
    assert raw.startswith(b'{"jsonrpc":"2.0","id":') and b": " not in raw
    assert b'"value":"h\\u00e9 \\ud83d\\ude00"' in raw


ERRORS = [
    ({"code": "RATE_LIMITED", "message": "slow", "retry_after": 2}, "RateLimitError", {"retry_after": 2.0}),
    ({"code": -32000, "message": "rate limit, retry in 7s"}, "RateLimitError", {"retry_after": 7.0}),
    ({"code": -32002, "message": "x", "data": {"code": "RATE_LIMITED", "retry_after": 12}}, "RateLimitError",
     {"retry_after": 12.0}),
    ({"code": "BOT_MISSING_PERMISSION", "message": "no", "permission": "kick_members"}, "SdkPermissionError",
     {"permission": "kick_members"}),
    ({"code": -32003, "message": "discord api error 404 gone"}, "DiscordApiError", {"status_code": 404}),
    ({"code": -32000, "message": "boom"}, "RpcError", {"method": "kv.get"}),
]  # fmt: skip


@pytest.mark.parametrize(("error", "cls", "attrs"), ERRORS, ids=[repr(e[0])[:60] for e in ERRORS])
def test_host_errors_come_back_as_sdk_errors(caller, error, cls, attrs):
    _, outcome = invoke(caller, "ctx.kv.get('k')", {"error": error})
    assert outcome["error"] == cls
    for name, value in attrs.items():
        assert outcome["attrs"][name] == value


def test_rejections_are_logged_at_most_three_times_per_method_per_hour(caller):
    before = len([m for m in caller.messages if m.get("params", {}).get("tags") == ["sdk", "rejected"]])
    for _ in range(5):
        invoke(caller, "ctx.secrets.get('a')", {"error": {"code": "VALIDATION_ERROR", "message": "bad key"}})
    warnings = [m["params"] for m in caller.messages if m.get("params", {}).get("tags") == ["sdk", "rejected"]]
    warnings = warnings[before:]
    assert len(warnings) == 3
    assert warnings[0] == {
        "level": "warning",
        "message": "SDK call secrets.get was rejected by the platform: bad key",
        "tags": ["sdk", "rejected"],
        "extra": {"method": "secrets.get", "code": "VALIDATION_ERROR"},
    }
    assert warnings[2]["message"].endswith("(further rejections this hour are counted, not logged)")


def test_ctx_log_cuts_and_stringifies(caller):
    invoke(caller, "ctx.log('m' * 5000, level='warn', tags=list(range(12)), **{f'k{i}': 'v' * 600 for i in range(25)})")
    log = [m["params"] for m in caller.messages if m.get("method") == "plugin.log" and
           m["params"]["message"].startswith("mmm")][-1]  # fmt: skip
    assert log["level"] == "warn" and log["message"] == "m" * 4000
    assert log["tags"] == [str(i) for i in range(10)]
    assert list(log["extra"]) == [f"k{i}" for i in range(20)] and set(log["extra"].values()) == {"v" * 500}


POOL = """
import threading

@plugin.on_event("message_create")
def on_message(ctx, event):
    ctx.kv.get("in-delivery")
    worker = threading.Thread(target=ctx.kv.get, args=("in-a-thread",))
    worker.start()
    worker.join()
"""


def test_calls_inside_a_delivery_carry_its_correlation_ids(spawn):
    proc = spawn(POOL, responder=lambda m: {"jsonrpc": "2.0", "id": m["id"], "result": {}})
    proc.boot(mode="pool", host_scheduler=None)
    proc.event("message_create", {}, event_id="e1", discord_srv_id="77", capabilities=["storage:kv"])
    proc.wait_until(lambda: "e1" in proc.acked(), what="the ack")
    requests = [m["params"] for m in proc.raw_messages() if m.get("method") == "kv.get"]
    assert requests == [
        {"key": "in-delivery", "_event_id": "e1", "_pool_discord_srv_id": "77"},
        {"key": "in-a-thread"},  # a thread the handler starts is not the delivery
    ]


def test_a_maidcore_host_also_gets_the_server_of_every_call(spawn):
    """Booted with ``host_scheduler: true`` (what a maidcore host sends), requests name their server too."""
    proc = spawn(POOL, responder=lambda m: {"jsonrpc": "2.0", "id": m["id"], "result": {}})
    proc.boot(mode="pool", host_scheduler=True)
    proc.event("message_create", {}, event_id="e1", discord_srv_id="77", capabilities=["storage:kv"])
    proc.wait_until(lambda: "e1" in proc.acked(), what="the ack")
    first = next(m["params"] for m in proc.raw_messages() if m.get("method") == "kv.get")
    assert first == {"key": "in-delivery", "_event_id": "e1", "_pool_discord_srv_id": "77", "discord_srv_id": "77"}
