"""Gateway events, as discord.py hands them over, turned into the SDK's flat event payloads (contract §6).

Each builder returns exactly the keys of the matching ``yourbot_sdk.events``
TypedDict; snowflakes are strings, missing values are the documented empties.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _role_ids(member: Any) -> list[str]:
    """Role ids without @everyone (discord.py keeps them in ``_roles``; a bare ``User`` has none)."""
    roles = getattr(member, "_roles", None)
    return [str(r) for r in roles] if roles is not None else []


def emoji_text(emoji: discord.PartialEmoji | discord.Emoji | str) -> str:
    if isinstance(emoji, str):
        return emoji
    if getattr(emoji, "id", None):
        return f"{emoji.name}:{emoji.id}"
    return emoji.name or ""


def message_create(message: discord.Message) -> dict[str, Any]:
    ref = message.reference.message_id if message.reference and message.reference.message_id else None
    return {
        "type": "message_create",
        "guild_id": str(message.guild.id),  # type: ignore[union-attr]
        "message_id": str(message.id),
        "channel_id": str(message.channel.id),
        "channel_name": getattr(message.channel, "name", "") or "",
        "author_id": str(message.author.id),
        "author_username": message.author.name,
        "author_bot": bool(message.author.bot or message.webhook_id),
        "content": message.content or "",
        "timestamp": message.created_at.isoformat(),
        "embed_count": len(message.embeds),
        "attachment_count": len(message.attachments),
        "mention_count": len(message.mentions),
        "reference_message_id": str(ref) if ref else None,
    }


def message_edit(payload: discord.RawMessageUpdateEvent) -> dict[str, Any]:
    data = payload.data
    author = data.get("author") or {}
    cached = payload.cached_message
    author_id = author.get("id") or (cached.author.id if cached else "")
    return {
        "type": "message_edit",
        "guild_id": str(payload.guild_id),
        "message_id": str(payload.message_id),
        "channel_id": str(payload.channel_id),
        "author_id": str(author_id),
        "content": data.get("content") or "",
        "embed_count": len(data.get("embeds") or []),
        "attachment_count": len(data.get("attachments") or []),
        "mention_count": len(data.get("mentions") or []),
    }


def message_delete(guild_id: int, channel_id: int, message_id: int, cached: discord.Message | None) -> dict:
    return {
        "type": "message_delete",
        "guild_id": str(guild_id),
        "message_id": str(message_id),
        "channel_id": str(channel_id),
        "author_id": str(cached.author.id) if cached else None,
        "content": (cached.content or "") if cached else "",
    }


def _member_identity(member: discord.Member | discord.User) -> dict[str, Any]:
    return {
        "user_id": str(member.id),
        "username": member.name,
        "display_name": member.display_name,
        "bot": bool(member.bot),
    }


def member_join(member: discord.Member) -> dict[str, Any]:
    return {
        "type": "member_join",
        "guild_id": str(member.guild.id),
        **_member_identity(member),
        "joined_at": _iso(member.joined_at),
        "roles": [],
        "nick": member.nick,
        "guild_name": member.guild.name,
        "member_count": member.guild.member_count or 0,
    }


def member_leave(guild_id: int, user: discord.Member | discord.User) -> dict[str, Any]:
    return {
        "type": "member_leave",
        "guild_id": str(guild_id),
        **_member_identity(user),
        "joined_at": _iso(getattr(user, "joined_at", None)),
        "roles": _role_ids(user),
        "nick": getattr(user, "nick", None),
    }


def member_update(before: discord.Member, after: discord.Member) -> dict[str, Any]:
    return {
        "type": "member_update",
        "guild_id": str(after.guild.id),
        **_member_identity(after),
        "roles": _role_ids(after),
        "before_roles": _role_ids(before),
        "nick": after.nick,
        "before_nick": before.nick,
    }


def reaction(kind: str, payload: discord.RawReactionActionEvent, user_bot: bool) -> dict[str, Any]:
    return {
        "type": kind,
        "guild_id": str(payload.guild_id),
        "message_id": str(payload.message_id),
        "channel_id": str(payload.channel_id),
        "user_id": str(payload.user_id),
        "user_bot": user_bot,
        "emoji": emoji_text(payload.emoji),
    }


def voice_state_update(member: discord.Member, before: discord.VoiceState, after: discord.VoiceState) -> dict:
    after_id = str(after.channel.id) if after.channel else None
    return {
        "type": "voice_state_update",
        "guild_id": str(member.guild.id),
        "user_id": str(member.id),
        "username": member.name,
        "bot": bool(member.bot),
        "channel_id": after_id,
        "before_channel_id": str(before.channel.id) if before.channel else None,
        "after_channel_id": after_id,
        "before_channel_name": before.channel.name if before.channel else None,
        "after_channel_name": after.channel.name if after.channel else None,
        "self_mute": bool(after.self_mute),
        "self_deaf": bool(after.self_deaf),
        "self_stream": bool(after.self_stream),
        "self_video": bool(after.self_video),
        # discord.py copies the new flags into ``before`` when the member was not in voice: not in voice = not streaming
        "before_self_stream": bool(before.self_stream) if before.channel else False,
        "after_self_stream": bool(after.self_stream),
    }


def _channel_type(channel: discord.abc.GuildChannel) -> int:
    value = channel.type.value if hasattr(channel.type, "value") else int(channel.type)
    return int(value)


def channel(kind: str, ch: discord.abc.GuildChannel, before: discord.abc.GuildChannel | None = None) -> dict:
    out = {
        "type": _channel_type(ch),  # channel events carry the channel type here (contract §6, as in 0.5.x)
        "guild_id": str(ch.guild.id),
        "id": str(ch.id),
        "channel_id": str(ch.id),
        "name": ch.name,
        "category_id": str(ch.category_id) if ch.category_id else None,
        "position": int(ch.position or 0),
    }
    if kind == "channel_update":
        out["before_name"] = before.name if before is not None else ch.name
    return out


def role(kind: str, r: discord.Role, before: discord.Role | None = None) -> dict[str, Any]:
    out = {
        "type": kind,
        "guild_id": str(r.guild.id),
        "id": str(r.id),
        "role_id": str(r.id),
        "name": r.name,
        "color": int(r.colour.value),
        "position": int(r.position),
        "permissions": str(r.permissions.value),
        "managed": bool(r.managed),
        "mentionable": bool(r.mentionable),
    }
    if kind == "role_update":
        out["before_name"] = before.name if before is not None else r.name
    return out


_SNOWFLAKE_OPTIONS = {6, 7, 8, 9, 11}


def command_options(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Discord's option tree as ``[{name, type, value}]``; sub-commands and groups nest ``options``."""
    out = []
    for opt in raw or []:
        otype = int(opt.get("type", 3))
        if otype in (1, 2):
            out.append({"name": opt["name"], "type": otype, "options": command_options(opt.get("options"))})
            continue
        value = opt.get("value")
        if otype in _SNOWFLAKE_OPTIONS:
            value = str(value)
        elif otype == 4:
            value = int(value)
        elif otype == 10:
            value = float(value)
        elif otype == 5:
            value = bool(value)
        out.append({"name": opt["name"], "type": otype, "value": value})
    return out


