"""Counts !count in KV; without storage:kv it says so instead (and the admin gets a permission request)."""

from mmo_maid_sdk import CapabilityError, Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def count(ctx, event):
    if event["author_bot"] or event["content"] != "!count":
        return
    try:
        total = ctx.kv.increment("count")
    except CapabilityError:
        ctx.discord.send_message(channel_id=event["channel_id"], content="I need permission: storage:kv")
        return
    ctx.log(f"counted {total}")
    ctx.discord.send_message(channel_id=event["channel_id"], content=f"count is {total}")


if __name__ == "__main__":
    plugin.run()
