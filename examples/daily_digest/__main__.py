"""Daily Digest: counters kept all day, a host-driven cron posting them each morning, a heartbeat metric."""

from yourbot_sdk import Plugin

plugin = Plugin()

COUNTERS = ("messages", "joins")


@plugin.on_event("message_create")
def count_message(ctx, event):
    if event.get("author_bot"):
        return
    ctx.kv.increment("today.messages")


@plugin.on_event("member_join")
def count_join(ctx, event):
    ctx.kv.increment("today.joins")


@plugin.on_slash_command("digest-channel")
def set_channel(ctx, event):
    channel = next((o["value"] for o in event.get("options", []) if o.get("name") == "channel"), None)
    ctx.kv.set("channel", channel)
    ctx.interaction.respond(content=f"The digest will be posted in <#{channel}>.", ephemeral=True)


@plugin.cron("0 9 * * *")
def morning_digest(ctx):
    channel = ctx.kv.get("channel")
    counts = {name: ctx.kv.get(f"today.{name}") or 0 for name in COUNTERS}
    for name in COUNTERS:
        ctx.kv.delete(f"today.{name}")
    if channel:
        ctx.discord.send_message(
            channel_id=channel,
            content=f"Yesterday: {counts['messages']} messages, {counts['joins']} new members.",
        )


@plugin.cron("*/5 * * * *")
def heartbeat(ctx):
    ctx.metrics.record("digest_pending_messages", ctx.kv.get("today.messages") or 0)


if __name__ == "__main__":
    plugin.run()
