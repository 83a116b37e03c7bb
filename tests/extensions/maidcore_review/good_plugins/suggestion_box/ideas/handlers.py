"""Handlers as methods of one object: the form, the post, status changes."""

from mmo_maid_sdk import TextInput

from .status import VOTES, Status
from .store import Suggestions


def render(row) -> str:
    status = Status(row["status"])
    text = f"**#{row['id']} {row['title']}** - {status.badge}\n{row['body']}\n*by <@{row['author_id']}>*"
    if row.get("note"):
        text += f"\n> {row['note']}"
    return text


class Handlers:
    def __init__(self, plugin):
        plugin.on_ready(self.ready)
        plugin.on_slash_command("suggest")(self.open_form)
        plugin.on_modal_submit("suggest:form")(self.submit)
        plugin.on_slash_command("suggestion-status")(self.change_status)
        plugin.on_slash_command("suggestion-channel")(self.set_channel)

    def ready(self, ctx):
        Suggestions(ctx.sql).create_table()

    def open_form(self, ctx, event):
        ctx.interaction.send_modal(
            custom_id="suggest:form",
            title="Your suggestion",
            fields=[
                TextInput("Title", "title", max_length=100),
                TextInput("Details", "body", style="paragraph", max_length=1500),
            ],
        )

    def submit(self, ctx, event):
        channel = ctx.kv.get("channel")
        if not channel:
            ctx.interaction.respond(content="Suggestions are not set up yet.", ephemeral=True)
            return
        values = event.get("modal_values") or {}
        store = Suggestions(ctx.sql)
        suggestion_id = store.add(event["user_id"], values.get("title", "")[:100], values.get("body", "")[:1500])
        sent = ctx.discord.send_message(channel_id=channel, content=render(store.get(suggestion_id)))
        store.attach(suggestion_id, channel, str(sent["message_id"]))
        for emoji in VOTES:
            ctx.discord.add_reaction(channel_id=channel, message_id=sent["message_id"], emoji=emoji)
        ctx.interaction.respond(content=f"Thanks! Suggestion #{suggestion_id} is posted.", ephemeral=True)

    def change_status(self, ctx, event):
        args = {o["name"]: o.get("value") for o in event.get("options", [])}
        store = Suggestions(ctx.sql)
        row = store.get(int(args["id"]))
        if row is None:
            ctx.interaction.respond(content="No such suggestion.", ephemeral=True)
            return
        store.set_status(row["id"], Status(args["status"]), args.get("note"))
        updated = store.get(row["id"])
        ctx.discord.edit_message(
            channel_id=updated["channel_id"], message_id=updated["message_id"], content=render(updated)
        )
        ctx.interaction.respond(content="Updated.", ephemeral=True)

    def set_channel(self, ctx, event):
        channel = next(o["value"] for o in event["options"] if o["name"] == "channel")
        ctx.kv.set("channel", str(channel))
        ctx.interaction.respond(content=f"Suggestions go to <#{channel}>.", ephemeral=True)
