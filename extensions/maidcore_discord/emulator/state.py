"""What the emulated Discord knows: users, guilds and everything in them, kept as Discord-shaped dicts.

Every change goes through a method here that also dispatches the matching
gateway event, so REST calls, the web page and test helpers all produce the
same events a real guild would.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from maidcore_discord.emulator import permissions as perms

DISCORD_EPOCH_MS = 1420070400000
DEMO_GUILD_ID = "900000000000000001"
APPLICATION_ID = "900000000000000100"
BOT_USER_ID = APPLICATION_ID  # Discord gives a bot user the id of its application
_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(?:everyone|here)\b")


class ApiError(Exception):
    """A Discord error response: HTTP status, Discord's JSON error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def unknown(kind: str) -> ApiError:
    codes = {
        "guild": 10004,
        "channel": 10003,
        "message": 10008,
        "member": 10007,
        "role": 10011,
        "user": 10013,
        "webhook": 10015,
        "ban": 10026,
        "interaction": 10062,
        "overwrite": 10009,
    }
    return ApiError(404, codes[kind], f"Unknown {kind.capitalize()}")


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).isoformat()


def snowflake_time(snowflake: str) -> float:
    return ((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000


class State:
    """All emulated entities; ``on_dispatch(event_name, data, guild_id)`` is called for every gateway event."""

    def __init__(self, bot_token: str) -> None:
        self.bot_token = bot_token
        self._counter = itertools.count(1)
        self.users: dict[str, dict[str, Any]] = {}
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channel_guild: dict[str, str] = {}
        self.messages: dict[str, dict[str, dict[str, Any]]] = {}  # channel id -> message id -> message
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.interactions: dict[str, dict[str, Any]] = {}
        self.modals: dict[str, dict[str, Any]] = {}  # interaction id -> open modal
        self.dispatch_listeners: list[Callable[[str, dict[str, Any], str | None], None]] = []
        self.add_user(BOT_USER_ID, "maidcore", bot=True)

    # --- persistence ----------------------------------------------------------

    #: What survives a restart: everything a plugin may have stored an id of (interactions and modals expire anyway).
    PERSISTED = ("users", "guilds", "channel_guild", "messages", "webhooks")

    def to_data(self) -> dict[str, Any]:
        return {"version": 1, **{name: getattr(self, name) for name in self.PERSISTED}}

    def load_data(self, data: dict[str, Any]) -> None:
        """Take over a saved ``to_data()`` (the bot user is kept as this process knows it)."""
        if data.get("version") != 1:
            raise ValueError(f"unknown emulator state version {data.get('version')!r}; expected 1")
        for name in self.PERSISTED:
            value = data.get(name)
            if not isinstance(value, dict):
                raise ValueError(f"emulator state field {name!r} must be an object")
            if name == "users":
                value = {**value, BOT_USER_ID: self.users[BOT_USER_ID]}
            setattr(self, name, value)

    # --- ids and events -------------------------------------------------------

    def snowflake(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self._counter) & 0x3FFFFF))

    def dispatch(self, event: str, data: dict[str, Any], guild_id: str | None) -> None:
        for listener in list(self.dispatch_listeners):
            listener(event, data, guild_id)

    # --- users and guilds -----------------------------------------------------

    def add_user(self, user_id: str, username: str, *, bot: bool = False, global_name: str | None = None) -> dict:
        user = {
            "id": user_id,
            "username": username,
            "global_name": global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }
        self.users[user_id] = user
        return user

    def create_guild(
        self,
        name: str,
        *,
        guild_id: str | None = None,
        owner_id: str | None = None,
        bot_permissions: int = perms.ALL & ~perms.BITS["administrator"],
        everyone_permissions: int | None = None,
    ) -> dict[str, Any]:
        """A guild with @everyone, a bot role holding ``bot_permissions``, and the bot as a member."""
        gid = guild_id or self.snowflake()
        if everyone_permissions is None:
            everyone_permissions = perms.bits(
                "view_channel",
                "send_messages",
                "read_message_history",
                "add_reactions",
                "connect",
                "speak",
                "use_application_commands",
                "create_public_threads",
                "send_messages_in_threads",
                "change_nickname",
                "embed_links",
                "attach_files",
            )
        guild: dict[str, Any] = {
            "id": gid,
            "name": name,
            "icon": None,
            "description": None,
            "owner_id": owner_id or "0",
            "premium_tier": 0,
            "features": [],
            "roles": {},
            "channels": {},
            "members": {},
            "bans": {},
            "voice_states": {},
            "commands": [],
        }
        self.guilds[gid] = guild
        guild["roles"][gid] = self._role(gid, "@everyone", everyone_permissions, position=0)
        bot_role = self._role(self.snowflake(), "maidcore", bot_permissions, position=10, managed=True)
        bot_role["tags"] = {"bot_id": BOT_USER_ID}
        guild["roles"][bot_role["id"]] = bot_role
        guild["bot_role_id"] = bot_role["id"]
        guild["members"][BOT_USER_ID] = self._member(BOT_USER_ID, roles=[bot_role["id"]])
        return guild

    def _role(self, role_id: str, name: str, permissions: int, *, position: int, managed: bool = False) -> dict:
        return {
            "id": role_id,
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(permissions),
            "managed": managed,
            "mentionable": False,
            "flags": 0,
        }

    def _member(self, user_id: str, *, roles: list[str] | None = None, nick: str | None = None) -> dict:
        return {
            "user_id": user_id,
            "nick": nick,
            "roles": list(roles or []),
            "joined_at": iso(),
            "communication_disabled_until": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }

    def guild(self, guild_id: str) -> dict[str, Any]:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise unknown("guild") from None

    def guild_of_channel(self, channel_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        gid = self.channel_guild.get(channel_id)
        if gid is None:
            raise unknown("channel")
        guild = self.guilds[gid]
        return guild, guild["channels"][channel_id]

    # --- payloads ---------------------------------------------------------------

    def member_payload(self, guild: dict[str, Any], user_id: str) -> dict[str, Any]:
        m = guild["members"][user_id]
        out = {k: v for k, v in m.items() if k != "user_id"}
        out["user"] = self.users[user_id]
        out["avatar"] = None
        out["premium_since"] = None
        return out

    def channel_payload(self, channel: dict[str, Any]) -> dict[str, Any]:
        return dict(channel)

    def role_payload(self, role: dict[str, Any]) -> dict[str, Any]:
        return dict(role)

    def guild_payload(self, guild: dict[str, Any]) -> dict[str, Any]:
        """The GUILD_CREATE payload: the guild with its roles, channels, threads and members."""
        channels = [c for c in guild["channels"].values() if c["type"] not in (10, 11, 12)]
        threads = [c for c in guild["channels"].values() if c["type"] in (10, 11, 12)]
        return {
            **self.guild_rest_payload(guild),
            "joined_at": guild["members"][BOT_USER_ID]["joined_at"],
            "large": False,
            "unavailable": False,
            "member_count": len(guild["members"]),
            "channels": [self.channel_payload(c) for c in channels],
            "threads": [self.channel_payload(c) for c in threads],
            "members": [self.member_payload(guild, uid) for uid in guild["members"]],
            "voice_states": list(guild["voice_states"].values()),
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def guild_rest_payload(self, guild: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": guild["id"],
            "name": guild["name"],
            "icon": guild["icon"],
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": guild["description"],
            "owner_id": guild["owner_id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": guild["premium_tier"],
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "features": list(guild["features"]),
            "roles": [self.role_payload(r) for r in guild["roles"].values()],
            "emojis": [],
            "stickers": [],
            "approximate_member_count": len(guild["members"]),
            "approximate_presence_count": 0,
        }

    # --- channels ---------------------------------------------------------------

    def add_channel(
        self,
        guild_id: str,
        name: str,
        *,
        channel_type: int = 0,
        parent_id: str | None = None,
        topic: str | None = None,
        position: int | None = None,
        overwrites: list[dict[str, Any]] | None = None,
        user_limit: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        guild = self.guild(guild_id)
        cid = self.snowflake()
        channel: dict[str, Any] = {
            "id": cid,
            "guild_id": guild_id,
            "name": name,
            "type": channel_type,
            "position": len(guild["channels"]) if position is None else position,
            "parent_id": parent_id,
            "permission_overwrites": list(overwrites or []),
            "nsfw": False,
            "flags": 0,
        }
        if channel_type in (0, 5, 15):
            channel.update(topic=topic, last_message_id=None, rate_limit_per_user=0)
        if channel_type in (2, 13):
            channel.update(bitrate=64000, user_limit=user_limit or 0, rtc_region=None)
        if extra:
            channel.update(extra)
        guild["channels"][cid] = channel
        self.channel_guild[cid] = guild_id
        self.messages[cid] = {}
        if channel_type in (10, 11, 12):
            self.dispatch("THREAD_CREATE", {**self.channel_payload(channel), "newly_created": True}, guild_id)
        else:
            self.dispatch("CHANNEL_CREATE", self.channel_payload(channel), guild_id)
        return channel

    def update_channel(self, channel_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        guild, channel = self.guild_of_channel(channel_id)
        if channel["type"] in (10, 11, 12):
            meta = channel["thread_metadata"]
            for key in ("archived", "locked", "auto_archive_duration"):
                if key in changes:
                    meta[key] = changes.pop(key)
            channel.update(changes)
            self.dispatch("THREAD_UPDATE", self.channel_payload(channel), guild["id"])
        else:
            channel.update(changes)
            self.dispatch("CHANNEL_UPDATE", self.channel_payload(channel), guild["id"])
        return channel

    def delete_channel(self, channel_id: str) -> dict[str, Any]:
        guild, channel = self.guild_of_channel(channel_id)
        del guild["channels"][channel_id]
        del self.channel_guild[channel_id]
        self.messages.pop(channel_id, None)
        event = "THREAD_DELETE" if channel["type"] in (10, 11, 12) else "CHANNEL_DELETE"
        self.dispatch(event, self.channel_payload(channel), guild["id"])
        return channel

    # --- roles --------------------------------------------------------------------

    def add_role(self, guild_id: str, name: str, permissions: int = 0, *, position: int | None = None) -> dict:
        guild = self.guild(guild_id)
        role = self._role(self.snowflake(), name, permissions, position=position or len(guild["roles"]))
        guild["roles"][role["id"]] = role
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": guild_id, "role": self.role_payload(role)}, guild_id)
        return role

    def update_role(self, guild_id: str, role_id: str, changes: dict[str, Any]) -> dict:
        guild = self.guild(guild_id)
        role = guild["roles"].get(role_id) or _raise(unknown("role"))
        role.update(changes)
        if "color" in changes:  # newer clients read the gradient form
            role["colors"] = {**role["colors"], "primary_color": int(changes["color"])}
        self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": guild_id, "role": self.role_payload(role)}, guild_id)
        return role

    def delete_role(self, guild_id: str, role_id: str) -> None:
        guild = self.guild(guild_id)
        if guild["roles"].pop(role_id, None) is None:
            raise unknown("role")
        for member in guild["members"].values():
            if role_id in member["roles"]:
                member["roles"].remove(role_id)
        self.dispatch("GUILD_ROLE_DELETE", {"guild_id": guild_id, "role_id": role_id}, guild_id)

    # --- members ------------------------------------------------------------------

    def add_member(self, guild_id: str, user_id: str, *, roles: list[str] | None = None, nick: str | None = None):
        guild = self.guild(guild_id)
        if user_id not in self.users:
            raise unknown("user")
        guild["members"][user_id] = self._member(user_id, roles=roles, nick=nick)
        self.dispatch("GUILD_MEMBER_ADD", {**self.member_payload(guild, user_id), "guild_id": guild_id}, guild_id)
        return guild["members"][user_id]

    def update_member(self, guild_id: str, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        guild = self.guild(guild_id)
        member = guild["members"].get(user_id) or _raise(unknown("member"))
        member.update(changes)
        self.dispatch("GUILD_MEMBER_UPDATE", {**self.member_payload(guild, user_id), "guild_id": guild_id}, guild_id)
        return member

    def remove_member(self, guild_id: str, user_id: str) -> None:
        guild = self.guild(guild_id)
        if guild["members"].pop(user_id, None) is None:
            raise unknown("member")
        guild["voice_states"].pop(user_id, None)
        self.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": guild_id, "user": self.users[user_id]}, guild_id)

    def set_voice(self, guild_id: str, user_id: str, channel_id: str | None, **flags: bool) -> dict[str, Any]:
        guild = self.guild(guild_id)
        if user_id not in guild["members"]:
            raise unknown("member")
        state = {
            "guild_id": guild_id,
            "channel_id": channel_id,
            "user_id": user_id,
            "member": self.member_payload(guild, user_id),
            "session_id": secrets.token_hex(8),
            "deaf": False,
            "mute": False,
            "self_deaf": flags.get("self_deaf", False),
            "self_mute": flags.get("self_mute", False),
            "self_stream": flags.get("self_stream", False),
            "self_video": flags.get("self_video", False),
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
        if channel_id is None:
            guild["voice_states"].pop(user_id, None)
        else:
            guild["voice_states"][user_id] = {k: v for k, v in state.items() if k != "member"}
        self.dispatch("VOICE_STATE_UPDATE", state, guild_id)
        return state

    # --- messages -------------------------------------------------------------------

    def create_message(
        self,
        channel_id: str,
        author_id: str,
        *,
        content: str = "",
        embeds: list[dict] | None = None,
        components: list[dict] | None = None,
        attachments: list[dict] | None = None,
        reference_id: str | None = None,
        webhook_id: str | None = None,
        author_override: dict[str, Any] | None = None,
        flags: int = 0,
        interaction_metadata: dict[str, Any] | None = None,
        message_type: int = 0,
        allowed_mentions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        guild, channel = self.guild_of_channel(channel_id)
        mid = self.snowflake()
        msg: dict[str, Any] = {
            "id": mid,
            "channel_id": channel_id,
            "guild_id": guild["id"],
            "author": author_override or self.users[author_id],
            "content": content,
            "timestamp": iso(),
            "edited_timestamp": None,
            "tts": False,
            **self.mentions(guild, channel, author_id, content, allowed_mentions),
            "attachments": list(attachments or []),
            "embeds": list(embeds or []),
            "reactions": [],
            "pinned": False,
            "type": message_type,
            "flags": flags,
            "components": list(components or []),
        }
        if webhook_id:
            msg["webhook_id"] = webhook_id
        if reference_id:
            msg["message_reference"] = {"type": 0, "message_id": reference_id, "channel_id": channel_id}
            msg["type"] = 19
        if interaction_metadata:
            msg["interaction_metadata"] = interaction_metadata
            msg["application_id"] = APPLICATION_ID
        self.messages[channel_id][mid] = msg
        channel["last_message_id"] = mid
        payload = dict(msg)
        if not webhook_id and author_id in guild["members"]:
            payload["member"] = {k: v for k, v in self.member_payload(guild, author_id).items() if k != "user"}
        self.dispatch("MESSAGE_CREATE", payload, guild["id"])
        return msg

    def message(self, channel_id: str, message_id: str) -> dict[str, Any]:
        self.guild_of_channel(channel_id)
        msg = self.messages[channel_id].get(message_id)
        if msg is None:
            raise unknown("message")
        return msg

    def mentions(
        self,
        guild: dict[str, Any],
        channel: dict[str, Any],
        author_id: str,
        content: str,
        allowed: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Who ``content`` pings, as Discord decides it: ``allowed_mentions`` (absent = every kind the author may)."""
        from maidcore_discord.emulator.permissions import bits, channel_permissions

        users = [u for u in dict.fromkeys(_MENTION.findall(content)) if u in self.users]
        roles = [r for r in dict.fromkeys(_ROLE_MENTION.findall(content)) if r in guild["roles"] and r != guild["id"]]
        may_everyone = author_id not in guild["members"] or bool(
            channel_permissions(guild, channel, author_id) & bits("mention_everyone")
        )
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            roles = [r for r in roles if may_everyone or guild["roles"][r].get("mentionable")]
            picked_users: set[str] = set()
            picked_roles: set[str] = set()
        else:
            parse = set(allowed.get("parse") or [])
            picked_users = {str(u) for u in allowed.get("users") or []}
            picked_roles = {str(r) for r in allowed.get("roles") or []}
        return {
            "mentions": [self.users[u] for u in users if "users" in parse or u in picked_users],
            "mention_roles": [r for r in roles if "roles" in parse or r in picked_roles],
            "mention_everyone": bool(_EVERYONE.search(content)) and "everyone" in parse and may_everyone,
        }

    def edit_message(
        self,
        channel_id: str,
        message_id: str,
        changes: dict[str, Any],
        *,
        allowed_mentions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        msg = self.message(channel_id, message_id)
        msg.update(changes)
        if "content" in changes:
            guild, channel = self.guild_of_channel(channel_id)
            msg.update(self.mentions(guild, channel, msg["author"]["id"], msg["content"], allowed_mentions))
        msg["edited_timestamp"] = iso()
        self.dispatch("MESSAGE_UPDATE", dict(msg), msg["guild_id"])
        return msg

    def delete_message(self, channel_id: str, message_id: str) -> None:
        msg = self.message(channel_id, message_id)
        del self.messages[channel_id][message_id]
        self.dispatch(
            "MESSAGE_DELETE", {"id": message_id, "channel_id": channel_id, "guild_id": msg["guild_id"]}, msg["guild_id"]
        )

    def bulk_delete(self, channel_id: str, message_ids: list[str]) -> None:
        guild, _ = self.guild_of_channel(channel_id)
        for mid in message_ids:
            self.messages[channel_id].pop(mid, None)
        self.dispatch(
            "MESSAGE_DELETE_BULK",
            {"ids": list(message_ids), "channel_id": channel_id, "guild_id": guild["id"]},
            guild["id"],
        )

    def react(self, channel_id: str, message_id: str, user_id: str, emoji: str, *, add: bool = True) -> None:
        msg = self.message(channel_id, message_id)
        name, _, emoji_id = emoji.partition(":")
        emoji_obj = {"id": emoji_id or None, "name": name}
        entry = next((r for r in msg["reactions"] if r["emoji"] == emoji_obj), None)
        if add:
            if entry is None:
                entry = {"emoji": emoji_obj, "count": 0, "me": False, "users": []}
                msg["reactions"].append(entry)
            if user_id in entry["users"]:
                return
            entry["users"].append(user_id)
        else:
            if entry is None or user_id not in entry["users"]:
                return
            entry["users"].remove(user_id)
            if not entry["users"]:
                msg["reactions"].remove(entry)
        if entry is not None:
            entry["count"] = len(entry["users"])
            entry["me"] = BOT_USER_ID in entry["users"]
        guild = self.guilds[msg["guild_id"]]
        data: dict[str, Any] = {
            "user_id": user_id,
            "channel_id": channel_id,
            "message_id": message_id,
            "guild_id": guild["id"],
            "emoji": emoji_obj,
            "burst": False,
            "type": 0,
            "message_author_id": msg["author"]["id"],
        }
        if add and user_id in guild["members"]:
            data["member"] = self.member_payload(guild, user_id)
        self.dispatch("MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", data, guild["id"])

    def public_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A message as REST returns it (reaction user lists are the emulator's own bookkeeping)."""
        out = dict(msg)
        out["reactions"] = [{k: v for k, v in r.items() if k != "users"} for r in msg["reactions"]]
        return out


def _raise(exc: Exception) -> Any:
    raise exc
