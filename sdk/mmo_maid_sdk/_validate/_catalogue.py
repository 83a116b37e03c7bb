"""The capability catalogue (contract §7) and which SDK call needs which capability.

A stdlib copy of what the platform holds in ``maidcore.capabilities``: the SDK
must validate bundles without the platform installed.
"""

from __future__ import annotations

SAFE, RISKY, DANGEROUS = "Safe", "Risky", "Dangerous"

CATALOGUE: dict[str, str] = {
    "storage:kv": SAFE,
    "discord:send_message": SAFE,
    "discord:edit_message": SAFE,
    "discord:add_reaction": SAFE,
    "discord:read": SAFE,
    "interaction:respond": SAFE,
    "proxy:http": SAFE,
    "events:message_content": SAFE,
    "discord:delete_message": RISKY,
    "discord:manage_channels": RISKY,
    "discord:manage_webhooks": RISKY,
    "storage:sql": RISKY,
    "storage:secrets": RISKY,
    "discord:moderate_members": DANGEROUS,
    "discord:kick_members": DANGEROUS,
    "discord:ban_members": DANGEROUS,
    "discord:manage_roles": DANGEROUS,
}

TIER_ORDER = {SAFE: 0, RISKY: 1, DANGEROUS: 2}

LEGACY_NAMES = frozenset(
    {
        "kv:read",
        "kv:write",
        "events:member_join",
        "events:member_leave",
        "events:reaction_add",
        "events:reaction_remove",
        "discord:respond_to_interaction",
    }
)

#: Manifest keys capabilities are read from, first present wins (§2.1).
CAPABILITY_KEYS = ("capabilities_required", "capabilities_requested", "requested_capabilities", "capabilities")

DISCORD_METHODS: dict[str, str] = {
    method: cap
    for cap, methods in {
        "discord:send_message": ("send_message",),
        "discord:edit_message": ("edit_message", "pin_message", "unpin_message"),
        "discord:delete_message": ("delete_message", "bulk_delete_messages"),
        "discord:add_reaction": ("add_reaction",),
        "discord:read": (
            "get_messages",
            "get_guild",
            "get_channel",
            "list_channels",
            "get_member",
            "list_members",
            "search_members",
            "list_roles",
        ),
        "discord:manage_channels": (
            "create_channel",
            "edit_channel",
            "delete_channel",
            "set_channel_permissions",
            "delete_channel_permission",
            "create_thread",
            "edit_thread",
        ),
        "discord:moderate_members": ("timeout_member", "timeout_bulk", "set_nickname"),
        "discord:kick_members": ("kick_member", "kick_bulk"),
        "discord:ban_members": ("ban_member", "unban_member"),
        "discord:manage_roles": ("add_role", "remove_role", "add_role_bulk", "remove_role_bulk"),
        "discord:manage_webhooks": ("create_webhook", "execute_webhook", "delete_webhook"),
    }.items()
    for method in methods
}

#: ``ctx.<api>.<method>`` → capability, for the APIs whose every method needs one.
API_METHODS: dict[str, tuple[str, frozenset[str]]] = {
    "kv": (
        "storage:kv",
        frozenset(
            {
                "get",
                "set",
                "delete",
                "exists",
                "increment",
                "decrement",
                "list",
                "list_values",
                "count",
                "get_many",
                "set_many",
            }
        ),
    ),
    "sql": ("storage:sql", frozenset({"execute", "query", "query_one", "scalar"})),
    "secrets": ("storage:secrets", frozenset({"get", "set", "delete"})),
    "http": ("proxy:http", frozenset({"request", "get", "post"})),
    "interaction": ("interaction:respond", frozenset({"respond", "defer", "followup", "send_modal"})),
}

#: Declared-but-unused is not reported for these: use is often indirect or the capability grants nothing.
UNUSED_EXEMPT = frozenset({"storage:kv", "storage:sql", "interaction:respond", "events:message_content"})


def declared_capabilities(manifest: dict) -> tuple[str | None, object]:
    """The key capabilities are read from and its raw value (``(None, [])`` when none is present)."""
    for key in CAPABILITY_KEYS:
        if key in manifest:
            return key, manifest[key]
    return None, []


def effective_capabilities(manifest: dict) -> set[str]:
    """Declared catalogue names plus the auto-added ones (§2.1); legacy and unknown names grant nothing."""
    _, raw = declared_capabilities(manifest)
    caps = {c for c in raw if isinstance(c, str) and c in CATALOGUE} if isinstance(raw, list) else set()
    if isinstance(manifest.get("slash_commands"), list) and manifest["slash_commands"]:
        caps.add("interaction:respond")
    if isinstance(manifest.get("proxy_domains_requested"), list) and manifest["proxy_domains_requested"]:
        caps.add("proxy:http")
    return caps
