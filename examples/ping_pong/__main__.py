"""Ping Pong: the smallest plugin that uses messages, buttons, modals and a slash command."""

from yourbot_sdk import ActionRow, Button, Plugin, TextInput

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event.get("author_bot") or event.get("content", "").strip() != "!ping":
        return
    ctx.discord.send_message(
        channel_id=event["channel_id"],
        content="Pong!",
        components=[ActionRow(Button("Again", custom_id="pingpong:again"))],
    )


@plugin.on_component("pingpong:again")
def on_again(ctx, event):
    ctx.interaction.send_modal(
        title="Feedback",
        custom_id="pingpong:feedback",
        fields=[TextInput("Comment", "comment")],
    )


@plugin.on_modal_submit("pingpong:feedback")
def on_feedback(ctx, event):
    comment = event.get("modal_values", {}).get("comment", "")
    ctx.interaction.respond(content=f"Thanks: {comment}")


@plugin.on_slash_command("ping")
def on_ping(ctx, event):
    ctx.interaction.respond(content="Pong!")


if __name__ == "__main__":
    plugin.run()
