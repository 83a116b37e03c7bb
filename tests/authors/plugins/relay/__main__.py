"""Price Relay: the platform holds a WebSocket to the market feed; big moves of chosen symbols get posted."""

import json

from yourbot_sdk import ActionRow, Plugin, SelectMenu, SelectOption, ValidationError

plugin = Plugin()

FEED = "wss://feed.relay.test/v1/stream"
SYMBOLS = ["AAPL", "MSFT", "NVDA", "SAP", "ASML"]
DEFAULT_THRESHOLD = 2.0  # percent


def sub_command(event):
    for opt in event.get("options") or []:
        if opt.get("type") == 1:
            return opt["name"], {o["name"]: o.get("value") for o in opt.get("options") or []}
    return "", {}


@plugin.on_install
def installed(ctx):
    ctx.kv.set("symbols", ["AAPL", "SAP"])


@plugin.on_disable
def disabled(ctx):
    for region in ("eu", "us"):
        if ctx.kv.get(f"feed:{region}"):
            ctx.ws.close(f"prices:{region}")


@plugin.on_slash_command("relay")
def relay(ctx, event):
    name, opts = sub_command(event)
    if name == "start":
        region = opts["region"]
        threshold = float(opts.get("threshold") or DEFAULT_THRESHOLD)
        ctx.kv.set(f"feed:{region}", {"channel": str(opts["channel"]), "threshold": threshold})
        try:
            conn = ctx.ws.ensure(
                f"prices:{region}",
                f"{FEED}?region={region}",
                auth={"scheme": "bearer", "secret": "FEED_TOKEN"},
                subscribe=[json.dumps({"op": "subscribe", "symbols": ctx.kv.get("symbols") or []})],
            )
        except ValidationError as exc:
            ctx.kv.delete(f"feed:{region}")
            ctx.interaction.respond(content=f"Could not connect: {exc}", ephemeral=True)
            return
        ctx.interaction.respond(
            content=f"Relaying {region.upper()} moves over {threshold:g}% to <#{opts['channel']}> ({conn['state']}).",
            ephemeral=True,
        )
    elif name == "stop":
        region = opts["region"]
        ctx.kv.delete(f"feed:{region}")
        ctx.ws.close(f"prices:{region}")
        ctx.interaction.respond(content=f"Stopped {region.upper()}.", ephemeral=True)
    elif name == "symbols":
        chosen = set(ctx.kv.get("symbols") or [])
        menu = SelectMenu(
            "relay:symbols",
            [SelectOption(s, s, default=s in chosen) for s in SYMBOLS],
            placeholder="Symbols to watch",
            min_values=1,
            max_values=len(SYMBOLS),
        )
        ctx.interaction.respond(content="Which symbols?", components=[ActionRow(menu)], ephemeral=True)


@plugin.on_component("relay:symbols")
def symbols_chosen(ctx, event):
    chosen = [s for s in event.get("values") or [] if s in SYMBOLS]
    ctx.kv.set("symbols", chosen)
    for region in ("eu", "us"):
        if ctx.kv.get(f"feed:{region}"):
            ctx.ws.send(f"prices:{region}", json.dumps({"op": "subscribe", "symbols": chosen}))
    ctx.interaction.respond(content=f"Watching {', '.join(chosen)}.", components=[], update_message=True)


# every kind by the same wildcard: an exact "prices:eu" handler of any kind would hide the wildcard
# handlers of the other kinds for that connection (exact names win, per connection name)
@plugin.on_ws_open("prices:*")
def opened(ctx):
    ctx.kv.increment("stats", path="opens")


@plugin.on_ws_message("prices:*")
def tick(ctx, msg):
    region = msg["name"].split(":", 1)[1]
    try:
        frame = json.loads(msg["data"])
    except ValueError:
        ctx.kv.increment("stats", path="other_frames")
        return
    if frame.get("type") != "move":
        return
    feed = ctx.kv.get(f"feed:{region}")
    if not feed or frame.get("symbol") not in (ctx.kv.get("symbols") or []):
        return
    change = float(frame.get("change_pct", 0))
    if abs(change) < feed["threshold"]:
        return
    if not ctx.ephemeral.dedup(f"move:{region}:{frame['symbol']}:{frame.get('seq')}", ttl_seconds=600):
        return  # the feed replays after a reconnect
    arrow = "📈" if change > 0 else "📉"
    ctx.discord.send_message(
        channel_id=feed["channel"], content=f"{arrow} {frame['symbol']} {change:+.1f}% ({region.upper()})"
    )
    ctx.kv.increment("stats", path="posted")


@plugin.on_ws_close("prices:*")
def closed(ctx, info):
    if not info.get("will_reconnect"):
        ctx.log("feed closed", level="warning", reason=info.get("reason", ""))


if __name__ == "__main__":
    plugin.run()
