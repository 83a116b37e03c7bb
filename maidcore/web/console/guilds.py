"""Guild facts the console shows (names, channels, roles), read through the event source like a plugin's calls.

The console asks ``platform.events.call`` with its own scope — never a plugin's
grant — and keeps answers briefly so a page full of guild names costs one
request per guild a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from maidcore.scope import Scope

log = logging.getLogger(__name__)

CONSOLE_PLUGIN = "maidcore-console"  # the scope's plugin id: logs and rate buckets show the console asked
CACHE_SECONDS = 60.0
_cache: dict[tuple[int, str, str], tuple[float, Any]] = {}


async def _ask(platform: Any, guild_id: str, method: str) -> Any:
    key = (id(platform), guild_id, method)
    hit = _cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    events = platform.events
    if events is None or not guild_id.isdigit():
        return None
    try:
        value = await asyncio.wait_for(events.call(Scope(guild_id, CONSOLE_PLUGIN), method, {}), 10)
    except Exception as exc:  # the guild may be gone or the bot not in it: the page shows the id instead
        log.debug("console could not read %s of guild %s: %s", method, guild_id, exc)
        value = None
    _cache[key] = (time.monotonic() + CACHE_SECONDS, value)
    return value


async def names(platform: Any, guild_ids: list[str], known: list[dict[str, Any]] | None = None) -> dict[str, str]:
    """Guild id → name: from ``known`` (the viewer's guild list) first, else asked; the id when nobody knows."""
    out = {g["id"]: g["name"] for g in known or [] if g.get("id") in guild_ids}
    missing = [g for g in dict.fromkeys(guild_ids) if g not in out]
    answers = await asyncio.gather(*(_ask(platform, g, "discord.get_guild") for g in missing))
    for gid, answer in zip(missing, answers, strict=True):
        guild = (answer or {}).get("guild") if isinstance(answer, dict) else None
        out[gid] = str(guild["name"]) if guild and guild.get("name") else gid
    return out


async def channels(platform: Any, guild_id: str) -> list[dict[str, str]]:
    """Text-like channels of a guild (for channel pickers): ``[{id, name}]``."""
    answer = await _ask(platform, guild_id, "discord.list_channels")
    items = (answer or {}).get("channels") or [] if isinstance(answer, dict) else []
    return [
        {"id": str(c["id"]), "name": str(c.get("name") or c["id"])}
        for c in items
        if isinstance(c, dict) and c.get("id") and c.get("type") in (0, 5, 15, None)
    ]


async def roles(platform: Any, guild_id: str) -> list[dict[str, str]]:
    """Roles of a guild except @everyone and bot-managed ones (for role pickers): ``[{id, name}]``."""
    answer = await _ask(platform, guild_id, "discord.list_roles")
    items = (answer or {}).get("roles") or [] if isinstance(answer, dict) else []
    return [
        {"id": str(r["id"]), "name": str(r.get("name") or r["id"])}
        for r in items
        if isinstance(r, dict) and r.get("id") and r.get("id") != guild_id and not r.get("managed")
    ]
