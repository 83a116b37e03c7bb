import arith
import game
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def count(ctx, event):
    if event["author_bot"]:
        return
    state = game.load(ctx.kv)
    if event["channel_id"] != state.channel_id:
        return
    number = arith.evaluate(event["content"])
    if number is None:
        return
    result = state.play(event["author_id"], number)
    game.save(ctx.kv, state)
    if result == "ok":
        ctx.discord.add_reaction(channel_id=event["channel_id"], message_id=event["message_id"], emoji="✅")
    else:
        reason = (
            "you can't count twice in a row"
            if result == "twice"
            else f"the next number was {number if result == 'twice' else 'different'}"
        )
        ctx.discord.send_message(
            channel_id=event["channel_id"], content=f"<@{event['author_id']}> broke the count: {reason}. Back to 1!"
        )


@plugin.on_slash_command("counting")
def use_channel(ctx, event):
    state = game.load(ctx.kv)
    state.channel_id, state.current, state.last_user = event["channel_id"], 0, None
    game.save(ctx.kv, state)
    ctx.interaction.respond(content="This is now the counting channel. Start with 1!")


@plugin.on_slash_command("counting-record")
def record(ctx, event):
    ctx.interaction.respond(content=f"The best run is {game.load(ctx.kv).best}.", ephemeral=True)


if __name__ == "__main__":
    plugin.run()
