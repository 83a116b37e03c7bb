"""Alerts page."""

from .. import keys
from ..plugin import plugin


@plugin.on_dashboard("alert_settings")
def alert_settings(ctx, params):
    return {"values": ctx.kv.get(keys.ALERT_SETTINGS) or {"channel": "", "min_messages": 0}}


@plugin.on_dashboard("save_alert_settings")
def save_alert_settings(ctx, params):
    values = params.get("values") or {}
    channel = str(values.get("channel") or "").strip()
    if channel and not channel.isdigit():
        return {"ok": False, "error": "the channel must be a channel id"}
    ctx.kv.set(keys.ALERT_SETTINGS, {"channel": channel, "min_messages": max(0, int(values.get("min_messages") or 0))})
    return {"ok": True}


@plugin.on_dashboard("alert_log")
def alert_log(ctx, params):
    rows = list(reversed(ctx.kv.get(keys.ALERTS) or []))
    return {"rows": rows, "total": len(rows)}
