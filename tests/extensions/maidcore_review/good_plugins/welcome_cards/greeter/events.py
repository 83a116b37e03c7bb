"""Joins get a card and starter roles; leaves get a goodbye line."""

from datetime import date

from .card import CardSettings, build
from .core import plugin


@plugin.on_event("member_join")
def greet(ctx, event):
    if event.get("bot"):
        return
    settings = CardSettings.load(ctx.kv)
    ctx.kv.increment(f"joins:{date.today().isoformat()}")
    if settings.channel_id:
        embed = build(
            settings,
            member_id=event["user_id"],
            server=event.get("guild_name", "the server"),
            count=event["member_count"],
        )
        ctx.discord.send_message(channel_id=settings.channel_id, embeds=[embed])
    if settings.starter_roles:
        for role_id in settings.starter_roles:
            ctx.discord.add_role(user_id=event["user_id"], role_id=role_id, reason="starter role")


@plugin.on_event("member_leave")
def goodbye(ctx, event):
    settings = CardSettings.load(ctx.kv)
    if settings.channel_id and settings.goodbye:
        ctx.discord.send_message(
            channel_id=settings.channel_id, content=f"**{event.get('username', 'Someone')}** left."
        )
