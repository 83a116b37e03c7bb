"""Audit Log: one handler per logged event type, registered in a loop."""

import audit_settings
from formatters import FORMATTERS
from mmo_maid_sdk import Plugin

plugin = Plugin()


def make_logger(event_type):
    def log_event(ctx, event):
        config = audit_settings.load(ctx.kv)
        if not config["channel"] or event_type in config["disabled"]:
            return
        line = FORMATTERS[event_type](event)
        if line:
            ctx.discord.send_message(channel_id=config["channel"], content=line[:2000])

    log_event.__name__ = f"log_{event_type}"
    return log_event


for event_type in FORMATTERS:
    plugin.on_event(event_type)(make_logger(event_type))


@plugin.on_slash_command("auditlog")
def configure(ctx, event):
    values = {o["name"]: o.get("value") for o in event.get("options", [])}
    disabled = audit_settings.save(ctx.kv, str(values["channel"]), str(values.get("disable") or ""))
    ctx.interaction.respond(
        content=f"Logging to <#{values['channel']}>" + (f", skipping {', '.join(disabled)}" if disabled else ""),
        ephemeral=True,
    )


if __name__ == "__main__":
    plugin.run()
