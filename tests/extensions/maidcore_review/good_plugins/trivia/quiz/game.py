"""Asking, answering (first correct answer wins the points), scoreboard."""

from mmo_maid_sdk import ActionRow, Button, Plugin

from . import bank
from .scores import Scoreboard

plugin = Plugin()
POINTS = 10
LETTERS = "ABCD"


@plugin.on_ready
def ready(ctx):
    Scoreboard(ctx).setup()


@plugin.on_slash_command("trivia")
def ask(ctx, event):
    category = next((o["value"] for o in event.get("options", []) if o["name"] == "category"), None)
    question = bank.pick(category)
    buttons = [
        Button(f"{LETTERS[i]}: {choice}", f"trivia:{question['id']}:{i}")
        for i, choice in enumerate(question["choices"])
    ]
    ctx.interaction.respond(content=f"❓ {question['question']}", components=[ActionRow(*buttons)])


@plugin.on_component(prefix="trivia:")
def answer(ctx, event):
    _, question_id, choice = event["custom_id"].split(":")
    question = bank.by_id(question_id)
    if question is None:
        return
    if int(choice) != question["answer"]:
        ctx.interaction.respond(content="Not quite!", ephemeral=True)
        return
    if not ctx.ephemeral.dedup(f"trivia:{event['interaction_id']}:{question_id}", 3600) or ctx.kv.get(
        f"solved:{event['channel_id']}:{question_id}"
    ):
        ctx.interaction.respond(content="Someone was faster.", ephemeral=True)
        return
    ctx.kv.set(f"solved:{event['channel_id']}:{question_id}", event["user_id"], ttl_seconds=3600)
    Scoreboard(ctx).award(event["user_id"], POINTS)
    ctx.interaction.respond(
        content=f"✅ <@{event['user_id']}> got it: {question['choices'][question['answer']]} (+{POINTS})"
    )


@plugin.on_slash_command("trivia-scores")
def scores(ctx, event):
    rows = Scoreboard(ctx).top()
    lines = [f"{i}. <@{r['user_id']}> - {r['points']}" for i, r in enumerate(rows, 1)]
    ctx.interaction.respond(content="\n".join(lines) or "No points yet this season.", allowed_mentions={"parse": []})
