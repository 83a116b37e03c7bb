"""Levels: XP per message (once a minute), levels, role rewards, daily coins, a leaderboard and a dashboard."""

import math

from yourbot_sdk import ActionRow, Button, DiscordApiError, Plugin, SdkPermissionError

plugin = Plugin()

XP_PER_MESSAGE = 15
XP_COOLDOWN = 60
DAILY_COINS = 100
PAGE = 5
DEFAULTS = {"announce": True, "reward_role": "", "reward_level": 5}


def level_for(xp):
    return int(math.sqrt(xp / 50))


def settings(ctx):
    return {**DEFAULTS, **(ctx.kv.get("settings") or {})}


@plugin.on_ready
def create_tables(ctx):
    ctx.sql.execute(
        "CREATE TABLE IF NOT EXISTS xp (user_id TEXT PRIMARY KEY, name TEXT, xp INTEGER NOT NULL DEFAULT 0)"
    )


@plugin.on_event("message_create")
def award_xp(ctx, event):
    if event.get("author_bot"):
        return
    user = event["author_id"]
    if not ctx.ephemeral.dedup(f"xp:{user}", ttl_seconds=XP_COOLDOWN):  # atomic: handlers run on 4 threads
        return
    xp = ctx.kv.increment(f"profile:{user}", XP_PER_MESSAGE, path="xp")
    ctx.sql.execute(
        "INSERT INTO xp (user_id, name, xp) VALUES ($1, $2, $3) "
        "ON CONFLICT(user_id) DO UPDATE SET xp = excluded.xp, name = excluded.name",
        [user, event.get("author_username", ""), xp],
    )
    ctx.metrics.record("xp_awarded", XP_PER_MESSAGE)
    before, after = level_for(xp - XP_PER_MESSAGE), level_for(xp)
    if after > before:
        level_up(ctx, event, user, after)


def level_up(ctx, event, user, level):
    conf = settings(ctx)
    if conf["announce"]:
        ctx.discord.send_message(
            channel_id=event["channel_id"],
            content=f"<@{user}> reached level {level}!",
            allowed_mentions={"users": [user]},
        )
    if conf["reward_role"] and level >= conf["reward_level"]:
        try:
            ctx.discord.add_role(user_id=user, role_id=conf["reward_role"], reason=f"Level {level}")
        except (SdkPermissionError, DiscordApiError) as exc:
            ctx.log(f"could not give the reward role: {exc}", level="warning", tags=["reward"], code=exc.code)


@plugin.on_slash_command("rank")
def rank(ctx, event):
    opts = {o["name"]: o.get("value") for o in event.get("options") or []}
    user = str(opts.get("member") or event.get("user_id"))
    profile = ctx.kv.get(f"profile:{user}") or {}
    xp = profile.get("xp", 0)
    level = level_for(xp)
    nxt = 50 * (level + 1) ** 2
    embed = {
        "title": "Rank",
        "description": f"<@{user}>",
        "fields": [
            {"name": "Level", "value": str(level), "inline": True},
            {"name": "XP", "value": f"{xp} / {nxt}", "inline": True},
            {"name": "Coins", "value": str(profile.get("coins", 0)), "inline": True},
        ],
    }
    ctx.interaction.respond(embeds=[embed])


def leaderboard(ctx, page):
    rows = ctx.sql.query(
        "SELECT user_id, name, xp FROM xp ORDER BY xp DESC LIMIT $1 OFFSET $2", [PAGE + 1, (page - 1) * PAGE]
    )
    more = len(rows) > PAGE
    lines = [
        f"{(page - 1) * PAGE + i + 1}. {r['name'] or r['user_id']} — {r['xp']} XP" for i, r in enumerate(rows[:PAGE])
    ]
    buttons = [
        Button("Previous", custom_id=f"top:{page - 1}", style="secondary", disabled=page <= 1),
        Button("Next", custom_id=f"top:{page + 1}", style="secondary", disabled=not more),
    ]
    return ("\n".join(lines) or "Nobody has XP yet."), [ActionRow(*buttons)]


@plugin.on_slash_command("top")
def top(ctx, event):
    opts = {o["name"]: o.get("value") for o in event.get("options") or []}
    content, components = leaderboard(ctx, max(1, int(opts.get("page") or 1)))
    ctx.interaction.respond(content=content, components=components)


@plugin.on_component(prefix="top:")
def top_page(ctx, event):
    page = max(1, int(event["custom_id"].split(":")[1]))
    content, components = leaderboard(ctx, page)
    ctx.interaction.respond(content=content, components=components, update_message=True)


@plugin.on_slash_command("daily")
def daily(ctx, event):
    user = event.get("user_id")
    if ctx.kv.exists(f"daily:{user}"):
        ctx.interaction.respond(content="Already collected today. Come back tomorrow!", ephemeral=True)
        return
    ctx.kv.set(f"daily:{user}", True, ttl_seconds=86400)
    coins = ctx.kv.increment(f"profile:{user}", DAILY_COINS, path="coins")
    ctx.interaction.respond(content=f"+{DAILY_COINS} coins. You have {coins}.", ephemeral=True)


@plugin.cron("0 0 * * 1")
def weekly_reset(ctx):
    """Monday 00:00 UTC: archive the week's top three, then start over."""
    top3 = ctx.sql.query("SELECT user_id, xp FROM xp ORDER BY xp DESC", limit=3)
    ctx.kv.set("last_week", [dict(r) for r in top3])
    ctx.sql.execute("DELETE FROM xp")
    ctx.log("weekly reset", level="info", tags=["cron"], winners=len(top3), truncated=top3.truncated)


# --- dashboard ------------------------------------------------------------------------------------


@plugin.on_dashboard("members")
def dash_members(ctx, params):
    return {"value": ctx.sql.scalar("SELECT COUNT(*) FROM xp") or 0}


@plugin.on_dashboard("top_table")
def dash_top(ctx, params):
    rows = ctx.sql.query("SELECT name, xp FROM xp ORDER BY xp DESC", limit=10)
    return {"rows": [dict(r) for r in rows], "total": len(rows)}


@plugin.on_dashboard("xp_chart")
def dash_chart(ctx, params):
    data = ctx.metrics.query("xp_awarded", period="7d", group_by="day")
    return {"labels": data.get("labels", []), "series": data.get("series", [])}


@plugin.on_dashboard("load_settings")
def dash_load(ctx, params):
    return {"values": settings(ctx)}


@plugin.on_dashboard("save_settings")
def dash_save(ctx, params):
    values = params.get("values") or {}
    level = int(values.get("reward_level", DEFAULTS["reward_level"]))
    if not 1 <= level <= 100:
        return {"ok": False, "error": "reward level must be between 1 and 100"}
    ctx.kv.set(
        "settings",
        {
            "announce": bool(values.get("announce")),
            "reward_role": str(values.get("reward_role") or ""),
            "reward_level": level,
        },
    )
    return {"ok": True}


if __name__ == "__main__":
    plugin.run()
