"""The capability catalogue: every name a manifest may request, its review tier, and how a manifest declares them."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = [
    "AUTO_ADDED",
    "CAPABILITIES",
    "CAPABILITY_KEYS",
    "CAPABILITY_PATTERN",
    "DANGEROUS",
    "LEGACY_CAPABILITIES",
    "MOCK_DEFAULT_GRANT",
    "RISKY",
    "SAFE",
    "TIERS",
    "Capability",
    "declared_capabilities",
    "effective_capabilities",
    "tier_of",
]

SAFE, RISKY, DANGEROUS = "Safe", "Risky", "Dangerous"
#: Tiers from least to most trusted; a tier shift between versions is a comparison of positions.
TIERS: tuple[str, ...] = (SAFE, RISKY, DANGEROUS)

#: ``area:action``, lowercase: the shape of every capability name (unknown names are still errors).
CAPABILITY_PATTERN = r"^[a-z_]+:[a-z_]+$"


class Capability:
    """One catalogue entry: ``name``, review ``tier`` and what granting it allows."""

    __slots__ = ("name", "summary", "tier")

    def __init__(self, name: str, tier: str, summary: str) -> None:
        self.name = name
        self.tier = tier
        self.summary = summary

    def __repr__(self) -> str:
        return f"Capability({self.name!r}, {self.tier})"


def _catalogue(*entries: tuple[str, str, str]) -> dict[str, Capability]:
    return {name: Capability(name, tier, summary) for name, tier, summary in entries}


#: Every capability the platform grants, by name.
CAPABILITIES: Mapping[str, Capability] = _catalogue(
    ("storage:kv", SAFE, "per-server JSON key-value store (ctx.kv)"),
    ("discord:send_message", SAFE, "send messages, pin and unpin them"),
    ("discord:edit_message", SAFE, "edit messages the bot sent"),
    ("discord:add_reaction", SAFE, "add reactions"),
    ("discord:read", SAFE, "read the server, channels, members, roles and message history"),
    ("interaction:respond", SAFE, "answer slash commands, buttons, selects and modals (auto-added by slash_commands)"),
    ("proxy:http", SAFE, "HTTP to the hosts in proxy_domains_requested (auto-added by them)"),
    ("events:message_content", SAFE, "receive message text in message events"),
    ("discord:delete_message", RISKY, "delete any message, bulk delete"),
    ("discord:manage_channels", RISKY, "create, edit and delete channels and threads, channel permissions"),
    ("discord:manage_webhooks", RISKY, "create, execute and delete webhooks"),
    ("storage:sql", RISKY, "a private SQL schema per server (ctx.sql)"),
    ("storage:secrets", RISKY, "encrypted per-server secrets, secret-backed HTTP and WebSocket auth"),
    ("discord:moderate_members", DANGEROUS, "time members out and set nicknames"),
    ("discord:kick_members", DANGEROUS, "kick members"),
    ("discord:ban_members", DANGEROUS, "ban and unban members"),
    ("discord:manage_roles", DANGEROUS, "add and remove roles"),
    ("proxy:websocket", DANGEROUS, "long-lived WebSocket connections the platform holds (ctx.ws)"),
)

#: Names older manifests used; accepted with a warning, they grant nothing.
LEGACY_CAPABILITIES: frozenset[str] = frozenset(
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

#: The four manifest keys capabilities are read from; the declared set is their union.
#: Only ``capabilities_required`` is written by our tools.
CAPABILITY_KEYS: tuple[str, ...] = (
    "capabilities_required",
    "capabilities_requested",
    "requested_capabilities",
    "capabilities",
)

#: A capability a manifest gets without declaring it, keyed by the manifest field that implies it.
AUTO_ADDED: Mapping[str, str] = {"slash_commands": "interaction:respond", "proxy_domains_requested": "proxy:http"}

#: What ``MockContext()`` grants when no list is given: everything but the two opt-in capabilities.
MOCK_DEFAULT_GRANT: tuple[str, ...] = tuple(
    name for name in CAPABILITIES if name not in ("events:message_content", "proxy:websocket")
)


def tier_of(capability: str) -> str | None:
    """The tier of a catalogue name, ``None`` for anything else."""
    entry = CAPABILITIES.get(capability)
    return entry.tier if entry is not None else None


def declared_capabilities(manifest: Mapping[str, Any]) -> list[str]:
    """The union of the strings under all four capability keys, sorted; non-list values count as empty."""
    names: set[str] = set()
    for key in CAPABILITY_KEYS:
        value = manifest.get(key)
        if isinstance(value, list):
            names.update(v for v in value if isinstance(v, str))
    return sorted(names)


def effective_capabilities(manifest: Mapping[str, Any]) -> set[str]:
    """Declared catalogue names plus the auto-added ones; legacy and unknown names grant nothing."""
    caps = {c for c in declared_capabilities(manifest) if c in CAPABILITIES}
    for field, capability in AUTO_ADDED.items():
        value = manifest.get(field)
        if isinstance(value, list) and value:
            caps.add(capability)
    return caps


def effective(declared: Iterable[object], *, slash_commands: bool, proxy_domains: bool) -> set[str]:
    """``effective_capabilities`` from already-split parts (the platform's manifest model uses it)."""
    caps = {c for c in declared if isinstance(c, str) and c in CAPABILITIES}
    if slash_commands:
        caps.add(AUTO_ADDED["slash_commands"])
    if proxy_domains:
        caps.add(AUTO_ADDED["proxy_domains_requested"])
    return caps
