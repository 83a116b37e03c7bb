"""The plugin the compatibility matrix runs on every SDK line: it uses everything its SDK offers.

One source for every line: it imports the SDK the way that line's authors do (``mmo_maid_sdk`` on
0.5.x, ``yourbot_sdk`` from 0.6 and on ours) and asks the context what it has, so each line
exercises exactly its own surface. Every call's outcome is written to KV (``report:<step>``) for
the test to check: ``{"ok": result}`` or ``{"error": class, ...}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SOURCE = r"""
import base64
import json
import time

import __MODULE__ as sdk

PID = "__PID__"
CHANNEL = "__CHANNEL__"
LOCKED = "__LOCKED__"
TARGET = "__TARGET__"
ROLE = "__ROLE__"
API = "http://api.compat.test:__HTTP_PORT__"
FEED = "ws://feed.compat.test:__WS_PORT__/feed"
VERSION = tuple(int(p) for p in sdk.__version__.split(".")[:3])
plugin = sdk.Plugin()


def plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        out = [plain(v) for v in value]
        return sorted(out, key=str) if isinstance(value, set) else out
    return repr(value)


def unwrap(value, key):
    # 0.5.2 hands back some results still wrapped in their RPC result key ({"channel": {...}})
    return value[key] if isinstance(value, dict) and isinstance(value.get(key), dict) else value


def outcome(fn):
    try:
        value = fn()
    except Exception as exc:  # the error as the SDK decoded it
        return {
            "error": type(exc).__name__,
            "classes": [c.__name__ for c in type(exc).__mro__],
            "code": getattr(exc, "code", None),
            "retry_after": getattr(exc, "retry_after", None),
            "permission": getattr(exc, "permission", None),
            "status_code": getattr(exc, "status_code", None),
            "message": str(exc)[:300],
        }
    return {"ok": plain(value)}


def report(ctx, name, results):
    ctx.kv.set("report:" + name, results)


