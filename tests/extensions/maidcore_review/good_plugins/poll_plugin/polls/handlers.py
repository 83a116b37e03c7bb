"""Slash commands and button clicks, registered on the plugin given."""

from dataclasses import asdict

from mmo_maid_sdk import ActionRow, Button

from .model import Poll


def load(kv, poll_id):
    data = kv.get(f"poll:{poll_id}")
    return Poll(**data) if data else None


def buttons(poll: Poll):
    counts = poll.counts()
    return [
        ActionRow(
            *(
                Button(f"{choice} ({counts[i]})", f"poll:{poll.id}:{i}", style="secondary", disabled=poll.closed)
                for i, choice in enumerate(poll.choices)
            )
        )
    ]


def value(event, name, default=None):
    return next((o.get("value") for o in event.get("options", []) if o.get("name") == name), default)


def register(plugin):
    @plugin.on_slash_command("vote")
    def create(ctx, event):
        try:
            choices = Poll.parse_choices(str(value(event, "choices", "")))
        except ValueError as exc:
            ctx.interaction.respond(content=str(exc), ephemeral=True)
            return
        poll_id = str(ctx.kv.increment("poll:next_id"))
        poll = Poll(poll_id, str(value(event, "question"))[:200], choices, bool(value(event, "multiple", False)))
        poll.channel_id = event["channel_id"]
        sent = ctx.discord.send_message(
            channel_id=poll.channel_id, content=f"📊 **{poll.question}** (poll {poll.id})", components=buttons(poll)
        )
        poll.message_id = str(sent["message_id"])
        ctx.kv.set(f"poll:{poll.id}", asdict(poll))
        ctx.interaction.respond(content=f"Poll {poll.id} is up.", ephemeral=True)

    @plugin.on_component(prefix="poll:")
    def click(ctx, event):
        _, poll_id, index = event["custom_id"].split(":")
        poll = load(ctx.kv, poll_id)
        if poll is None:
            ctx.interaction.respond(content="This poll is gone.", ephemeral=True)
            return
        poll.toggle(event["user_id"], int(index))
        ctx.kv.set(f"poll:{poll.id}", asdict(poll))
        ctx.discord.edit_message(channel_id=poll.channel_id, message_id=poll.message_id, components=buttons(poll))
        ctx.interaction.respond(content="Vote recorded.", ephemeral=True)

    @plugin.on_slash_command("vote-close")
    def close(ctx, event):
        poll = load(ctx.kv, str(value(event, "poll")))
        if poll is None:
            ctx.interaction.respond(content="No such poll.", ephemeral=True)
            return
        poll.closed = True
        ctx.kv.set(f"poll:{poll.id}", asdict(poll))
        ctx.discord.edit_message(
            channel_id=poll.channel_id,
            message_id=poll.message_id,
            content=f"📊 **{poll.question}** (closed)\n{poll.chart()}",
            components=buttons(poll),
        )
        ctx.interaction.respond(content="Closed.", ephemeral=True)

    return plugin
