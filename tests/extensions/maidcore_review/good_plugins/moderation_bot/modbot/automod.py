"""Messages that break a rule are deleted; a member who keeps at it gets warned."""

from . import actions, config, filters
from .app import plugin

STRIKE_WINDOW = 600


@plugin.on_ready
def prepare(ctx):
    from . import cases

    cases.migrate(ctx)


@plugin.on_event("message_create")
def check_message(ctx, event):
    if event.get("author_bot") or not event.get("content"):
        return
    settings = config.load(ctx)
    reason = filters.first_violation(event["content"], settings)
    if reason is None:
        return
    actions.remove_message(ctx, event, reason)
    strikes = ctx.ephemeral.counter(f"automod:{event['author_id']}", STRIKE_WINDOW)
    if strikes >= 3:
        actions.warn(ctx, event["author_id"], "automod", f"automod: {reason} ({strikes} times)")
