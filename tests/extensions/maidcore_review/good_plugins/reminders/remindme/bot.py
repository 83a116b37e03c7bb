from datetime import UTC, datetime

from mmo_maid_sdk import Plugin

from . import db, when

plugin = Plugin()


def utcnow() -> datetime:
    return datetime.now(UTC)


def option(event, name):
    return next((o.get("value") for o in event.get("options", []) if o.get("name") == name), None)


@plugin.on_ready
def schema(ctx):
    ctx.sql.execute(db.CREATE)


@plugin.on_slash_command("remind")
def remind(ctx, event):
    now = utcnow()
    try:
        due = when.parse(str(option(event, "when")), now)
    except ValueError as exc:
        ctx.interaction.respond(content=str(exc), ephemeral=True)
        return
    if due <= now:
        ctx.interaction.respond(content="That time has passed.", ephemeral=True)
        return
    pending = ctx.sql.query(db.PENDING_FOR, [event["user_id"]])
    if len(pending) >= db.MAX_PENDING:
        ctx.interaction.respond(content=f"You already have {db.MAX_PENDING} reminders.", ephemeral=True)
        return
    text = str(option(event, "what"))[:1000]
    ctx.sql.execute(db.INSERT, [event["user_id"], event["channel_id"], due.isoformat(timespec="seconds"), text])
    ctx.interaction.respond(content=f"I'll remind you in {when.humanise(due - now)}.", ephemeral=True)


@plugin.on_slash_command("reminders")
def list_reminders(ctx, event):
    rows = ctx.sql.query(db.PENDING_FOR, [event["user_id"]])
    lines = [f"`{row['id']}` {row['due_at'][:16].replace('T', ' ')} UTC - {row['text'][:80]}" for row in rows]
    ctx.interaction.respond(content="\n".join(lines) or "Nothing pending.", ephemeral=True)


@plugin.on_slash_command("forget")
def forget(ctx, event):
    removed = ctx.sql.execute(db.DELETE_OWN, [int(option(event, "id")), event["user_id"]])
    ctx.interaction.respond(content="Cancelled." if removed else "No such reminder of yours.", ephemeral=True)


@plugin.cron("*/5 * * * *")
def deliver(ctx):
    now = utcnow().isoformat(timespec="seconds")
    for row in ctx.sql.query(db.DUE, [now, db.BATCH]):
        ctx.discord.send_message(channel_id=row["channel_id"], content=f"⏰ <@{row['user_id']}>: {row['text']}")
        ctx.sql.execute(db.MARK_SENT, [row["id"]])
