"""The capability catalogue (SDK contract §7): names, tiers, and what each host method needs.

The facts live once in the SDK (``yourbot_sdk._validate._catalogue``, whose method → capability
map is read from the SDK's own method tables); this module is the platform's typed view of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from types import MappingProxyType

from yourbot_sdk._validate import _catalogue as _sdk


class Tier(IntEnum):
    """Ordered so that a tier shift is a comparison: SAFE < RISKY < DANGEROUS."""

    SAFE = _sdk.TIER_ORDER[_sdk.SAFE]
    RISKY = _sdk.TIER_ORDER[_sdk.RISKY]
    DANGEROUS = _sdk.TIER_ORDER[_sdk.DANGEROUS]

    @property
    def label(self) -> str:
        return self.name.capitalize()


CATALOGUE: Mapping[str, Tier] = MappingProxyType(
    {cap: Tier(_sdk.TIER_ORDER[tier]) for cap, tier in _sdk.CATALOGUE.items()}
)

#: Accepted in manifests with a warning; they grant nothing.
LEGACY_NAMES: frozenset[str] = _sdk.LEGACY_NAMES

#: Host method prefixes of the APIs whose every method needs one capability. The host's names
#: differ from the ctx ones where the SDK renames on the wire (``ctx.http`` sends ``proxy.*``).
_PREFIXED: dict[str, str] = {
    "kv.": "storage:kv",
    "sql.": "storage:sql",
    "secrets.": "storage:secrets",
    "proxy.": "proxy:http",
    "http.": "proxy:http",  # http.allow_host / http.revoke_host (0.10.0)
    "ws.": "proxy:websocket",  # ctx.ws (0.8.0)
    "interaction.": "interaction:respond",
}

#: Host methods that need no capability (§7.1 "No capability needed").
FREE_PREFIXES: tuple[str, ...] = ("ephemeral.", "metrics.")

#: Every ``discord.*`` host method and the capability it needs.
DISCORD_METHOD_CAPABILITY: Mapping[str, str] = MappingProxyType(
    {f"discord.{method}": cap for method, cap in _sdk.DISCORD_METHODS.items()}
)

#: ``discord.*`` methods that only read: not counted against the 60/min action limit (§8).
DISCORD_READ_METHODS: frozenset[str] = frozenset(
    method for method, cap in DISCORD_METHOD_CAPABILITY.items() if cap == "discord:read"
)


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
    return frozenset(_sdk.effective(declared, slash_commands=slash_commands, proxy_domains=proxy_domains))


def highest_tier(caps: Iterable[str]) -> Tier:
    """The highest tier among ``caps`` (SAFE for none)."""
    return max((CATALOGUE[c] for c in caps if c in CATALOGUE), default=Tier.SAFE)
