"""Counting what happens: metrics for series, KV for per-user and per-channel tallies."""

from . import keys
from .plugin import plugin


class Tally:
    """Increments the day's counters in KV for one context."""

    def __init__(self, ctx):
        self.kv = ctx.kv
        self.day = keys.day_stamp()

    def bump(self, prefix: str, name: str) -> int:
        return self.kv.increment(f"{prefix}{self.day}:{name}")


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event.get("author_bot"):
        return
    tally = Tally(ctx)
    tally.bump(keys.POSTER, event["author_id"])
    tally.bump(keys.CHANNEL, event["channel_id"])
    ctx.kv.increment(keys.PENDING)
    ctx.kv.increment(keys.HOUR + event.get("timestamp", "T00")[11:13])
    ctx.metrics.record("messages", 1, tags={"channel": event["channel_id"]})


@plugin.on_event("member_join")
def on_join(ctx, event):
    ctx.metrics.record("joins", 1)


@plugin.on_event("member_leave")
def on_leave(ctx, event):
    ctx.metrics.record("leaves", 1)
