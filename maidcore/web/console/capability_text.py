"""What each capability unlocks, in the words an installer reads beside its tier (the capability picker).

The method lists come from the platform's capability catalogue (``maidcore.capabilities``),
so a method added there shows up here; only the one-line summaries live in this module.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from maidcore.capabilities import CATALOGUE, DISCORD_METHOD_CAPABILITY, Tier

SUMMARY: dict[str, str] = {
    "storage:kv": "Keep its own key-value data for this server",
    "storage:sql": "Its own private SQL database for this server",
    "storage:secrets": "Read and store encrypted secrets (API keys) for this server",
    "discord:send_message": "Post messages in channels",
    "discord:edit_message": "Edit, pin and unpin its messages",
    "discord:add_reaction": "Add reactions to messages",
    "discord:read": "Read message history, members, channels and roles",
    "discord:delete_message": "Delete messages, also in bulk",
    "discord:manage_channels": "Create, edit and delete channels and threads, set channel permissions",
    "discord:manage_webhooks": "Create, use and delete webhooks",
    "discord:moderate_members": "Time members out and change nicknames",
    "discord:kick_members": "Kick members",
    "discord:ban_members": "Ban and unban members",
    "discord:manage_roles": "Give and take roles",
    "interaction:respond": "Answer slash commands, buttons and modals",
    "proxy:http": "Make HTTPS requests to the hosts listed below, through the platform's proxy",
    "proxy:websocket": "Hold WebSocket connections to the hosts listed below, through the platform",
    "events:message_content": "Receive the text of messages (Discord's message content intent)",
}

#: Host method namespaces whose every method needs one capability.
_NAMESPACES = {
    "storage:kv": "ctx.kv.*",
    "storage:sql": "ctx.sql.*",
    "storage:secrets": "ctx.secrets.*",
    "interaction:respond": "ctx.interaction.*",
    "proxy:http": "ctx.http.*",
    "proxy:websocket": "ctx.ws.*",
}


def _methods() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for method, cap in DISCORD_METHOD_CAPABILITY.items():
        out[cap].append("ctx." + method)
    for cap, pattern in _NAMESPACES.items():
        out[cap].append(pattern)
    return dict(out)


METHODS = _methods()


def tier_of(capability: str) -> Tier | None:
    return CATALOGUE.get(capability)


def describe(capability: str) -> dict[str, Any]:
    """``{capability, tier, tier_rank, summary, methods}`` for one capability (unknown ones say so)."""
    tier = CATALOGUE.get(capability)
    return {
        "capability": capability,
        "tier": tier.label if tier is not None else "Unknown",
        "tier_rank": int(tier) if tier is not None else -1,
        "summary": SUMMARY.get(capability, "Not in this platform's capability catalogue"),
        "methods": METHODS.get(capability, []),
    }


def by_tier(capabilities: list[str] | set[str] | frozenset[str]) -> list[dict[str, Any]]:
    """Every capability described, the most dangerous first, then by name."""
    return sorted((describe(c) for c in capabilities), key=lambda d: (-d["tier_rank"], d["capability"]))