def modal_values(components: list[dict[str, Any]] | None) -> dict[str, str]:
    """``{custom_id: value}`` from a modal submit's rows (action rows and the newer label wrappers)."""
    values: dict[str, str] = {}
    stack = list(components or [])
    while stack:
        c = stack.pop(0)
        if "components" in c:
            stack[0:0] = c["components"]
        if "component" in c:
            stack.insert(0, c["component"])
        if c.get("type") in (4,) and "custom_id" in c:
            values[c["custom_id"]] = str(c.get("value") or "")
        elif "values" in c and "custom_id" in c:
            values[c["custom_id"]] = ",".join(str(v) for v in c["values"])
    return values


def interaction_create(interaction: discord.Interaction) -> dict[str, Any]:
    data: dict[str, Any] = dict(interaction.data or {})
    itype = int(interaction.type.value)
    member = interaction.user
    permissions = str(interaction.permissions.value)
    options = command_options(data.get("options")) if itype == 2 else []
    return {
        "type": "interaction_create",
        "guild_id": str(interaction.guild_id),
        "interaction_id": str(interaction.id),
        "interaction_type": itype,
        "command_name": data.get("name", "") if itype == 2 else "",
        "command_type": int(data.get("type", 1)) if itype == 2 else 0,
        "options": options,
        "command_options": options,
        "custom_id": data.get("custom_id", "") if itype in (3, 5) else "",
        "component_type": int(data.get("component_type", 0)) if itype == 3 else 0,
        "values": [str(v) for v in data.get("values", [])] if itype == 3 else [],
        "modal_values": modal_values(data.get("components")) if itype == 5 else {},
        "user_id": str(member.id),
        "user_username": member.name,
        "channel_id": str(interaction.channel_id),
        "permissions": permissions,
        "member": {"permissions": permissions, "roles": _role_ids(member), "nick": getattr(member, "nick", None)},
    }