def run_battery(ctx):
    r = {}
    kv, d = ctx.kv, ctx.discord
    r["kv.set"] = outcome(lambda: kv.set("a", {"n": 1}, ttl_seconds=600))
    r["kv.get"] = outcome(lambda: kv.get("a"))
    r["kv.increment"] = outcome(lambda: kv.increment("stats", amount=2, path="x.y"))
    r["kv.decrement"] = outcome(lambda: kv.decrement("down", 3))
    r["kv.set_many"] = outcome(lambda: kv.set_many({"p:1": 1, "p:2": 2, "p:3": 3}))
    r["kv.get_many"] = outcome(lambda: kv.get_many(["p:1", "p:3", "missing"]))
    r["kv.list"] = outcome(lambda: kv.list("p:", 2))
    r["kv.list_values"] = outcome(lambda: kv.list_values("p:", 10))
    r["kv.count"] = outcome(lambda: kv.count("p:"))
    r["kv.exists"] = outcome(lambda: [kv.exists("p:1"), kv.exists("nope")])
    r["kv.delete"] = outcome(lambda: kv.delete("p:2"))
    if VERSION >= (0, 9, 0) or sdk.__name__ == "mmo_maid_sdk" and VERSION >= (0, 5, 5):
        r["kv.list.start_after"] = outcome(lambda: kv.list("p:", 10, start_after="p:1"))
    r["sql.execute"] = outcome(lambda: ctx.sql.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER, s TEXT)"))
    r["sql.insert"] = outcome(lambda: ctx.sql.execute("INSERT INTO t (n, s) VALUES ($1, $2)", [7, "seven"]))
    r["sql.query"] = outcome(lambda: ctx.sql.query("SELECT n, s FROM t ORDER BY n", limit=5))
    r["sql.query.truncated"] = outcome(lambda: getattr(ctx.sql.query("SELECT n FROM t", limit=1), "truncated", None))
    r["sql.query_one"] = outcome(lambda: ctx.sql.query_one("SELECT s FROM t WHERE n = $1", [7]))
    r["sql.scalar"] = outcome(lambda: ctx.sql.scalar("SELECT COUNT(*) FROM t"))
    e = ctx.ephemeral
    r["ephemeral.counter"] = outcome(lambda: [e.counter("c", 60), e.counter("c", 60)])
    r["ephemeral.cooldown"] = outcome(lambda: (e.cooldown_set("cd", 60), e.cooldown_check("cd")["active"])[1])
    r["ephemeral.dedup"] = outcome(lambda: [e.dedup("d", 60), e.dedup("d", 60)])
    r["ephemeral.flag"] = outcome(lambda: (e.flag_set("f", 60), e.flag_check("f"), e.flag_check("g"))[1:])
    r["metrics.record"] = outcome(lambda: ctx.metrics.record("battery_runs", 2, {"line": PID}))
    r["metrics.total"] = outcome(lambda: ctx.metrics.total("battery_runs", period="24h"))
    r["metrics.query"] = outcome(lambda: ctx.metrics.query("battery_runs", period="24h", aggregate="sum")["total"])
    if hasattr(ctx, "secrets"):
        r["secrets.set"] = outcome(lambda: ctx.secrets.set("token", "hunter2"))
        r["secrets.get"] = outcome(lambda: ctx.secrets.get("token"))
        r["secrets.delete"] = outcome(lambda: (ctx.secrets.delete("token"), ctx.secrets.get("token"))[1])
    r["http.get"] = outcome(lambda: json.loads(ctx.http.get(API + "/echo?x=1")["body_bytes"])["path"])
    r["http.post"] = outcome(lambda: json.loads(ctx.http.post(API + "/echo", body="hi")["body_bytes"])["body"])
    r["http.undeclared"] = outcome(lambda: ctx.http.get("http://private.compat.test/"))
    if "secret_auth" in ctx.http.request.__code__.co_varnames:
        r["http.secret_auth"] = outcome(
            lambda: json.loads(ctx.http.request("GET", API + "/echo", secret_auth="API_TOKEN")["body_bytes"])[
                "headers"
            ].get("authorization")
        )
    sent = outcome(lambda: d.send_message(channel_id=CHANNEL, content="hello from " + PID))
    r["discord.send_message"] = sent
    mid = (sent.get("ok") or {}).get("message_id")
    if "allowed_mentions" in d.send_message.__code__.co_varnames:
        r["discord.send_message.mentions"] = outcome(
            lambda: d.send_message(
                channel_id=CHANNEL, content="<@" + TARGET + "> @everyone", allowed_mentions={"parse": ["everyone"]}
            )["message_id"]
        )
    r["discord.edit_message"] = outcome(lambda: d.edit_message(channel_id=CHANNEL, message_id=mid, content="edited"))
    r["discord.add_reaction"] = outcome(lambda: d.add_reaction(channel_id=CHANNEL, message_id=mid, emoji="\U0001F44D"))
    r["discord.pin_message"] = outcome(lambda: d.pin_message(channel_id=CHANNEL, message_id=mid))
    r["discord.unpin_message"] = outcome(lambda: d.unpin_message(channel_id=CHANNEL, message_id=mid))
    r["discord.get_messages"] = outcome(lambda: [m["id"] for m in d.get_messages(channel_id=CHANNEL, limit=5)])
    if hasattr(d, "iter_messages"):
        r["discord.iter_messages"] = outcome(
            lambda: len(list(d.iter_messages(channel_id=CHANNEL, batch_size=2)))
        )
    r["discord.get_guild"] = outcome(lambda: d.get_guild()["id"])
    r["discord.get_channel"] = outcome(lambda: d.get_channel(channel_id=CHANNEL)["name"])
    r["discord.list_channels"] = outcome(lambda: sorted(c["name"] for c in d.list_channels()))
    r["discord.get_member"] = outcome(lambda: d.get_member(user_id=TARGET)["user_id"])
    r["discord.list_members"] = outcome(lambda: len(d.list_members(limit=100)) >= 3)
    r["discord.search_members"] = outcome(lambda: [m["user_id"] for m in d.search_members("target_" + PID)])
    r["discord.list_roles"] = outcome(lambda: ROLE in [x["id"] for x in d.list_roles()])
    made = outcome(lambda: unwrap(d.create_channel(name="ch-" + PID.replace("_", "-"), topic="made"), "channel"))
    r["discord.create_channel"] = made
    cid = (made.get("ok") or {}).get("id")
    r["discord.edit_channel"] = outcome(
        lambda: unwrap(d.edit_channel(channel_id=cid, topic="changed"), "channel")["id"] == cid
    )
    r["discord.set_channel_permissions"] = outcome(
        lambda: d.set_channel_permissions(channel_id=cid, target_id=TARGET, allow="1024", target_type=1)
    )
    r["discord.delete_channel_permission"] = outcome(
        lambda: d.delete_channel_permission(channel_id=cid, target_id=TARGET)
    )
    thread = outcome(lambda: unwrap(d.create_thread(channel_id=cid, name="t-" + PID), "thread"))
    r["discord.create_thread"] = thread
    r["discord.edit_thread"] = outcome(lambda: d.edit_thread(thread_id=thread["ok"]["id"], archived=True))
    hook = outcome(lambda: unwrap(d.create_webhook(channel_id=cid, name="hook"), "webhook"))
    r["discord.create_webhook"] = hook
    r["discord.execute_webhook"] = outcome(
        lambda: "message_id" in d.execute_webhook(
            webhook_id=hook["ok"]["id"], webhook_token=hook["ok"]["token"], content="via hook"
        )
    )
    r["discord.delete_webhook"] = outcome(lambda: d.delete_webhook(webhook_id=hook["ok"]["id"]))
    r["discord.delete_channel"] = outcome(lambda: d.delete_channel(channel_id=cid))
    extra = outcome(lambda: d.send_message(channel_id=CHANNEL, content="to delete")["message_id"])
    r["discord.delete_message"] = outcome(lambda: d.delete_message(channel_id=CHANNEL, message_id=extra["ok"]))
    pair = [d.send_message(channel_id=CHANNEL, content=str(i))["message_id"] for i in range(2)]
    r["discord.bulk_delete_messages"] = outcome(lambda: d.bulk_delete_messages(channel_id=CHANNEL, message_ids=pair))
    r["discord.timeout_member"] = outcome(lambda: d.timeout_member(user_id=TARGET, duration_seconds=60))
    r["discord.timeout_bulk"] = outcome(lambda: d.timeout_bulk(user_ids=[TARGET], duration_seconds=0)["success"])
    r["discord.set_nickname"] = outcome(lambda: d.set_nickname(user_id=TARGET, nickname="nick-" + PID))
    r["discord.add_role"] = outcome(lambda: d.add_role(user_id=TARGET, role_id=ROLE))
    r["discord.remove_role"] = outcome(lambda: d.remove_role(user_id=TARGET, role_id=ROLE))
    r["discord.add_role_bulk"] = outcome(lambda: d.add_role_bulk(user_ids=[TARGET], role_id=ROLE)["success"])
    r["discord.remove_role_bulk"] = outcome(lambda: d.remove_role_bulk(user_ids=[TARGET], role_id=ROLE)["success"])
    r["discord.ban_member"] = outcome(lambda: d.ban_member(user_id=TARGET, reason="matrix"))
    r["discord.unban_member"] = outcome(lambda: d.unban_member(user_id=TARGET))
    locked = d.send_message(channel_id=LOCKED, content="pin me")["message_id"]
    r["error.permission"] = outcome(lambda: d.pin_message(channel_id=LOCKED, message_id=locked))
    r["error.validation"] = outcome(lambda: kv.get("k" * 300))
    r["error.capability"] = outcome(lambda: d.kick_member(user_id=TARGET))
    r["error.capability.bulk"] = outcome(lambda: d.kick_bulk(user_ids=[TARGET]))
    r["error.rate_limit"] = outcome(lambda: [ctx.http.get(API + "/echo") for _ in range(5)])
    r["ctx"] = {"server_id": ctx.server_id, "plugin_id": ctx.plugin_id, "version": ctx.version}
    report(ctx, "battery", r)


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event.get("author_bot"):
        return
    if event.get("content") == "!" + PID + " run":
        run_battery(ctx)
    elif event.get("content") == "!" + PID + " ws" and hasattr(ctx, "ws"):
        auth = {"secret_auth": "FEED_TOKEN"} if VERSION >= (0, 8, 0) else {}
        subscribe = ["hello", {"op": "sub"}]
        report(ctx, "ws.ensure", outcome(lambda: ctx.ws.ensure("feed", FEED, subscribe=subscribe, **auth)))
    elif event.get("content") == "!" + PID + " ws close" and hasattr(ctx, "ws"):
        report(ctx, "ws.close", outcome(lambda: ctx.ws.close("feed")))
    elif event.get("content") == "!" + PID + " extra":
        report(ctx, "http.extra", outcome(lambda: ctx.http.get("http://extra.compat.test:__HTTP_PORT__/echo")["status"]))


