"""Notes Showcase: one plugin touching SQL, KV, ephemeral counters, metrics and a dashboard.

``!note <text>`` stores a note (SQL) and counts it (KV, metrics); a member may
add one note every 10 seconds (an ephemeral sliding-window counter). ``!notes`` lists the latest
five; ``/notes query:<text>`` searches them.
"""

from yourbot_sdk import Plugin

plugin = Plugin()

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS notes ("
    "id BIGSERIAL PRIMARY KEY, author_id TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL)"
)
COOLDOWN_SECONDS = 10


@plugin.on_ready
def create_schema(ctx):
    ctx.sql.execute(SCHEMA)


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event.get("author_bot"):
        return
    content = event.get("content", "").strip()
    if content.startswith("!note "):
        add_note(ctx, event, content[len("!note ") :].strip())
    elif content == "!notes":
        rows = ctx.sql.query("SELECT body FROM notes ORDER BY id DESC LIMIT $1", [5])
        lines = [f"- {row['body']}" for row in rows] or ["No notes yet."]
        ctx.discord.send_message(channel_id=event["channel_id"], content="\n".join(lines))


def add_note(ctx, event, body):
    author = event["author_id"]
    if not body:
        return
    # counter() is atomic: of two notes sent at once, only one counts 1 within the window
    if ctx.ephemeral.counter(f"note:{author}", COOLDOWN_SECONDS) > 1:
        ctx.discord.send_message(channel_id=event["channel_id"], content="One note every 10 seconds, please.")
        return
    ctx.sql.execute(
        "INSERT INTO notes (author_id, body, created_at) VALUES ($1, $2, $3)",
        [author, body[:500], event["timestamp"]],
    )
    total = ctx.kv.increment("notes_total")
    ctx.metrics.record("notes.added", 1, tags={"channel": event["channel_id"]})
    ctx.discord.send_message(channel_id=event["channel_id"], content=f"Noted (#{total}).")


@plugin.on_slash_command("notes")
def search(ctx, event):
    query = next((o["value"] for o in event.get("options", []) if o.get("name") == "query"), "")
    rows = ctx.sql.query("SELECT body FROM notes WHERE body LIKE $1 ORDER BY id DESC LIMIT 10", [f"%{query}%"])
    text = "\n".join(f"- {row['body']}" for row in rows) or f"No note mentions {query!r}."
    ctx.interaction.respond(content=text, ephemeral=True)


@plugin.on_dashboard("total")
def total(ctx, params):
    return {"value": ctx.kv.get("notes_total") or 0, "change": ""}


@plugin.on_dashboard("per_day")
def per_day(ctx, params):
    return ctx.metrics.query("notes.added", period="30d", aggregate="sum")


@plugin.on_dashboard("latest")
def latest(ctx, params):
    # a dashboard may be the first request a worker serves, and on_ready runs before events only
    ctx.sql.execute(SCHEMA)
    rows = ctx.sql.query("SELECT author_id, body, created_at FROM notes ORDER BY id DESC LIMIT 20")
    return {"rows": list(rows), "total": ctx.sql.scalar("SELECT COUNT(*) FROM notes") or 0}


if __name__ == "__main__":
    plugin.run()
