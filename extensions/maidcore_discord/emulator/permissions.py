"""Discord permission bits and the way Discord computes a member's permissions in a channel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

BITS: dict[str, int] = {
    "create_instant_invite": 1 << 0,
    "kick_members": 1 << 1,
    "ban_members": 1 << 2,
    "administrator": 1 << 3,
    "manage_channels": 1 << 4,
    "manage_guild": 1 << 5,
    "add_reactions": 1 << 6,
    "view_audit_log": 1 << 7,
    "priority_speaker": 1 << 8,
    "stream": 1 << 9,
    "view_channel": 1 << 10,
    "send_messages": 1 << 11,
    "send_tts_messages": 1 << 12,
    "manage_messages": 1 << 13,
    "embed_links": 1 << 14,
    "attach_files": 1 << 15,
    "read_message_history": 1 << 16,
    "mention_everyone": 1 << 17,
    "use_external_emojis": 1 << 18,
    "view_guild_insights": 1 << 19,
    "connect": 1 << 20,
    "speak": 1 << 21,
    "mute_members": 1 << 22,
    "deafen_members": 1 << 23,
    "move_members": 1 << 24,
    "use_vad": 1 << 25,
    "change_nickname": 1 << 26,
    "manage_nicknames": 1 << 27,
    "manage_roles": 1 << 28,
    "manage_webhooks": 1 << 29,
    "manage_guild_expressions": 1 << 30,
    "use_application_commands": 1 << 31,
    "request_to_speak": 1 << 32,
    "manage_events": 1 << 33,
    "manage_threads": 1 << 34,
    "create_public_threads": 1 << 35,
    "create_private_threads": 1 << 36,
    "use_external_stickers": 1 << 37,
    "send_messages_in_threads": 1 << 38,
    "use_embedded_activities": 1 << 39,
    "moderate_members": 1 << 40,
}
ALL = (1 << 41) - 1


def bits(*names: str) -> int:
    """The bitfield holding the named permissions."""
    value = 0
    for name in names:
        value |= BITS[name]
    return value


def base_permissions(guild: Mapping[str, Any], user_id: str) -> int:
    """Guild-level permissions: @everyone plus the member's roles; owner and administrators get everything."""
    if guild["owner_id"] == user_id:
        return ALL
    member = guild["members"].get(user_id)
    roles = guild["roles"]
    value = int(roles[guild["id"]]["permissions"])
    for role_id in member["roles"] if member else ():
        if role_id in roles:
            value |= int(roles[role_id]["permissions"])
    if value & BITS["administrator"]:
        return ALL
    return value


def channel_permissions(guild: Mapping[str, Any], channel: Mapping[str, Any], user_id: str) -> int:
    """Permissions in ``channel``: base, then @everyone, role and member overwrites, in Discord's order."""
    value = base_permissions(guild, user_id)
    if value & BITS["administrator"]:
        return ALL
    overwrites = {o["id"]: o for o in _overwrites_of(guild, channel)}
    everyone = overwrites.get(guild["id"])
    if everyone:
        value = (value & ~int(everyone["deny"])) | int(everyone["allow"])
    member = guild["members"].get(user_id)
    allow = deny = 0
    for role_id in member["roles"] if member else ():
        o = overwrites.get(role_id)
        if o:
            allow |= int(o["allow"])
            deny |= int(o["deny"])
    value = (value & ~deny) | allow
    o = overwrites.get(user_id)
    if o:
        value = (value & ~int(o["deny"])) | int(o["allow"])
    if not value & BITS["view_channel"]:
        return 0
    return value


def _overwrites_of(guild: Mapping[str, Any], channel: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    # Threads take their parent's overwrites.
    if channel.get("type") in (10, 11, 12) and channel.get("parent_id") in guild["channels"]:
        return guild["channels"][channel["parent_id"]].get("permission_overwrites", [])
    return channel.get("permission_overwrites", [])
