from . import plugin, triggers


@plugin.on_event("message_create")
def respond(ctx, event):
    if event.get("author_bot"):
        return
    for index, trigger in enumerate(triggers.load(ctx.kv)):
        if not trigger.matches(event.get("content", "")):
            continue
        key = f"cooldown:{index}:{event['channel_id']}"
        if ctx.ephemeral.cooldown_check(key)["active"]:
            continue
        ctx.ephemeral.cooldown_set(key, trigger.cooldown)
        if trigger.reply:
            ctx.discord.send_message(channel_id=event["channel_id"], content=trigger.reply)
        if trigger.reaction:
            ctx.discord.add_reaction(
                channel_id=event["channel_id"], message_id=event["message_id"], emoji=trigger.reaction
            )
        break
