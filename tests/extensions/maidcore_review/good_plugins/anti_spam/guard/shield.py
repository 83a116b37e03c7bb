from mmo_maid_sdk import Plugin, SdkPermissionError

from . import detect
from .limits import Limits

plugin = Plugin()


@plugin.on_event("message_create")
def inspect_message(ctx, event):
    if event.get("author_bot"):
        return
    limits = Limits.from_kv(ctx.kv)
    found = detect.reasons(ctx.ephemeral, event, limits)
    if not found:
        return
    ctx.discord.delete_message(channel_id=event["channel_id"], message_id=event["message_id"])
    if not ctx.ephemeral.dedup(f"punished:{event['author_id']}", limits.timeout_seconds):
        return  # already dealt with this burst
    try:
        ctx.discord.timeout_member(
            user_id=event["author_id"], duration_seconds=limits.timeout_seconds, reason=", ".join(found)
        )
    except SdkPermissionError as exc:
        ctx.log(f"cannot time out: missing {exc.permission}", level="warning")
    ctx.kv.increment("today.actions")
    if limits.mod_channel:
        ctx.discord.send_message(
            channel_id=limits.mod_channel, content=f"🛡️ <@{event['author_id']}> timed out: {', '.join(found)}"
        )


@plugin.cron("0 0 * * *")
def daily_report(ctx):
    limits = Limits.from_kv(ctx.kv)
    count = ctx.kv.get("today.actions") or 0
    ctx.kv.delete("today.actions")
    if limits.mod_channel and count:
        ctx.discord.send_message(channel_id=limits.mod_channel, content=f"Spam Shield acted {count} time(s) yesterday.")
