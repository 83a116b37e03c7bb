"""Dashboard handlers: recent cases, a weekly total, and the automod settings form."""

from datetime import UTC, datetime, timedelta

from . import cases, config
from .app import plugin
from .schema import CASES


@plugin.on_dashboard("recent_cases")
def recent_cases(ctx, params):
    rows = cases.recent(ctx, action=params.get("action") or None)
    return {"rows": rows, "total": len(rows)}


@plugin.on_dashboard("week_total")
def week_total(ctx, params):
    since = (datetime.now(UTC) - timedelta(days=7)).isoformat(timespec="seconds")
    total = ctx.sql.scalar(f"SELECT COUNT(*) FROM {CASES} WHERE created_at >= $1", [since]) or 0
    return {"value": total, "change": ""}


@plugin.on_dashboard("settings")
def settings_form(ctx, params):
    settings = config.load(ctx)
    values = settings.to_dict()
    values["banned_words"] = ", ".join(settings.banned_words)
    return {"values": values}


@plugin.on_dashboard("save_settings")
def save_settings(ctx, params):
    values = params.get("values", {})
    settings = config.load(ctx)
    words = [w.strip() for w in str(values.get("banned_words", "")).split(",") if w.strip()]
    settings.banned_words = words[:200]
    settings.block_invites = bool(values.get("block_invites", settings.block_invites))
    settings.log_channel = str(values["log_channel"]) if values.get("log_channel") else None
    config.save(ctx, settings)
    return {"ok": True}
