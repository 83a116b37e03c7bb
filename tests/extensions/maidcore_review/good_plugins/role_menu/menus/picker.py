"""A member's pick from a menu becomes exactly their roles from that menu."""

from .storage import MenuStore


def sync(ctx, user_id: str, menu: dict, picked: set[str], current: set[str]) -> tuple[list[str], list[str]]:
    offered = {r["id"] for r in menu["roles"]}
    add = sorted((picked & offered) - current)
    remove = sorted((offered - picked) & current)
    for role_id in add:
        ctx.discord.add_role(user_id=user_id, role_id=role_id, reason="role menu")
    for role_id in remove:
        ctx.discord.remove_role(user_id=user_id, role_id=role_id, reason="role menu")
    return add, remove


def install(plugin):
    @plugin.on_component(prefix="rolemenu:")
    def picked(ctx, event):
        name = event["custom_id"].split(":", 1)[1]
        menu = MenuStore(ctx).get(name)
        if menu is None:
            ctx.interaction.respond(content="This menu no longer exists.", ephemeral=True)
            return
        current = {str(r) for r in (event.get("member") or {}).get("roles", [])}
        add, remove = sync(ctx, event["user_id"], menu, set(event.get("values") or []), current)
        ctx.interaction.respond(content=f"Added {len(add)}, removed {len(remove)} role(s).", ephemeral=True)
