"""Panel → modal → channel → claim → close."""

from mmo_maid_sdk import ActionRow, Button, TextInput

from . import transcript
from .plugin import plugin
from .repo import Tickets

STAFF_ROLE_KEY = "staff_role"


@plugin.on_ready
def ready(ctx):
    Tickets(ctx).create_table()


@plugin.on_slash_command("support-panel")
def panel(ctx, event):
    ctx.discord.send_message(
        channel_id=event["channel_id"],
        content="Need help? Open a ticket and staff will answer in a private channel.",
        components=[ActionRow(Button("Open ticket", "ticket:open", emoji="🎫"))],
    )
    ctx.interaction.respond(content="Panel posted.", ephemeral=True)


@plugin.on_component("ticket:open")
def ask_topic(ctx, event):
    ctx.interaction.send_modal(
        custom_id="ticket:topic",
        title="Open a ticket",
        fields=[TextInput("What do you need help with?", "topic", style="paragraph", max_length=500)],
    )


@plugin.on_modal_submit("ticket:topic")
def open_ticket(ctx, event):
    topic = (event.get("modal_values") or {}).get("topic", "").strip() or "no topic"
    tickets = Tickets(ctx)
    ticket_id = tickets.open(event["user_id"], topic)
    channel = ctx.discord.create_channel(name=f"ticket-{ticket_id:04d}", channel_type=0, topic=topic[:100])
    tickets.attach_channel(ticket_id, str(channel["id"]))
    ctx.discord.send_message(
        channel_id=channel["id"],
        content=f"Ticket #{ticket_id} by <@{event['user_id']}>: {topic}",
        components=[ActionRow(Button("Claim", f"ticket:claim:{ticket_id}", style="secondary"))],
    )
    ctx.interaction.respond(content=f"Your ticket is open: <#{channel['id']}>", ephemeral=True)


@plugin.on_component(prefix="ticket:claim:")
def claim(ctx, event):
    ticket_id = int(event["custom_id"].rsplit(":", 1)[1])
    Tickets(ctx).claim(ticket_id, event["user_id"])
    ctx.interaction.respond(content=f"<@{event['user_id']}> is on it.")


@plugin.on_slash_command("support-close")
def close(ctx, event):
    tickets = Tickets(ctx)
    ticket = tickets.by_channel(event["channel_id"])
    if ticket is None:
        ctx.interaction.respond(content="This is not an open ticket channel.", ephemeral=True)
        return
    ctx.interaction.defer()
    text = transcript.fetch(ctx, event["channel_id"])
    tickets.close(ticket["id"])
    ctx.interaction.followup(content=f"Closed. Transcript: {len(text.splitlines())} message(s).")
    ctx.log(f"ticket {ticket['id']} closed", tags=["tickets"])
    ctx.discord.delete_channel(channel_id=event["channel_id"])
