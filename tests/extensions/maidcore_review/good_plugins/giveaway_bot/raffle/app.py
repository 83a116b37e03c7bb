"""Handlers: start, enter, draw, reroll."""

import time

from mmo_maid_sdk import ActionRow, Button, Plugin

from . import durations
from .state import Raffle, RaffleBook

plugin = Plugin()


def option(event, name, default=None):
    for item in event.get("options") or []:
        if item.get("name") == name:
            return item.get("value")
    return default


def enter_button(raffle_id: str, count: int) -> ActionRow:
    return ActionRow(Button(f"Enter ({count})", f"raffle:enter:{raffle_id}", style="success", emoji="🎉"))


def announce_text(raffle: Raffle) -> str:
    return f"🎁 **{raffle.prize}** - {raffle.winners} winner(s), ends <t:{int(raffle.ends_at)}:R>"


@plugin.on_slash_command("raffle")
def start(ctx, event):
    try:
        seconds = durations.parse(str(option(event, "duration", "")))
    except ValueError as exc:
        ctx.interaction.respond(content=str(exc), ephemeral=True)
        return
    book = RaffleBook(ctx)
    raffle = Raffle(
        id=book.new_id(),
        prize=str(option(event, "prize"))[:200],
        channel_id=event["channel_id"],
        message_id=None,
        ends_at=time.time() + seconds,
        winners=int(option(event, "winners", 1)),
    )
    sent = ctx.discord.send_message(
        channel_id=raffle.channel_id, content=announce_text(raffle), components=[enter_button(raffle.id, 0)]
    )
    raffle.message_id = str(sent["message_id"])
    book.save(raffle)
    ctx.interaction.respond(content=f"Raffle `{raffle.id}` started ({durations.describe(seconds)}).", ephemeral=True)


@plugin.on_component(prefix="raffle:enter:")
def enter(ctx, event):
    raffle_id = event["custom_id"].rsplit(":", 1)[1]
    book = RaffleBook(ctx)
    raffle = book.load(raffle_id)
    if raffle is None or not raffle.enter(event["user_id"]):
        ctx.interaction.respond(content="You are already in (or it is over).", ephemeral=True)
        return
    book.save(raffle)
    ctx.discord.edit_message(
        channel_id=raffle.channel_id,
        message_id=raffle.message_id,
        content=announce_text(raffle),
        components=[enter_button(raffle.id, len(raffle.entrants))],
    )
    ctx.interaction.respond(content="You are in. Good luck!", ephemeral=True)


def finish(ctx, book: RaffleBook, raffle: Raffle) -> None:
    winners = raffle.draw()
    book.save(raffle)
    mentions = ", ".join(f"<@{w}>" for w in winners) or "nobody entered"
    ctx.discord.edit_message(
        channel_id=raffle.channel_id,
        message_id=raffle.message_id,
        content=f"🎁 **{raffle.prize}** - ended",
        components=[],
    )
    ctx.discord.send_message(channel_id=raffle.channel_id, content=f"Winner(s) of **{raffle.prize}**: {mentions}")


@plugin.cron("*/5 * * * *")
def draw_due(ctx):
    book = RaffleBook(ctx)
    for raffle in book.due(time.time()):
        finish(ctx, book, raffle)


@plugin.on_slash_command("reroll")
def reroll(ctx, event):
    book = RaffleBook(ctx)
    raffle = book.load(str(option(event, "raffle")))
    if raffle is None or not raffle.finished:
        ctx.interaction.respond(content="No finished raffle with that id.", ephemeral=True)
        return
    raffle.finished = False
    finish(ctx, book, raffle)
    ctx.interaction.respond(content="Rerolled.", ephemeral=True)
