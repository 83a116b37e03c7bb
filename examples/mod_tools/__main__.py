"""Moderation Tools: strikes that end in a timeout, channel cleanup, and a dashboard to tune them."""

from yourbot_sdk import Plugin, SdkPermissionError

plugin = Plugin()

DEFAULTS = {"threshold": 3, "timeout_minutes": 10}


def option(event, name, default=None):
    for item in event.get("options", []):
        if item.get("name") == name:
            return item.get("value")
    return default


def settings(ctx):
    return {**DEFAULTS, **(ctx.kv.get("settings") or {})}


@plugin.on_slash_command("strike")
def strike(ctx, event):
    member = option(event, "member")
    reason = option(event, "reason", "no reason given")
    count = ctx.kv.increment(f"strikes:{member}")
    config = settings(ctx)
    text = f"<@{member}> now has {count} strike(s): {reason}"
    if count >= config["threshold"]:
        try:
            ctx.discord.timeout_member(
                user_id=member, duration_seconds=config["timeout_minutes"] * 60, reason=f"{count} strikes"
            )
            ctx.kv.set(f"strikes:{member}", 0)
            text += f" - timed out for {config['timeout_minutes']} minutes."
        except SdkPermissionError as exc:
            text += f" - could not time them out (bot lacks {exc.permission})."
    ctx.interaction.respond(content=text, allowed_mentions={"parse": []})


@plugin.on_slash_command("strikes")
def strikes(ctx, event):
    member = option(event, "member")
    ctx.interaction.respond(
        content=f"<@{member}> has {ctx.kv.get(f'strikes:{member}') or 0} strike(s).", ephemeral=True
    )


@plugin.on_slash_command("cleanup")
def cleanup(ctx, event):
    count = max(2, min(50, int(option(event, "count", 10))))
    ctx.interaction.defer(ephemeral=True)
    messages = ctx.discord.get_messages(channel_id=event["channel_id"], limit=count)
    ids = [m["id"] for m in messages]
    if len(ids) >= 2:
        ctx.discord.bulk_delete_messages(channel_id=event["channel_id"], message_ids=ids)
    ctx.interaction.followup(content=f"Deleted {len(ids) if len(ids) >= 2 else 0} message(s).", ephemeral=True)


@plugin.on_dashboard("strikes")
def strikes_table(ctx, params):
    rows = [
        {"member": key.split(":", 1)[1], "strikes": value}
        for key, value in ctx.kv.list_values("strikes:").items()
        if value
    ]
    return {"rows": rows, "total": len(rows)}


@plugin.on_dashboard("settings")
def read_settings(ctx, params):
    return {"values": settings(ctx)}


@plugin.on_dashboard("save_settings")
def save_settings(ctx, params):
    values = params.get("values", {})
    config = {
        "threshold": max(1, min(10, int(values.get("threshold", DEFAULTS["threshold"])))),
        "timeout_minutes": max(1, min(40320, int(values.get("timeout_minutes", DEFAULTS["timeout_minutes"])))),
    }
    ctx.kv.set("settings", config)
    return {"ok": True}


if __name__ == "__main__":
    plugin.run()
