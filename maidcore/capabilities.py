"""The capability catalogue (SDK contract §7): names, tiers, and what each host method needs.

The facts live once, in the SDK's public spec: the catalogue in ``yourbot_sdk.spec.capabilities``,
the method → capability map in the method tables of ``yourbot_sdk.spec.methods`` (read here by
the RPC name each method sends). This module is the platform's typed view of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from types import MappingProxyType

from yourbot_sdk.spec import capabilities as _caps
from yourbot_sdk.spec.methods import METHODS, RPC_METHODS


class Tier(IntEnum):
    """Ordered so that a tier shift is a comparison: SAFE < RISKY < DANGEROUS."""

    SAFE = _caps.TIERS.index(_caps.SAFE)
    RISKY = _caps.TIERS.index(_caps.RISKY)
    DANGEROUS = _caps.TIERS.index(_caps.DANGEROUS)

    @property
    def label(self) -> str:
        return self.name.capitalize()


CATALOGUE: Mapping[str, Tier] = MappingProxyType(
    {name: Tier(_caps.TIERS.index(entry.tier)) for name, entry in _caps.CAPABILITIES.items()}
)

#: Accepted in manifests with a warning; they grant nothing.
LEGACY_NAMES: frozenset[str] = _caps.LEGACY_CAPABILITIES


def _rpc_capabilities() -> dict[str, str | None]:
    table: dict[str, str | None] = {}
    for rpc, methods in RPC_METHODS.items():
        needed = {m.capability for m in methods}
        if len(needed) != 1:  # the spec would be inconsistent: one request, two capabilities
            raise RuntimeError(f"yourbot_sdk.spec gives {rpc} several capabilities: {sorted(map(str, needed))}")
        table[rpc] = needed.pop()
    for qualname, method in METHODS.items():  # ctx names too (``discord.iter_messages`` sends get_messages)
        table.setdefault(qualname, method.capability)
    return table


#: Every host method (the RPC name a ctx method sends, and the ctx name) and the capability it needs; ``None``: free.
METHOD_CAPABILITY: Mapping[str, str | None] = MappingProxyType(_rpc_capabilities())

#: Every ``discord.*`` host method and the capability it needs.
DISCORD_METHOD_CAPABILITY: Mapping[str, str] = MappingProxyType(
    {rpc: cap for rpc, cap in METHOD_CAPABILITY.items() if rpc.startswith("discord.") and cap is not None}
)

#: ``discord.*`` methods that only read: not counted against the 60/min action limit (§8).
DISCORD_READ_METHODS: frozenset[str] = frozenset(
    method for method, cap in DISCORD_METHOD_CAPABILITY.items() if cap == "discord:read"
)


def capability_for(method: str) -> str | None:
    """The capability a host method needs; ``None`` for free methods. ``KeyError`` if the method is unknown."""
    return METHOD_CAPABILITY[method]


def effective(declared: Iterable[str], *, slash_commands: bool, proxy_domains: bool) -> frozenset[str]:
    """Declared capabilities plus the auto-added ones (§2.1), legacy names dropped."""
    return frozenset(_caps.effective(declared, slash_commands=slash_commands, proxy_domains=proxy_domains))


def highest_tier(caps: Iterable[str]) -> Tier:
    """The highest tier among ``caps`` (SAFE for none)."""
    return max((CATALOGUE[c] for c in caps if c in CATALOGUE), default=Tier.SAFE)
