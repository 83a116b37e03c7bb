"""Pulse: polls a status page every 5 minutes and posts changes; small channel utilities."""

import json

from yourbot_sdk import CapabilityError, Plugin, RateLimitError, RpcError, ValidationError

plugin = Plugin()

STATUS_URL = "https://status.pulse.test/api/v2/summary.json"
COLOURS = {"none": 0x2ECC71, "minor": 0xF1C40F, "major": 0xE67E22, "critical": 0xE74C3C}


def sub_command(event):
    for opt in event.get("options") or []:
        if opt.get("type") == 1:
            return opt["name"], {o["name"]: o.get("value") for o in opt.get("options") or []}
    return "", {}


def fetch_status(ctx):
    """The status page's indicator and description, or None when it cannot be read now."""
    try:
        resp = ctx.http.request("GET", STATUS_URL, params={"lang": "en"}, secret_auth="STATUS_TOKEN")
    except RateLimitError as exc:
        ctx.log("status page rate limited", level="warning", retry_after=exc.retry_after)
        return None
    if resp["status"] != 200:
        ctx.log(f"status page answered {resp['status']}", level="warning")
        return None
    status = json.loads(resp["body_bytes"])["status"]
    return status["indicator"], status["description"]


def post_status(ctx, channel, indicator, description):
    ctx.discord.send_message(
        channel_id=channel,
        embeds=[{"title": "Status update", "description": description, "color": COLOURS.get(indicator, 0)}],
    )


@plugin.cron("*/5 * * * *")
def poll_status(ctx):
    channel = ctx.kv.get("channel")
    if not channel:
        return
    status = fetch_status(ctx)
    if status is None:
        return
    last = ctx.kv.get("last_status")
    if last != list(status):
        ctx.kv.set("last_status", list(status))
        if last is not None or status[0] != "none":
            post_status(ctx, channel, *status)


@plugin.on_slash_command("pulse")
def pulse(ctx, event):
    name, opts = sub_command(event)
    if name == "watch":
        ctx.kv.set("channel", str(opts["channel"]))
        ctx.interaction.respond(content=f"Watching the status page in <#{opts['channel']}>.", ephemeral=True)
    elif name == "check":
        ctx.interaction.defer(ephemeral=True)
        status = fetch_status(ctx)
        text = "The status page is unreachable right now." if status is None else f"{status[1]} ({status[0]})"
        ctx.interaction.followup(content=text, ephemeral=True)
    elif name == "trust":
        try:
            result = ctx.http.allow_host(opts["host"])
        except (ValidationError, CapabilityError) as exc:
            ctx.interaction.respond(content=f"Not allowed: {exc} [{exc.code}]", ephemeral=True)
            return
        except (AttributeError, RpcError) as exc:
            ctx.interaction.respond(content=f"This platform cannot allow hosts ({exc}).", ephemeral=True)
            return
        ctx.interaction.respond(content=f"Allowed {result.get('host', opts['host'])}.", ephemeral=True)
    elif name == "activity":
        count, authors = 0, set()
        for message in ctx.discord.iter_messages(channel_id=event["channel_id"], after=opts["since"], batch_size=100):
            count += 1
            authors.add((message.get("author") or {}).get("id") or message.get("author_id"))
            if count >= 1000:
                break
        ctx.interaction.respond(content=f"{count} message(s) from {len(authors)} member(s) since then.")
    else:
        ctx.interaction.respond(content="Unknown sub-command.", ephemeral=True)


if __name__ == "__main__":
    plugin.run()
