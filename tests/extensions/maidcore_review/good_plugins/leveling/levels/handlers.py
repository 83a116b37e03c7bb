"""Chat earns XP once a minute; level-ups are announced and rewarded."""

from mmo_maid_sdk import Context, Plugin

from . import curve
from .store import XpStore

plugin = Plugin()
COOLDOWN_SECONDS = 60


def option(event, name, default=None):
    return next((o["value"] for o in event.get("options", []) if o.get("name") == name), default)


@plugin.on_ready
def setup(ctx: Context) -> None:
    XpStore(ctx).ensure_schema()


@plugin.on_event("message_create")
def on_message(ctx: Context, event: dict) -> None:
    if event["author_bot"]:
        return
    user = event["author_id"]
    if ctx.ephemeral.cooldown_check(f"xp:{user}")["active"]:
        return
    ctx.ephemeral.cooldown_set(f"xp:{user}", COOLDOWN_SECONDS)
    store = XpStore(ctx)
    before, _ = curve.level_for(store.total(user))
    after, _ = curve.level_for(store.add(user, curve.gain()))
    if after > before:
        announce_level_up(ctx, store, event, after)


def announce_level_up(ctx: Context, store: XpStore, event: dict, level: int) -> None:
    ctx.discord.send_message(channel_id=event["channel_id"], content=f"<@{event['author_id']}> reached level {level}!")
    for role_id in store.rewards_up_to(level):
        ctx.discord.add_role(user_id=event["author_id"], role_id=role_id, reason=f"level {level} reward")


@plugin.on_slash_command("rank")
def rank(ctx: Context, event: dict) -> None:
    member = option(event, "member") or event["user_id"]
    store = XpStore(ctx)
    level, into = curve.level_for(store.total(member))
    needed = curve.xp_for_next(level)
    ctx.interaction.respond(
        content=f"<@{member}>: level {level}, {into}/{needed} XP {curve.progress_bar(into, needed)} "
        f"(#{store.position(member)})",
        allowed_mentions={"parse": []},
    )


@plugin.on_slash_command("top")
def top(ctx: Context, event: dict) -> None:
    page = int(option(event, "page", 1))
    rows = XpStore(ctx).page(page)
    lines = [f"{i}. <@{row['user_id']}> - {row['xp']} XP" for i, row in enumerate(rows, start=(page - 1) * 10 + 1)]
    ctx.interaction.respond(content="\n".join(lines) or "Nobody has XP yet.", allowed_mentions={"parse": []})


@plugin.on_slash_command("level-reward")
def level_reward(ctx: Context, event: dict) -> None:
    XpStore(ctx).set_reward(int(option(event, "level")), str(option(event, "role")))
    ctx.interaction.respond(content="Reward saved.", ephemeral=True)


@plugin.cron("0 3 * * 1")
def weekly_decay(ctx: Context) -> None:
    percent = int(ctx.kv.get("decay_percent") or 5)
    XpStore(ctx).decay(max(0, min(50, percent)))
