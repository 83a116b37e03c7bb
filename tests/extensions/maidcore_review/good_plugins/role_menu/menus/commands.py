"""/rolemenu create|add|post."""

from mmo_maid_sdk import ActionRow, SelectMenu, SelectOption

from .storage import MenuStore


def parse(event):
    sub = (event.get("options") or [{}])[0]
    return sub.get("name"), {o["name"]: o.get("value") for o in sub.get("options") or []}


def role_name(ctx, role_id: str) -> str:
    for role in ctx.discord.list_roles():
        if str(role.get("id")) == str(role_id):
            return role.get("name", role_id)
    return str(role_id)


def menu_component(name: str, menu: dict) -> ActionRow:
    options = [SelectOption(r["label"], r["id"], emoji=r.get("emoji") or None) for r in menu["roles"]]
    return ActionRow(
        SelectMenu(
            f"rolemenu:{name}",
            options,
            placeholder="Pick your roles",
            min_values=0,
            max_values=min(menu["max"], len(options)),
        )
    )


def install(plugin):
    @plugin.on_slash_command("rolemenu")
    def rolemenu(ctx, event):
        sub, args = parse(event)
        store = MenuStore(ctx)
        if sub == "create":
            store.create(args["name"], int(args.get("max") or 25))
            ctx.interaction.respond(content=f"Menu {args['name']!r} created.", ephemeral=True)
        elif sub == "add":
            role = {"id": str(args["role"]), "label": role_name(ctx, args["role"])[:100], "emoji": args.get("emoji")}
            try:
                store.add_role(args["name"], role)
            except (KeyError, ValueError) as exc:
                ctx.interaction.respond(content=f"Could not add: {exc}", ephemeral=True)
                return
            ctx.interaction.respond(content=f"Added {role['label']}.", ephemeral=True)
        elif sub == "post":
            menu = store.get(args["name"])
            if not menu or not menu["roles"]:
                ctx.interaction.respond(content="That menu has no roles yet.", ephemeral=True)
                return
            ctx.discord.send_message(
                channel_id=event["channel_id"],
                content=f"**{args['name']}**",
                components=[menu_component(args["name"], menu)],
            )
            ctx.interaction.respond(content="Posted.", ephemeral=True)
