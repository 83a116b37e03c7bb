"""FAQ Tags: /tag show|add|remove|list and ?name in chat."""

import tags
from mmo_maid_sdk import Plugin
from suggest import closest

plugin = Plugin()
PREFIX = "?"
MANAGE_GUILD = 1 << 5


def subcommand(event):
    options = event.get("options") or []
    if not options:
        return None, {}
    sub = options[0]
    return sub.get("name"), {o["name"]: o.get("value") for o in sub.get("options") or []}


def can_manage(event) -> bool:
    permissions = int(event.get("member", {}).get("permissions") or event.get("permissions") or 0)
    return bool(permissions & MANAGE_GUILD)


@plugin.on_slash_command("tag")
def tag_command(ctx, event):
    name, args = subcommand(event)
    store = tags.TagStore(ctx.kv)
    if name == "show":
        answer = store.get(args["name"])
        if answer is None:
            hint = closest(args["name"], store.names())
            ctx.interaction.respond(
                content=f"No tag {args['name']!r}." + (f" Did you mean {hint!r}?" if hint else ""), ephemeral=True
            )
        else:
            ctx.interaction.respond(content=answer)
    elif name in ("add", "remove") and not can_manage(event):
        ctx.interaction.respond(content="You need Manage Server to change tags.", ephemeral=True)
    elif name == "add":
        try:
            store.put(args["name"], args["text"], event["user_id"])
        except ValueError as exc:
            ctx.interaction.respond(content=str(exc), ephemeral=True)
            return
        ctx.interaction.respond(content=f"Saved tag {tags.normalise(args['name'])!r}.", ephemeral=True)
    elif name == "remove":
        removed = store.remove(args["name"])
        ctx.interaction.respond(content="Removed." if removed else "No such tag.", ephemeral=True)
    else:
        names = store.names()
        ctx.interaction.respond(content=", ".join(f"`{n}`" for n in names) or "No tags yet.", ephemeral=True)


@plugin.on_event("message_create")
def quick_tag(ctx, event):
    content = event.get("content", "")
    if event.get("author_bot") or not content.startswith(PREFIX) or " " in content.strip():
        return
    answer = tags.TagStore(ctx.kv).get(content[len(PREFIX) :])
    if answer:
        ctx.discord.send_message(channel_id=event["channel_id"], content=answer)


if __name__ == "__main__":
    plugin.run()
