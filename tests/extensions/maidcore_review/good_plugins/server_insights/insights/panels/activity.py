"""Overview page."""

from ..plugin import plugin


def series(result, label):
    points = result if isinstance(result, list) else (result or {}).get("points", [])
    return {
        "labels": [p.get("bucket") or p.get("time") for p in points],
        "datasets": [{"label": label, "data": [p.get("value", 0) for p in points]}],
    }


@plugin.on_dashboard("messages_today")
def messages_today(ctx, params):
    return {"value": ctx.metrics.total("messages", period="1d"), "change": ""}


@plugin.on_dashboard("joins_week")
def joins_week(ctx, params):
    return {"value": ctx.metrics.total("joins", period="7d"), "change": ""}


@plugin.on_dashboard("member_count")
def member_count(ctx, params):
    guild = ctx.discord.get_guild() or {}
    return {"value": guild.get("member_count") or guild.get("approximate_member_count") or 0, "change": ""}


@plugin.on_dashboard("messages_per_day")
def messages_per_day(ctx, params):
    period = params.get("period") if params.get("period") in ("7d", "30d", "90d") else "30d"
    return series(ctx.metrics.query("messages", period=period, aggregate="sum"), "Messages")


@plugin.on_dashboard("churn")
def churn(ctx, params):
    joins = series(ctx.metrics.query("joins", period="30d"), "Joins")
    leaves = series(ctx.metrics.query("leaves", period="30d"), "Leaves")
    return {"labels": joins["labels"], "datasets": joins["datasets"] + leaves["datasets"]}


@plugin.on_dashboard("busiest_hours")
def busiest_hours(ctx, params):
    hours = [f"{h:02d}" for h in range(24)]
    counts = ctx.kv.get_many([f"hour:{h}" for h in hours])
    return {"labels": hours, "datasets": [{"label": "Messages", "data": [counts.get(f"hour:{h}") or 0 for h in hours]}]}
