"""The capability catalogue and which ctx call needs which capability, as the static checks use them.

The facts live in ``yourbot_sdk.spec`` (capabilities and method tables); this module keeps the
names the checks and older platform code import.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..spec import capabilities as _caps
from ..spec.methods import NAMESPACES

SAFE, RISKY, DANGEROUS = _caps.SAFE, _caps.RISKY, _caps.DANGEROUS

#: Capability name -> tier label.
CATALOGUE: dict[str, str] = {name: cap.tier for name, cap in _caps.CAPABILITIES.items()}

TIER_ORDER = {tier: i for i, tier in enumerate(_caps.TIERS)}

LEGACY_NAMES = _caps.LEGACY_CAPABILITIES

#: Manifest keys capabilities are read from; the declared set is their union.
CAPABILITY_KEYS = _caps.CAPABILITY_KEYS

#: ``ctx.discord.<method>`` -> capability (the host's ``discord.<method>`` has the same name).
DISCORD_METHODS: dict[str, str] = {m.name: m.capability for m in NAMESPACES["discord"] if m.capability}


def _sole_capability(namespace: str) -> str | None:
    caps = {m.capability for m in NAMESPACES[namespace]}
    return caps.pop() if len(caps) == 1 else None


#: ``ctx.<api>`` -> (capability, its methods), for the APIs besides discord whose every method needs one capability.
API_METHODS: dict[str, tuple[str, frozenset[str]]] = {
    api: (cap, frozenset(m.name for m in NAMESPACES[api]))
    for api in NAMESPACES
    if api != "discord" and (cap := _sole_capability(api))
}

#: Declared-but-unused is not reported for these: use is often indirect or the capability grants nothing.
UNUSED_EXEMPT = frozenset({"storage:kv", "storage:sql", "interaction:respond", "events:message_content"})


def declared_capabilities(manifest: dict) -> tuple[str | None, object]:
    """``(first capability key present, the union of all four keys' names)``; ``(None, [])`` when none is present."""
    present = [k for k in CAPABILITY_KEYS if k in manifest]
    if not present:
        return None, []
    if len(present) == 1:
        return present[0], manifest[present[0]]
    return present[0], _caps.declared_capabilities(manifest)


def effective(declared: Iterable[object], *, slash_commands: bool, proxy_domains: bool) -> set[str]:
    """Declared catalogue names plus the auto-added ones; legacy and unknown names grant nothing."""
    return _caps.effective(declared, slash_commands=slash_commands, proxy_domains=proxy_domains)


def effective_capabilities(manifest: dict) -> set[str]:
    """``effective`` for a raw manifest dict, whatever its shape."""
    return _caps.effective_capabilities(manifest)
