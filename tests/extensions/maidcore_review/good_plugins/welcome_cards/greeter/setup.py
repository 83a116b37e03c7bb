"""/greet-setup and /greet-preview."""

from .card import CardSettings, build
from .core import plugin


@plugin.on_slash_command("greet-setup")
def setup(ctx, event):
    values = {o["name"]: o.get("value") for o in event.get("options", [])}
    settings = CardSettings.load(ctx.kv)
    settings.channel_id = str(values["channel"])
    if values.get("message"):
        settings.message = str(values["message"])[:1500]
    settings.save(ctx.kv)
    ctx.interaction.respond(content=f"Welcome cards go to <#{settings.channel_id}>.", ephemeral=True)


@plugin.on_slash_command("greet-preview")
def preview(ctx, event):
    card = build(CardSettings.load(ctx.kv), member_id=event["user_id"], server="this server", count=123)
    ctx.interaction.respond(embeds=[card], ephemeral=True)
