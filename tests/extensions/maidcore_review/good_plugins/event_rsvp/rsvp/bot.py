from datetime import UTC, datetime, timedelta

from mmo_maid_sdk import ActionRow, Button, Plugin

from . import sql

plugin = Plugin()
LABELS = {"going": "✅ Going", "maybe": "🤔 Maybe", "declined": "❌ Can't"}


def render(ctx, event_id):
    row = ctx.sql.query_one(sql.GET_EVENT, [event_id])
    counts = ctx.sql.query_one(sql.ANSWER_COUNTS, [event_id]) or {}
    going = [r["user_id"] for r in ctx.sql.query(sql.GOING_IN_ORDER, [event_id])]
    capacity = row["capacity"] or 0
    confirmed, waitlist = (going[:capacity], going[capacity:]) if capacity else (going, [])
    text = f"📅 **{row['title']}** - {row['starts_at']} UTC\n"
    text += " · ".join(f"{LABELS[s]}: {counts.get(s) or 0}" for s in sql.STATES)
    if waitlist:
        text += f"\nWaitlist: {len(waitlist)}"
    buttons = ActionRow(*(Button(LABELS[s], f"rsvp:{event_id}:{s}", style="secondary") for s in sql.STATES))
    return row, text, [buttons], confirmed


@plugin.on_ready
def ready(ctx):
    for statement in sql.SCHEMA:
        ctx.sql.execute(statement)


@plugin.on_slash_command("event")
def announce(ctx, event):
    args = {o["name"]: o.get("value") for o in event.get("options", [])}
    try:
        starts = datetime.strptime(str(args["starts"]), "%Y-%m-%d %H:%M")
    except ValueError:
        ctx.interaction.respond(content="Use YYYY-MM-DD HH:MM.", ephemeral=True)
        return
    ctx.sql.execute(
        sql.NEW_EVENT,
        [
            str(args["title"])[:120],
            starts.isoformat(sep=" ", timespec="minutes"),
            int(args.get("capacity") or 0),
            event["channel_id"],
        ],
    )
    event_id = ctx.sql.scalar(sql.LAST_EVENT)
    _, text, components, _ = render(ctx, event_id)
    sent = ctx.discord.send_message(channel_id=event["channel_id"], content=text, components=components)
    ctx.sql.execute(sql.SET_MESSAGE, [str(sent["message_id"]), event_id])
    ctx.interaction.respond(content="Event posted.", ephemeral=True)


@plugin.on_component(prefix="rsvp:")
def answer(ctx, event):
    _, event_id, state = event["custom_id"].split(":")
    if state not in sql.STATES:
        return
    ctx.sql.execute(sql.ANSWER, [int(event_id), event["user_id"], state])
    row, text, components, confirmed = render(ctx, int(event_id))
    ctx.discord.edit_message(
        channel_id=row["channel_id"], message_id=row["message_id"], content=text, components=components
    )
    note = "You're on the waitlist." if state == "going" and event["user_id"] not in confirmed else "Saved."
    ctx.interaction.respond(content=note, ephemeral=True)


@plugin.cron("*/10 * * * *")
def remind_attendees(ctx):
    now = datetime.now(UTC).replace(tzinfo=None)
    window = [
        (now + timedelta(hours=1)).isoformat(sep=" ", timespec="minutes"),
        now.isoformat(sep=" ", timespec="minutes"),
    ]
    for row in ctx.sql.query(sql.DUE_REMINDERS, window):
        _, _, _, confirmed = render(ctx, row["id"])
        if confirmed:
            mentions = " ".join(f"<@{u}>" for u in confirmed)
            ctx.discord.send_message(
                channel_id=row["channel_id"], content=f"⏰ **{row['title']}** starts within the hour! {mentions}"
            )
        ctx.sql.execute(sql.MARK_REMINDED, [row["id"]])
