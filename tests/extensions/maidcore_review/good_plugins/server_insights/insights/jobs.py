"""Scheduled work: the hourly rollup and the quiet-server alert."""

from datetime import UTC, datetime

from . import keys
from .plugin import plugin


@plugin.cron("5 * * * *")
def hourly_rollup(ctx):
    pending = ctx.kv.get(keys.PENDING) or 0
    ctx.metrics.record("messages.hourly", pending)
    ctx.kv.set(keys.PENDING, 0)


@plugin.cron("*/30 * * * *")
def activity_alert(ctx):
    settings = ctx.kv.get(keys.ALERT_SETTINGS) or {}
    channel, floor = settings.get("channel"), int(settings.get("min_messages") or 0)
    if not channel or not floor:
        return
    recent = ctx.metrics.total("messages", period="1h") / 2
    if recent < floor:
        stamp = datetime.now(UTC).isoformat(timespec="minutes")
        ctx.discord.send_message(channel_id=channel, content=f"It's quiet: about {recent:.0f} messages in 30 minutes.")
        log = (ctx.kv.get(keys.ALERTS) or [])[-19:]
        ctx.kv.set(keys.ALERTS, [*log, {"at": stamp, "messages": recent}])
