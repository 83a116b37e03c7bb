"""The plugin the runtime scenarios run on each SDK: one handler of every kind, each logging what it saw.

Started as ``python scenario_plugin.py <sdk import name>``. Handlers log through ``ctx.log`` (so
the log lines are part of the recorded protocol) and make one KV call where the correlation
ids of that kind of delivery matter.
"""

from __future__ import annotations

import importlib
import json
import sys

sdk = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "yourbot_sdk")
plugin = sdk.Plugin()


def _seen(ctx, what, payload=None):
    text = f"{what} srv={ctx.server_id} rid={ctx.request_id}"
    if payload is not None:
        text += " " + json.dumps(payload, sort_keys=True)
    ctx.log(text)


@plugin.on_ready
def ready(ctx):
    _seen(ctx, "ready")
    ctx.kv.get("ready")


@plugin.on_event("message_create")
def message(ctx, event):
    _seen(ctx, "message", event)
    if event.get("boom"):
        raise ValueError("boom")
    if event.get("call"):
        ctx.kv.get("message")


@plugin.on_event("message_create")
def message_second(ctx, event):
    ctx.log("second handler ran")


@plugin.on_slash_command("hello")
def hello(ctx, event):
    _seen(ctx, "slash")
    ctx.interaction.respond(content="hi")


@plugin.on_component("btn")
def button(ctx, event):
    _seen(ctx, "component")


@plugin.on_component(prefix="page:")
def pager(ctx, event):
    _seen(ctx, "prefix " + event.get("custom_id", ""))


@plugin.on_modal_submit("form")
def form(ctx, event):
    _seen(ctx, "modal", event.get("modal_values"))


@plugin.cron("*/5 * * * *")
def every_five(ctx):
    _seen(ctx, "cron every_five")
    ctx.kv.get("cron")


@plugin.on_dashboard("stats")
def stats(ctx, params):
    ctx.kv.get("dashboard")
    return {"params": params, "server": ctx.server_id}


@plugin.on_dashboard("broken")
def broken(ctx, params):
    raise RuntimeError("dashboard failed")


@plugin.on_install
def installed(ctx):
    _seen(ctx, "install")
    ctx.kv.get("install")


@plugin.on_disable
def disabled(ctx):
    _seen(ctx, "disable")


@plugin.on_ws_message("feed:*")
def feed(ctx, msg):
    _seen(ctx, "ws feed:*", msg)
    ctx.kv.get("ws")


@plugin.on_ws_message("feed:exact")
def feed_exact(ctx, msg):
    _seen(ctx, "ws feed:exact", msg)


@plugin.on_ws_open("feed:*")
def feed_open(ctx):
    _seen(ctx, "ws open")


@plugin.on_ws_close("feed:*")
def feed_close(ctx, info):
    _seen(ctx, "ws close", info)


plugin.run()
