from mmo_maid_sdk import Plugin, RateLimitError, SdkError

from . import parse, sources
from .follow import Follows

plugin = Plugin()
MAX_POSTS_PER_FEED = 5


def option(event, name, default=None):
    return next((o.get("value") for o in event.get("options", []) if o.get("name") == name), default)


@plugin.on_slash_command("feed")
def feed(ctx, event):
    try:
        url = sources.check(str(option(event, "url", "")))
    except ValueError as exc:
        ctx.interaction.respond(content=str(exc), ephemeral=True)
        return
    follows = Follows(ctx.kv)
    if option(event, "stop"):
        done = follows.unfollow(url, event["channel_id"])
        ctx.interaction.respond(content="Unfollowed." if done else "This channel does not follow it.", ephemeral=True)
    else:
        follows.follow(url, event["channel_id"])
        ctx.interaction.respond(content=f"Following {url} here.", ephemeral=True)


@plugin.on_slash_command("feeds")
def list_feeds(ctx, event):
    lines = [f"{url} → {', '.join(f'<#{c}>' for c in channels)}" for url, channels in Follows(ctx.kv).all().items()]
    ctx.interaction.respond(content="\n".join(lines) or "No feeds yet.", ephemeral=True)


def fetch(ctx, url: str) -> str | None:
    try:
        response = ctx.http.get(url, headers={"Accept": "application/rss+xml, application/atom+xml"})
    except RateLimitError:
        return None
    except SdkError as exc:
        ctx.log(f"feed {url} failed: {exc}", level="warning")
        return None
    if response.get("status") != 200:
        return None
    return response.get("body_bytes") or response.get("body") or ""


@plugin.cron("*/15 * * * *")
def poll_feeds(ctx):
    follows = Follows(ctx.kv)
    for url, channels in follows.all().items():
        text = fetch(ctx, url)
        if text is None:
            continue
        fresh = follows.new_entries(url, parse.entries(text))[:MAX_POSTS_PER_FEED]
        for entry in reversed(fresh):
            for channel_id in channels:
                ctx.discord.send_message(channel_id=channel_id, content=f"📰 **{entry['title']}**\n{entry['link']}")
    ctx.metrics.record("feeds.followed", len(follows.all()))


@plugin.on_dashboard("feed_list")
def feed_list(ctx, params):
    rows = [{"feed": url, "channels": len(channels)} for url, channels in Follows(ctx.kv).all().items()]
    return {"rows": rows, "total": len(rows)}


def check_python_blog(ctx):
    """Used by the admin command in older versions; kept for the dashboard's health widget."""
    return ctx.http.get("https://blog.python.org/feeds/posts/default", params={"max-results": 1}).get("status")
