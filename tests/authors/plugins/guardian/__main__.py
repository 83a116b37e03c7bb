"""Guardian: strikes with automatic timeouts, a spam brake, and appeals through a modal."""

from yourbot_sdk import (
    ActionRow,
    Button,
    Plugin,
    RateLimitError,
    SdkPermissionError,
    TextInput,
    ValidationError,
)

plugin = Plugin()

TIMEOUT_AT = 3  # strikes that earn a timeout
TIMEOUT_MINUTES = 60
SPAM_LIMIT = 5  # messages per window
SPAM_WINDOW = 10  # seconds
REASONS = {"spam": "Spam", "harassment": "Harassment", "off_topic": "Off-topic"}


def options_of(event):
    """Flatten the interaction's options to {name: value}, sub-command first under "_sub"."""
    flat = {}
    for opt in event.get("options") or []:
        if opt.get("type") in (1, 2):
            flat["_sub"] = opt["name"]
            for inner in opt.get("options") or []:
                flat[inner["name"]] = inner.get("value")
        else:
            flat[opt["name"]] = opt.get("value")
    return flat


def modlog(ctx, text):
    channel = ctx.kv.get("config:log_channel")
    if channel:
        ctx.discord.send_message(channel_id=channel, content=text, allowed_mentions={"parse": []})


@plugin.on_ready
def setup(ctx):
    if ctx.kv.get("config:version") is None:
        ctx.kv.set("config:version", 1)


@plugin.on_slash_command("guardian-setup")
def guardian_setup(ctx, event):
    channel = options_of(event)["channel"]
    ctx.kv.set("config:log_channel", str(channel))
    ctx.interaction.respond(content=f"Moderation log: <#{channel}>", ephemeral=True)


@plugin.on_slash_command("strike")
def strike(ctx, event):
    opts = options_of(event)
    member, reason = str(opts["member"]), opts["reason"]
    weight = int(opts.get("weight") or 1)
    if ctx.ephemeral.cooldown_check(f"strike:{member}")["active"]:
        ctx.interaction.respond(content="That member was struck moments ago.", ephemeral=True)
        return
    ctx.ephemeral.cooldown_set(f"strike:{member}", ttl_seconds=30)
    total = ctx.kv.increment(f"strikes:{member}", weight)
    ctx.kv.set(f"last:{member}", {"reason": reason, "by": event.get("user_id"), "total": total})
    ctx.metrics.record("strikes_issued", weight, tags={"reason": reason})
    note = f"Strike for <@{member}> ({REASONS.get(reason, reason)}). Total: {total}."
    if total >= TIMEOUT_AT:
        try:
            ctx.discord.timeout_member(user_id=member, duration_seconds=TIMEOUT_MINUTES * 60, reason=f"{total} strikes")
            note += f" Timed out for {TIMEOUT_MINUTES} minutes."
        except SdkPermissionError as exc:
            note += f" I could not time them out (missing {exc.permission or 'a permission'})."
        except RateLimitError as exc:
            note += f" Timeout postponed, retry in {int(exc.retry_after)}s."
    undo = Button("Undo", custom_id=f"undo:{member}:{weight}", style="danger")
    ctx.interaction.respond(content=note, components=[ActionRow(undo)], ephemeral=True)
    modlog(ctx, note)


@plugin.on_component(prefix="undo:")
def undo(ctx, event):
    _, member, weight = event["custom_id"].split(":")
    left = ctx.kv.decrement(f"strikes:{member}", int(weight))
    if left <= 0:
        ctx.kv.delete(f"strikes:{member}")
        left = 0
    ctx.interaction.respond(content=f"Strike undone. <@{member}> has {left}.", components=[], update_message=True)


@plugin.on_slash_command("strikes")
def strikes(ctx, event):
    opts = options_of(event)
    member = str(opts["member"])
    if opts.get("_sub") == "clear":
        ctx.kv.delete(f"strikes:{member}")
        ctx.interaction.respond(content=f"Cleared <@{member}>.", ephemeral=True)
        return
    total = ctx.kv.get(f"strikes:{member}") or 0
    last = ctx.kv.get(f"last:{member}")
    text = f"<@{member}> has {total} strike(s)."
    if last:
        text += f" Last: {REASONS.get(last['reason'], last['reason'])}."
    appeal = Button("Appeal", custom_id=f"appeal:{member}", style="secondary")
    ctx.interaction.respond(content=text, components=[ActionRow(appeal)], ephemeral=True)


@plugin.on_component(prefix="appeal:")
def appeal(ctx, event):
    member = event["custom_id"].split(":", 1)[1]
    if event.get("user_id") != member:
        ctx.interaction.respond(content="Only the member can appeal.", ephemeral=True)
        return
    ctx.interaction.send_modal(
        title="Appeal your strikes",
        custom_id="appeal_form",
        fields=[TextInput("Why should we lift them?", "why", style="paragraph", min_length=10, max_length=500)],
    )


@plugin.on_modal_submit("appeal_form")
def appeal_submitted(ctx, event):
    member = event.get("user_id", "")
    why = (event.get("modal_values") or {}).get("why", "").strip()
    if not ctx.ephemeral.dedup(f"appeal:{member}", ttl_seconds=3600):
        ctx.interaction.respond(content="You already appealed this hour.", ephemeral=True)
        return
    ctx.kv.set(f"appeal:{member}", {"why": why})
    ctx.interaction.respond(content="Appeal received. A moderator will read it.", ephemeral=True)
    modlog(ctx, f"Appeal from <@{member}>: {why}")


@plugin.on_event("message_create")
def spam_brake(ctx, event):
    if event.get("author_bot"):
        return
    author = event["author_id"]
    count = ctx.ephemeral.counter(f"msgs:{author}", window_seconds=SPAM_WINDOW)
    if count <= SPAM_LIMIT:
        return
    try:
        ctx.discord.delete_message(channel_id=event["channel_id"], message_id=event["message_id"])
    except ValidationError as exc:
        ctx.log(f"could not delete: {exc}", level="warning", tags=["spam"])
        return
    if ctx.ephemeral.dedup(f"spam-warned:{author}", ttl_seconds=60):
        ctx.discord.send_message(
            channel_id=event["channel_id"],
            content=f"<@{author}>, slow down.",
            allowed_mentions={"users": [author]},
        )
        ctx.metrics.record("spam_brakes")


@plugin.cron("0 4 * * *")
def forgive_old_strikes(ctx):
    """Every night, one strike off everyone; keys come back 100 at a time."""
    after, forgiven = "", 0
    while True:
        keys = ctx.kv.list("strikes:", 100, start_after=after)
        for key in keys:
            if ctx.kv.decrement(key) <= 0:
                ctx.kv.delete(key)
            forgiven += 1
        if len(keys) < 100:
            break
        after = keys[-1]
    ctx.log("nightly forgiveness", forgiven=forgiven)
    if forgiven:
        modlog(ctx, f"Forgave one strike for {forgiven} member(s).")


if __name__ == "__main__":
    plugin.run()
