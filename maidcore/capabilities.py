"""The capability catalogue (SDK contract §7): names, tiers, and what each host method needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from types import MappingProxyType


class Tier(IntEnum):
    """Ordered so that a tier shift is a comparison: SAFE < RISKY < DANGEROUS."""

    SAFE = 0
    RISKY = 1
    DANGEROUS = 2

    @property
    def label(self) -> str:
        return self.name.capitalize()


CATALOGUE: Mapping[str, Tier] = MappingProxyType(
    {
        "storage:kv": Tier.SAFE,
        "discord:send_message": Tier.SAFE,
        "discord:edit_message": Tier.SAFE,
        "discord:add_reaction": Tier.SAFE,
        "discord:read": Tier.SAFE,
        "interaction:respond": Tier.SAFE,
        "proxy:http": Tier.SAFE,
        "events:message_content": Tier.SAFE,
        "discord:delete_message": Tier.RISKY,
        "discord:manage_channels": Tier.RISKY,
        "discord:manage_webhooks": Tier.RISKY,
        "storage:sql": Tier.RISKY,
        "storage:secrets": Tier.RISKY,
        "discord:moderate_members": Tier.DANGEROUS,
        "discord:kick_members": Tier.DANGEROUS,
        "discord:ban_members": Tier.DANGEROUS,
        "discord:manage_roles": Tier.DANGEROUS,
    }
)

#: Accepted in manifests with a warning; they grant nothing.
LEGACY_NAMES: frozenset[str] = frozenset(
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

_DISCORD_METHODS: dict[str, tuple[str, ...]] = {
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
}

_PREFIXED: dict[str, str] = {
    "kv.": "storage:kv",
    "sql.": "storage:sql",
    "secrets.": "storage:secrets",
    "proxy.": "proxy:http",
    "interaction.": "interaction:respond",
}

#: Host methods that need no capability (§7.1 "No capability needed").
FREE_PREFIXES: tuple[str, ...] = ("ephemeral.", "metrics.")

#: Every ``discord.*`` host method and the capability it needs.
DISCORD_METHOD_CAPABILITY: Mapping[str, str] = MappingProxyType(
    {f"discord.{m}": cap for cap, methods in _DISCORD_METHODS.items() for m in methods}
)

#: ``discord.*`` methods that only read: not counted against the 60/min action limit (§8).
DISCORD_READ_METHODS: frozenset[str] = frozenset(f"discord.{m}" for m in _DISCORD_METHODS["discord:read"])


def capability_for(method: str) -> str | None:
    """The capability a host method needs; ``None`` for free methods. ``KeyError`` if the method is unknown."""
    if method in DISCORD_METHOD_CAPABILITY:
        return DISCORD_METHOD_CAPABILITY[method]
    if method.startswith(FREE_PREFIXES):
        return None
    for prefix, cap in _PREFIXED.items():
        if method.startswith(prefix):
            return cap
    raise KeyError(method)


def effective(declared: Iterable[str], *, slash_commands: bool, proxy_domains: bool) -> frozenset[str]:
    """Declared capabilities plus the auto-added ones (§2.1), legacy names dropped."""
    caps = {c for c in declared if c in CATALOGUE}
    if slash_commands:
        caps.add("interaction:respond")
    if proxy_domains:
        caps.add("proxy:http")
    return frozenset(caps)


def highest_tier(caps: Iterable[str]) -> Tier:
    """The highest tier among ``caps`` (SAFE for none)."""
    return max((CATALOGUE[c] for c in caps if c in CATALOGUE), default=Tier.SAFE)
