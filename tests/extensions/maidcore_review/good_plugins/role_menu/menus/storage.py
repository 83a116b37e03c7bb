"""Menus by name: ``menu:<name>`` → {"max": n, "roles": [{"id", "label", "emoji"}]}."""

MAX_ROLES = 25


class MenuStore:
    def __init__(self, ctx):
        self.kv = ctx.kv

    def get(self, name: str) -> dict | None:
        return self.kv.get(f"menu:{name.lower()}")

    def create(self, name: str, max_picks: int) -> None:
        self.kv.set(f"menu:{name.lower()}", {"max": max(1, min(MAX_ROLES, max_picks)), "roles": []})

    def add_role(self, name: str, role: dict) -> dict:
        menu = self.get(name)
        if menu is None:
            raise KeyError(name)
        if len(menu["roles"]) >= MAX_ROLES:
            raise ValueError(f"a menu holds at most {MAX_ROLES} roles")
        menu["roles"] = [r for r in menu["roles"] if r["id"] != role["id"]] + [role]
        self.kv.set(f"menu:{name.lower()}", menu)
        return menu
