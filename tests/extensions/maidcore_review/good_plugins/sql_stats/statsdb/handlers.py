"""Recording, reporting and pruning."""

from datetime import date, timedelta

from mmo_maid_sdk import Plugin

from . import migrate, query, tables

plugin = Plugin()

RECORD_MESSAGE = (
    f"INSERT INTO {tables.MESSAGES} (message_id, channel_id, author_id, words, day) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING"
)
RECORD_DAILY = (
    f"INSERT INTO {tables.DAILY} (day, channel_id, messages, words) VALUES ($1, $2, 1, $3) "
    "ON CONFLICT (day, channel_id) DO UPDATE SET messages = messages + 1, words = words + $3"
)


@plugin.on_ready
def ready(ctx):
    migrate.run(ctx)


@plugin.on_event("message_create")
def record(ctx, event):
    if event["author_bot"]:
        return
    words = len(event.get("content", "").split())
    day = event["timestamp"][:10]
    ctx.sql.execute(RECORD_MESSAGE, [event["message_id"], event["channel_id"], event["author_id"], words, day])
    ctx.sql.execute(RECORD_DAILY, [day, event["channel_id"], words])


@plugin.on_event("message_edit")
def edited(ctx, event):
    ctx.sql.execute(f"UPDATE {tables.MESSAGES} SET edited = edited + 1 WHERE message_id = $1", [event["message_id"]])


@plugin.on_event("reaction_add")
def reaction(ctx, event):
    if event.get("user_bot"):
        return
    ctx.sql.execute(
        f"INSERT INTO {tables.REACTIONS} (message_id, user_id, emoji, day) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING",
        [event["message_id"], event["user_id"], event["emoji"], date.today().isoformat()],
    )


@plugin.on_slash_command("activity")
def activity(ctx, event):
    args = {o["name"]: o.get("value") for o in event.get("options", [])}
    sql, params = query.top_members(
        channel=args.get("channel"),
        member=args.get("member"),
        period=args.get("period", "week"),
        sort=args.get("sort", "messages"),
    )
    rows = ctx.sql.query(sql, params)
    lines = [f"<@{r['author_id']}>: {r['messages']} messages, {r['words'] or 0} words" for r in rows]
    ctx.interaction.respond(content="\n".join(lines) or "No messages in that period.", allowed_mentions={"parse": []})


@plugin.cron("30 4 * * *")
def prune(ctx):
    cutoff = (date.today() - timedelta(days=tables.RETENTION_DAYS)).isoformat()
    for table in (tables.MESSAGES, tables.REACTIONS, tables.DAILY):
        ctx.sql.execute(f"DELETE FROM {table} WHERE day < $1", [cutoff])


def messages_in_channels(ctx, channel_ids):
    clause, params = query.in_list("channel_id", channel_ids)
    return ctx.sql.scalar(f"SELECT COUNT(*) FROM {tables.MESSAGES} WHERE {clause}", params)