if hasattr(plugin, "on_ws_message"):

    @plugin.on_ws_message("feed")
    def on_feed(ctx, msg):
        ctx.kv.increment("ws:frames")
        if msg.get("data") == "ping":
            ctx.ws.send("feed", "pong")
        if msg.get("binary"):
            ctx.kv.set("ws:binary", msg["data"])
        ctx.kv.set("ws:last", msg.get("data"))

    @plugin.on_ws_open("feed")
    def on_feed_open(ctx, *args):
        ctx.kv.increment("ws:opened")

    @plugin.on_ws_close("feed")
    def on_feed_close(ctx, *args):
        ctx.kv.set("ws:closed", plain(args[0]) if args else True)


@plugin.on_slash_command(PID)
def on_command(ctx, event):
    row = sdk.ActionRow(sdk.Button("Vote", custom_id=PID + ":vote"), sdk.Button("Tell", custom_id=PID + ":tell"))
    ctx.interaction.respond(content="board 0", components=[row], allowed_mentions={"parse": []})
    ctx.kv.set("command:user", event.get("user_id"))


@plugin.on_slash_command(PID + "-admin")
def on_admin(ctx, event):
    r = {}
    if hasattr(ctx, "ws") and hasattr(ctx.ws, "allow_host"):
        r["ws.allow_host"] = outcome(lambda: ctx.ws.allow_host("feed2.compat.test"))
        r["ws.revoke_host"] = outcome(lambda: ctx.ws.revoke_host("feed2.compat.test"))
    if hasattr(ctx.http, "allow_host"):
        r["http.allow_host"] = outcome(lambda: ctx.http.allow_host("extra.compat.test"))
        r["http.private"] = outcome(lambda: ctx.http.allow_host("private.compat.test"))
        r["http.allow_host.2"] = outcome(lambda: ctx.http.allow_host("extra2.compat.test"))
        r["http.revoke_host"] = outcome(lambda: ctx.http.revoke_host("extra2.compat.test"))
    ctx.interaction.defer(ephemeral=True)
    r["followup"] = outcome(lambda: sorted(ctx.interaction.followup(content="admin done") or {}))
    report(ctx, "admin:" + str(event.get("user_id")), r)


