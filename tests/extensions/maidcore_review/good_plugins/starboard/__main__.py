"""Starboard."""

import settings
from board import Starboard, star_count
from mmo_maid_sdk import Plugin
from settings import STAR

plugin = Plugin()


def on_star(ctx, event):
    if event.get("emoji") != STAR or event.get("user_bot"):
        return
    board = Starboard(ctx, settings.load(ctx.kv))
    message = board.fetch(event["channel_id"], event["message_id"])
    if message is not None:
        board.update(event["channel_id"], event["message_id"], star_count(message), message)


plugin.on_event("reaction_add")(on_star)
plugin.on_event("reaction_remove")(on_star)


@plugin.on_slash_command("starboard")
def configure(ctx, event):
    values = {o["name"]: o.get("value") for o in event.get("options", [])}
    settings.save(ctx.kv, str(values["channel"]), int(values.get("threshold") or settings.DEFAULT_THRESHOLD))
    ctx.interaction.respond(content=f"Starboard: <#{values['channel']}>.", ephemeral=True)


if __name__ == "__main__":
    plugin.run()
