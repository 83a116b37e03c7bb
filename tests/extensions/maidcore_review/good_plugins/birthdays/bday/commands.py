from datetime import date

from . import dates, repo
from .core import plugin


def args_of(event):
    return {o["name"]: o.get("value") for o in event.get("options", [])}


@plugin.on_ready
def ready(ctx):
    repo.ensure(ctx)


@plugin.on_slash_command("birthday")
def set_birthday(ctx, event):
    args = args_of(event)
    day, month = int(args["day"]), int(args["month"])
    if not dates.valid(day, month):
        ctx.interaction.respond(content="That date does not exist.", ephemeral=True)
        return
    repo.save(ctx, event["user_id"], day, month)
    ctx.interaction.respond(content=f"Saved: {dates.label(day, month)} 🎂", ephemeral=True)


@plugin.on_slash_command("birthdays-next")
def upcoming(ctx, event):
    today = date.today()
    rows = sorted(repo.everyone(ctx), key=lambda r: dates.next_occurrence(r["day"], r["month"], today))[:10]
    lines = [f"{dates.label(r['day'], r['month'])} - <@{r['user_id']}>" for r in rows]
    ctx.interaction.respond(content="\n".join(lines) or "No birthdays saved yet.", allowed_mentions={"parse": []})


@plugin.on_slash_command("birthday-setup")
def setup(ctx, event):
    args = args_of(event)
    ctx.kv.set("setup", {"channel": str(args["channel"]), "role": str(args["role"]) if args.get("role") else None})
    ctx.interaction.respond(content="Saved.", ephemeral=True)


@plugin.cron("0 8 * * *")
def announce(ctx):
    setup_ = ctx.kv.get("setup") or {}
    today = date.today()
    yesterday_role_holders = ctx.kv.get("role_holders") or []
    if setup_.get("role"):
        for user_id in yesterday_role_holders:
            ctx.discord.remove_role(user_id=user_id, role_id=setup_["role"], reason="birthday over")
    wished = []
    for user_id in repo.due_today(ctx, today.day, today.month, today.year):
        if setup_.get("channel"):
            ctx.discord.send_message(channel_id=setup_["channel"], content=f"Happy birthday <@{user_id}>! 🎉")
        if setup_.get("role"):
            ctx.discord.add_role(user_id=user_id, role_id=setup_["role"], reason="birthday")
        repo.mark_wished(ctx, user_id, today.year)
        wished.append(user_id)
    ctx.kv.set("role_holders", wished)
