"""Dashboard: the card form and a joins-per-day chart (last 14 days from KV counters)."""

from datetime import date, timedelta

from .card import CardSettings
from .core import plugin

DAYS = 14


@plugin.on_dashboard("card_settings")
def card_settings(ctx, params):
    settings = CardSettings.load(ctx.kv)
    return {"values": {**settings.__dict__, "starter_roles": ", ".join(settings.starter_roles)}}


@plugin.on_dashboard("save_card_settings")
def save_card_settings(ctx, params):
    values = params.get("values") or {}
    settings = CardSettings.load(ctx.kv)
    settings.title = str(values.get("title") or settings.title)[:256]
    settings.message = str(values.get("message") or settings.message)[:1500]
    settings.color = str(values.get("color") or settings.color)
    settings.starter_roles = [r.strip() for r in str(values.get("starter_roles", "")).split(",") if r.strip().isdigit()]
    settings.save(ctx.kv)
    return {"ok": True}


@plugin.on_dashboard("joins")
def joins(ctx, params):
    today = date.today()
    days = [(today - timedelta(days=i)).isoformat() for i in reversed(range(DAYS))]
    counts = ctx.kv.get_many([f"joins:{d}" for d in days])
    return {"labels": days, "datasets": [{"label": "Joins", "data": [counts.get(f"joins:{d}") or 0 for d in days]}]}
