"""Every dashboard widget kind, each answered by its own handler; one handler fails on purpose."""

from mmo_maid_sdk import Plugin

plugin = Plugin()

DEFAULTS = {
    "greeting": "Welcome!",
    "rules": "Be kind.",
    "max_warnings": 3,
    "enabled": True,
    "accent": "#5b5bd6",
    "season_start": "2026-01-01",
    "volume": 40,
    "language": "en",
    "features": ["xp"],
    "log_channel": None,
    "mod_role": None,
}
BANNER = (
    "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAzMjAgODAiPjxyZWN0"
    "IHdpZHRoPSIzMjAiIGhlaWdodD0iODAiIHJ4PSIxMiIgZmlsbD0iIzViNWJkNiIvPjx0ZXh0IHg9IjE2MCIgeT0iNTAiIGZvbnQtc2l6ZT0iMjgiIGZv"
    "bnQtZmFtaWx5PSJzYW5zLXNlcmlmIiBmaWxsPSIjZmZmIiB0ZXh0LWFuY2hvcj0ibWlkZGxlIj5TZWFzb24gMzwvdGV4dD48L3N2Zz4="
)


@plugin.on_dashboard("members")
def members(ctx, params):
    found = ctx.discord.list_members(limit=100)  # this guild's members: the request acts for it
    return {"value": len(found), "change": "+1"}


@plugin.on_dashboard("messages_today")
def messages_today(ctx, params):
    return {"value": 1234, "change": "-3%"}


@plugin.on_dashboard("broken")
def broken(ctx, params):
    raise RuntimeError("the stats service is down")


@plugin.on_dashboard("owner_stat")
def owner_stat(ctx, params):
    return {"value": 42}


@plugin.on_dashboard("activity")
def activity(ctx, params):
    return {"labels": ["Mon", "Tue", "Wed", "Thu", "Fri"], "series": [{"name": "messages", "data": [5, 9, 4, 12, 8]}]}


@plugin.on_dashboard("by_channel")
def by_channel(ctx, params):
    return {
        "labels": ["general", "random"],
        "series": [{"name": "people", "data": [10, 4]}, {"name": "bots", "data": [2, 1]}],
    }


@plugin.on_dashboard("roles_pie")
def roles_pie(ctx, params):
    return {"labels": ["Moderator", "Member"], "series": [{"name": "members", "data": [2, 5]}]}


@plugin.on_dashboard("load")
def load(ctx, params):
    return {"value": 72, "max": 100, "label": "of the hourly budget"}


@plugin.on_dashboard("goal")
def goal(ctx, params):
    return {"value": 75, "max": 100, "label": "XP this season"}


@plugin.on_dashboard("top")
def top(ctx, params):
    return {"rows": [{"name": "alice", "score": 31}, {"name": "<b>bob</b>", "score": 17}], "total": 2}


@plugin.on_dashboard("about")
def about(ctx, params):
    return {"text": f"Running on server {ctx.server_id}."}


@plugin.on_dashboard("status")
def status(ctx, params):
    return {"level": "warn", "message": "Maintenance tonight at 22:00."}


@plugin.on_dashboard("recent")
def recent(ctx, params):
    items = [{"label": "alice joined", "value": "2 min ago"}, {"label": "bob levelled up", "value": "1 h ago"}]
    return {"items": items}


@plugin.on_dashboard("notes")
def notes(ctx, params):
    return {"markdown": "**Season 3** starts soon. <script>alert(1)</script>\n\n- quests\n- shop"}


@plugin.on_dashboard("load_settings")
def load_settings(ctx, params):
    return {"values": {**DEFAULTS, **(ctx.kv.get("settings") or {})}}


@plugin.on_dashboard("save_settings")
def save_settings(ctx, params):
    ctx.kv.set("settings", params["values"])
    return {"message": f"Saved {len(params['values'])} settings."}


@plugin.on_dashboard("banner")
def banner(ctx, params):
    return {"url": BANNER, "alt": "Season 3 banner", "caption": "The season banner"}


@plugin.on_dashboard("facts")
def facts(ctx, params):
    guild = ctx.discord.get_guild()
    return {"items": [{"key": "Name", "value": guild["name"]}, {"key": "Members", "value": guild["member_count"]}]}


@plugin.on_dashboard("history")
def history(ctx, params):
    return {"items": [{"time": "2026-01-01", "title": "Season 2 ended"}, {"time": "2026-02-01", "title": "Season 3"}]}


@plugin.on_dashboard("perks")
def perks(ctx, params):
    return {"badges": [{"label": "XP boost", "level": "info"}, {"label": "Custom roles", "level": "warn"}]}


@plugin.on_dashboard("staff")
def staff(ctx, params):
    return {"users": [{"name": "Alice", "subtitle": "Owner"}, {"name": "Carol", "subtitle": "Moderator"}]}


@plugin.on_dashboard("reset_season")
def reset_season(ctx, params):
    ctx.kv.increment("resets")
    return {"message": "Season reset."}


if __name__ == "__main__":
    plugin.run()
