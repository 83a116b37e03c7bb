"""An iframe-mode dashboard: its page asks these handlers for data through the console's postMessage bridge."""

from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_dashboard("summary")
def summary(ctx, params):
    found = ctx.discord.list_members(limit=100)  # this guild's members: the call acts for the viewed guild
    return {"members": len(found), "asked_by": params.get("who"), "level": params.get("viewer_level")}


@plugin.on_dashboard("broken")
def broken(ctx, params):
    raise RuntimeError("the scoreboard is being rebuilt")


if __name__ == "__main__":
    plugin.run()
