"""/modwarn, /cases and /modkick."""

from . import actions, cases
from .app import plugin


def option(event, name, default=None):
    return next((o.get("value") for o in event.get("options", []) if o.get("name") == name), default)


@plugin.on_slash_command("modwarn")
def warn_command(ctx, event):
    text = actions.warn(ctx, option(event, "member"), event["user_id"], option(event, "reason", "no reason given"))
    ctx.interaction.respond(content=text, allowed_mentions={"parse": []})


@plugin.on_slash_command("modkick")
def kick_command(ctx, event):
    text = actions.kick(ctx, option(event, "member"), event["user_id"], option(event, "reason", "no reason given"))
    ctx.interaction.respond(content=text, allowed_mentions={"parse": []})


@plugin.on_slash_command("cases")
def cases_command(ctx, event):
    member = option(event, "member")
    rows = cases.for_member(ctx, member)
    if not rows:
        ctx.interaction.respond(content=f"<@{member}> has a clean record.", ephemeral=True)
        return
    lines = [f"#{row['id']} {row['action']} - {row['reason']} ({row['created_at'][:10]})" for row in rows]
    ctx.interaction.respond(content="\n".join(lines), ephemeral=True, allowed_mentions={"parse": []})
