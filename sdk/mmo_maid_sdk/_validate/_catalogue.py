"""The capability catalogue (contract §7) and which SDK call needs which capability.

The one home of these facts: the SDK validates bundles without the platform installed, and
the platform's ``maidcore.capabilities`` builds its typed view from this module.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import _api

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
    "proxy:websocket": DANGEROUS,  # ctx.ws (0.8.0): the host holds sockets to exact manifest hosts
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


#: ``ctx.discord.<method>`` → capability, read from the method table the real and mock ``Context`` use
#: (the host's ``discord.<method>`` has the same name).
DISCORD_METHODS: dict[str, str] = {m.name: m.capability for m in _api.group("discord") if m.capability}


def _sole_capability(api: str) -> str | None:
    """The capability every method of ``ctx.<api>`` needs, or ``None`` if they differ or need none."""
    caps = {m.capability for m in _api.group(api)}
    return caps.pop() if len(caps) == 1 else None


#: ``ctx.<api>.<method>`` → capability, for the APIs besides discord whose every method needs the same one.
API_METHODS: dict[str, tuple[str, frozenset[str]]] = {
    api: (cap, frozenset(m.name for m in _api.group(api)))
    for api in _api.GROUPS
    if api != "discord" and (cap := _sole_capability(api))
}

# ctx.ws (0.8.0) until the SDK's own method tables hold it: the validator must know its capability already.
API_METHODS.setdefault("ws", ("proxy:websocket", frozenset({"ensure", "send", "close", "allow_host", "revoke_host"})))

#: Declared-but-unused is not reported for these: use is often indirect or the capability grants nothing.
UNUSED_EXEMPT = frozenset({"storage:kv", "storage:sql", "interaction:respond", "events:message_content"})


def declared_capabilities(manifest: dict) -> tuple[str | None, object]:
    """The key capabilities are read from and its raw value (``(None, [])`` when none is present)."""
    for key in CAPABILITY_KEYS:
        if key in manifest:
            return key, manifest[key]
    return None, []


def effective(declared: Iterable[object], *, slash_commands: bool, proxy_domains: bool) -> set[str]:
    """Declared catalogue names plus the auto-added ones (§2.1); legacy and unknown names grant nothing."""
    caps = {c for c in declared if isinstance(c, str) and c in CATALOGUE}
    if slash_commands:
        caps.add("interaction:respond")
    if proxy_domains:
        caps.add("proxy:http")
    return caps


def effective_capabilities(manifest: dict) -> set[str]:
    """``effective`` for a raw manifest dict, whatever its shape."""
    _, raw = declared_capabilities(manifest)
    return effective(
        raw if isinstance(raw, list) else (),
        slash_commands=isinstance(manifest.get("slash_commands"), list) and bool(manifest["slash_commands"]),
        proxy_domains=isinstance(manifest.get("proxy_domains_requested"), list)
        and bool(manifest["proxy_domains_requested"]),
    )