@plugin.on_component(PID + ":vote")  # 0.5.2 matches exact custom ids only
def on_vote(ctx, event):
    if "update_message" in ctx.interaction.respond.__code__.co_varnames:
        ctx.interaction.respond(content="board 1", components=[], update_message=True)
        ctx.kv.set("vote:answer", "update")
    else:
        ctx.interaction.respond(content="vote counted", ephemeral=True)
        ctx.kv.set("vote:answer", "reply")
    ctx.kv.increment("votes")


@plugin.on_component(PID + ":tell")
def on_tell(ctx, event):
    ctx.interaction.send_modal(title="Tell", custom_id=PID + ":modal", fields=[sdk.TextInput("What", "what")])


@plugin.on_dashboard("stats")
def stats(ctx, params):
    return {"value": ctx.kv.increment("dashboard_views"), "server": ctx.server_id}


@plugin.on_enable
def enabled(ctx):
    ctx.kv.set("lifecycle:enable", ctx.server_id)


@plugin.on_disable
def disabled(ctx):
    ctx.kv.set("lifecycle:disable", ctx.server_id)


@plugin.cron("*/5 * * * *")
def every_five(ctx):
    ctx.kv.increment("cron:every_five")


if __name__ == "__main__":
    plugin.run()
"""


def write(
    root: Path,
    plugin_id: str,
    *,
    channel: str,
    locked: str,
    target: str,
    role: str,
    http_port: int,
    ws_port: int,
    module: str = "yourbot_sdk",
) -> Path:
    """A bundle for ``plugin_id``: manifest (every capability, proxy and ws hosts, cron, commands) and the code."""
    bundle = root / plugin_id
    bundle.mkdir(parents=True, exist_ok=True)
    code = SOURCE
    for key, value in {
        "__PID__": plugin_id,
        "__CHANNEL__": channel,
        "__LOCKED__": locked,
        "__TARGET__": target,
        "__ROLE__": role,
        "__HTTP_PORT__": str(http_port),
        "__WS_PORT__": str(ws_port),
        "__MODULE__": module,
    }.items():
        code = code.replace(key, value)
    (bundle / "__main__.py").write_text(code, encoding="utf-8")
    manifest: dict[str, Any] = {
        "id": plugin_id,
        "name": plugin_id,
        "version": "1.0.0",
        "description": "Compatibility matrix plugin.",
        "capabilities_required": CAPABILITIES,
        "proxy_domains_requested": ["api.compat.test", "feed.compat.test"],
        "slash_commands": [
            {"name": plugin_id, "description": "Board"},
            {"name": plugin_id + "-admin", "description": "Admin"},
        ],
        "cron": [{"name": "every_five", "spec": "*/5 * * * *"}],
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return bundle


#: What the matrix plugins ask for; kick_members is left out so a call needing it is refused.
CAPABILITIES = [
    "storage:kv",
    "storage:sql",
    "storage:secrets",
    "discord:send_message",
    "discord:edit_message",
    "discord:add_reaction",
    "discord:read",
    "discord:delete_message",
    "discord:manage_channels",
    "discord:manage_webhooks",
    "discord:moderate_members",
    "discord:ban_members",
    "discord:manage_roles",
    "interaction:respond",
    "proxy:http",
    "proxy:websocket",
]
