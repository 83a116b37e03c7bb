"""The REST side of the emulator: Discord API v10 routes behind every ``ctx.discord`` method.

Routes check the bot's permissions as Discord does (role permissions, channel
overwrites, administrator bypass, role hierarchy for moderation) and answer
with Discord's status codes and JSON error codes.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from maidcore_discord.emulator import permissions as perms
from maidcore_discord.emulator.attachments import attachment_url
from maidcore_discord.emulator.oauth import Token
from maidcore_discord.emulator.state import (
    APPLICATION_ID,
    BOT_USER_ID,
    ApiError,
    iso,
    missing_access,
    missing_permissions,
    snowflake_time,
    unknown,
)

if TYPE_CHECKING:
    from maidcore_discord.emulator.server import Emulator

API_PREFIX = "/api/v10"
INTERACTION_RESPONSE_SECONDS = 3.0
INTERACTION_TOKEN_SECONDS = 15 * 60
THREAD_TYPES = (10, 11, 12)


@dataclass
class Call:
    """One REST request as a handler sees it; ``bearer`` is the OAuth2 token of a user-authenticated call."""

    request: web.Request
    params: dict[str, str]
    body: Any
    files: list[dict[str, Any]]
    reason: str | None
    bearer: Token | None = None

    @property
    def query(self):
        return self.request.query


Handler = Callable[["Emulator", Call], Awaitable[Any]]
#: ``auth``: "bot" (the bot token), "either" (the bot token or an OAuth2 bearer token), "" (none).
_ROUTES: list[tuple[str, re.Pattern[str], Handler, str]] = []


def route(method: str, path: str, *, auth: str = "bot") -> Callable[[Handler], Handler]:
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")

    def deco(fn: Handler) -> Handler:
        _ROUTES.append((method, pattern, fn, auth))
        return fn

    return deco


@dataclass
class RateLimitRule:
    method: str | None
    path_pattern: re.Pattern[str]
    retry_after: float
    remaining: int
    is_global: bool = False


async def handle(emulator: Emulator, request: web.Request) -> web.Response:
    path = request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
    emulator.requests.append((request.method, path))
    for rule in list(emulator.rate_limits):
        if (rule.method in (None, request.method)) and rule.path_pattern.search(path):
            rule.remaining -= 1
            if rule.remaining <= 0:
                emulator.rate_limits.remove(rule)
            body = {"message": "You are being rate limited.", "retry_after": rule.retry_after, "global": rule.is_global}
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, int(rule.retry_after))),
                "X-RateLimit-Scope": "global" if rule.is_global else "user",
            }
            return _json(body, status=429, headers=headers)
    for method, pattern, fn, needs_auth in _ROUTES:
        if method != request.method:
            continue
        m = pattern.match(path)
        if not m:
            continue
        header = request.headers.get("Authorization", "")
        bearer = None
        if needs_auth == "either" and header.startswith("Bearer "):
            bearer = emulator.oauth.bearer(header[len("Bearer ") :])
            if bearer is None:
                return _json({"code": 0, "message": "401: Unauthorized"}, status=401)
        elif needs_auth and header != f"Bot {emulator.state.bot_token}":
            return _json({"code": 0, "message": "401: Unauthorized"}, status=401)
        try:
            body, files = await _read_body(request)
            reason = request.headers.get("X-Audit-Log-Reason")
            result = await fn(
                emulator,
                Call(
                    request,
                    {k: unquote(v) for k, v in m.groupdict().items()},
                    body,
                    files,
                    unquote(reason) if reason else None,
                    bearer,
                ),
            )
        except ApiError as exc:
            return _json(exc.body(), status=exc.status)
        if result is None:
            return web.Response(status=204)
        return _json(result)
    return _json({"code": 0, "message": "404: Not Found"}, status=404)


async def _read_body(request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
    if request.content_type == "multipart/form-data":
        payload: Any = {}
        files: list[dict[str, Any]] = []
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                data = await part.read()
                files.append({"name": part.name, "filename": part.filename or "file", "data": bytes(data)})
        return payload, files
    if request.can_read_body:
        raw = await request.read()
        if raw:
            try:
                return json.loads(raw), []
            except ValueError:
                raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
    return {}, []


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON exactly as Discord labels it: discord.py only parses ``Content-Type: application/json``."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


def invalid_form(field: str, message: str) -> ApiError:
    err = ApiError(400, 50035, "Invalid Form Body")
    err.message = f"Invalid Form Body: {field}: {message}"
    return err


# --- permission helpers -----------------------------------------------------------


def require_guild(emulator: Emulator, guild_id: str, *names: str) -> dict[str, Any]:
    guild = emulator.state.guild(guild_id)
    have = perms.base_permissions(guild, BOT_USER_ID)
    if any(not have & perms.BITS[n] for n in names):
        raise missing_permissions()
    return guild


def require_channel(emulator: Emulator, channel_id: str, *names: str) -> tuple[dict, dict]:
    guild, channel = emulator.state.guild_of_channel(channel_id)
    have = perms.channel_permissions(guild, channel, BOT_USER_ID)
    if not have & perms.BITS["view_channel"]:
        raise missing_access()
    if any(not have & perms.BITS[n] for n in names):
        raise missing_permissions()
    return guild, channel


def top_position(guild: dict[str, Any], user_id: str) -> int:
    member = guild["members"].get(user_id)
    if member is None:
        return -1
    return max((guild["roles"][r]["position"] for r in member["roles"] if r in guild["roles"]), default=0)


def require_above(guild: dict[str, Any], user_id: str) -> None:
    """Discord refuses moderation of the owner or of members whose top role is not below the bot's."""
    if user_id == guild["owner_id"] or (
        user_id in guild["members"] and top_position(guild, user_id) >= top_position(guild, BOT_USER_ID)
    ):
        raise missing_permissions()


# --- application and gateway ----------------------------------------------------------


def _scoped(call: Call, scope: str) -> str:
    """The user a bearer call acts for, when its token carries ``scope`` (Discord answers 401 otherwise)."""
    assert call.bearer is not None
    if scope not in call.bearer.scopes:
        raise ApiError(401, 0, "401: Unauthorized")
    return call.bearer.user_id


@route("GET", "/users/@me", auth="either")
async def me(emu: Emulator, call: Call) -> Any:
    user_id = BOT_USER_ID if call.bearer is None else _scoped(call, "identify")
    return {**emu.state.users[user_id], "verified": True, "mfa_enabled": False, "flags": 0, "bio": ""}


@route("GET", "/users/@me/guilds", auth="either")
async def my_guilds(emu: Emulator, call: Call) -> Any:
    user_id = BOT_USER_ID if call.bearer is None else _scoped(call, "guilds")
    return emu.oauth.user_guilds(user_id)


@route("GET", "/oauth2/applications/@me")
async def application(emu: Emulator, call: Call) -> Any:
    return {
        "id": APPLICATION_ID,
        "name": "maidcore",
        "icon": None,
        "description": "maidcore on the local Discord emulator",
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": {"id": "1", "username": "emulator", "discriminator": "0", "avatar": None, "global_name": None},
        "team": None,
        "verify_key": "00" * 32,
        "flags": 0,
    }


@route("GET", "/gateway/bot")
async def gateway_bot(emu: Emulator, call: Call) -> Any:
    return {
        "url": emu.gateway_url,
        "shards": emu.recommended_shards,
        "session_start_limit": {
            "total": emu.session_start_total,
            "remaining": max(0, emu.session_start_total - emu.identifies),
            "reset_after": 14400000,
            "max_concurrency": emu.max_concurrency,
        },
    }


@route("GET", "/gateway", auth="")
async def gateway(emu: Emulator, call: Call) -> Any:
    return {"url": emu.gateway_url}


# --- messages ---------------------------------------------------------------------------


def _attachments(emu: Emulator, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for f in files:
        aid = emu.state.snowflake()
        emu.files[aid] = f["data"]
        out.append(
            {
                "id": aid,
                "filename": f["filename"],
                "size": len(f["data"]),
                "url": attachment_url(emu.base_url, aid, f["filename"]),
                "proxy_url": attachment_url(emu.base_url, aid, f["filename"]),
                "content_type": "application/octet-stream",
            }
        )
    return out


#: Message flag 1 << 15: the message uses the newer layout components, where top-level items need not be rows.
IS_COMPONENTS_V2 = 1 << 15


def _check_message_body(body: dict[str, Any], *, files: list[Any], creating: bool) -> None:
    content = body.get("content")
    if content is not None and len(content) > 2000:
        raise invalid_form("content", "Must be 2000 or fewer in length.")
    if len(body.get("embeds") or []) > 10:
        raise invalid_form("embeds", "Must be 10 or fewer in length.")
    if len(body.get("components") or []) > 5:
        raise invalid_form("components", "Must be 5 or fewer in length.")
    if not int(body.get("flags") or 0) & IS_COMPONENTS_V2:  # classic messages: buttons and menus sit in rows
        for index, component in enumerate(body.get("components") or []):
            if not isinstance(component, dict) or component.get("type") != 1:
                raise invalid_form(f"components.{index}.type", 'Value of field "type" must be one of (1,).')
    if creating and not (content or body.get("embeds") or body.get("components") or files or body.get("sticker_ids")):
        raise ApiError(400, 50006, "Cannot send an empty message")
    _check_allowed_mentions(body.get("allowed_mentions"))


def _check_allowed_mentions(allowed: Any) -> None:
    """Discord's own checks: known parse kinds, and never a kind both parsed and listed."""
    if allowed is None:
        return
    if not isinstance(allowed, dict):
        raise invalid_form("allowed_mentions", "Must be an object.")
    parse = allowed.get("parse") or []
    if any(p not in ("users", "roles", "everyone") for p in parse):
        raise invalid_form("allowed_mentions.parse", "Value must be one of ('roles', 'users', 'everyone').")
    for kind in ("users", "roles"):
        if kind in parse and allowed.get(kind):
            raise invalid_form("allowed_mentions", f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.')
        if len(allowed.get(kind) or []) > 100:
            raise invalid_form(f"allowed_mentions.{kind}", "Must be 100 or fewer in length.")


@route("POST", "/channels/{channel_id}/messages")
async def send_message(emu: Emulator, call: Call) -> Any:
    body = call.body or {}
    names = ["send_messages"] + (["attach_files"] if call.files else [])
    _, channel = require_channel(emu, call.params["channel_id"], *names)
    if channel["type"] in THREAD_TYPES and channel["thread_metadata"].get("locked"):
        raise missing_permissions()
    _check_message_body(body, files=call.files, creating=True)
    ref = (body.get("message_reference") or {}).get("message_id")
    msg = emu.state.create_message(
        channel["id"],
        BOT_USER_ID,
        content=body.get("content") or "",
        embeds=body.get("embeds"),
        components=body.get("components"),
        attachments=_attachments(emu, call.files),
        reference_id=ref,
        allowed_mentions=body.get("allowed_mentions"),
    )
    emu.allowed_mentions[msg["id"]] = body.get("allowed_mentions")
    return emu.state.public_message(msg)


@route("GET", "/channels/{channel_id}/messages")
async def get_messages(emu: Emulator, call: Call) -> Any:
    _, channel = require_channel(emu, call.params["channel_id"], "read_message_history")
    limit = max(1, min(100, int(call.query.get("limit", 50))))
    msgs = sorted(emu.state.messages[channel["id"]].values(), key=lambda m: int(m["id"]), reverse=True)
    if "before" in call.query:
        msgs = [m for m in msgs if int(m["id"]) < int(call.query["before"])]
    if "after" in call.query:
        msgs = [m for m in msgs if int(m["id"]) > int(call.query["after"])][-limit:]
    return [emu.state.public_message(m) for m in msgs[:limit]]


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(emu: Emulator, call: Call) -> Any:
    require_channel(emu, call.params["channel_id"], "read_message_history")
    return emu.state.public_message(emu.state.message(call.params["channel_id"], call.params["message_id"]))


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(emu: Emulator, call: Call) -> Any:
    require_channel(emu, call.params["channel_id"])
    msg = emu.state.message(call.params["channel_id"], call.params["message_id"])
    if msg["author"]["id"] != BOT_USER_ID or msg.get("webhook_id"):
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    body = call.body or {}
    _check_message_body(body, files=[], creating=False)
    changes = {
        k: body[k] if body[k] is not None else ([] if k != "content" else "")
        for k in ("content", "embeds", "components")
        if k in body
    }
    allowed = body.get("allowed_mentions")
    if allowed is not None:
        emu.allowed_mentions[msg["id"]] = allowed
    edited = emu.state.edit_message(msg["channel_id"], msg["id"], changes, allowed_mentions=allowed)
    return emu.state.public_message(edited)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(emu: Emulator, call: Call) -> Any:
    _, channel = require_channel(emu, call.params["channel_id"])
    msg = emu.state.message(channel["id"], call.params["message_id"])
    if msg["author"]["id"] != BOT_USER_ID:
        require_channel(emu, channel["id"], "manage_messages")
    emu.state.delete_message(channel["id"], msg["id"])


@route("POST", "/channels/{channel_id}/messages/bulk-delete")
async def bulk_delete(emu: Emulator, call: Call) -> Any:
    _, channel = require_channel(emu, call.params["channel_id"], "manage_messages")
    ids = list((call.body or {}).get("messages") or [])
    if not 2 <= len(ids) <= 100:
        raise invalid_form("messages", "Must be between 2 and 100 in length.")
    if any(time.time() - snowflake_time(i) > 14 * 86400 for i in ids):
        raise ApiError(400, 50034, "You can only bulk delete messages that are under 14 days old.")
    emu.state.bulk_delete(channel["id"], [str(i) for i in ids])


def _pin(emu: Emulator, call: Call, pinned: bool) -> None:
    _, channel = require_channel(emu, call.params["channel_id"], "manage_messages")
    msg = emu.state.message(channel["id"], call.params["message_id"])
    msg["pinned"] = pinned
    emu.state.dispatch(
        "CHANNEL_PINS_UPDATE",
        {"guild_id": msg["guild_id"], "channel_id": channel["id"], "last_pin_timestamp": iso()},
        msg["guild_id"],
    )


@route("PUT", "/channels/{channel_id}/pins/{message_id}")
@route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
async def pin(emu: Emulator, call: Call) -> Any:
    _pin(emu, call, True)


@route("DELETE", "/channels/{channel_id}/pins/{message_id}")
@route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
async def unpin(emu: Emulator, call: Call) -> Any:
    _pin(emu, call, False)


@route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def add_reaction(emu: Emulator, call: Call) -> Any:
    _, channel = require_channel(emu, call.params["channel_id"], "read_message_history", "add_reactions")
    emoji = call.params["emoji"]
    if not emoji or (":" in emoji and not emoji.split(":", 1)[1].isdigit()):
        raise ApiError(400, 10014, "Unknown Emoji")
    emu.state.react(channel["id"], call.params["message_id"], BOT_USER_ID, emoji)


# --- guild and channels -----------------------------------------------------------------


@route("GET", "/guilds/{guild_id}")
async def get_guild(emu: Emulator, call: Call) -> Any:
    guild = emu.state.guild(call.params["guild_id"])
    return emu.state.guild_rest_payload(guild)


@route("GET", "/guilds/{guild_id}/channels")
async def list_channels(emu: Emulator, call: Call) -> Any:
    guild = emu.state.guild(call.params["guild_id"])
    return [dict(c) for c in guild["channels"].values() if c["type"] not in THREAD_TYPES]


@route("GET", "/channels/{channel_id}")
async def get_channel(emu: Emulator, call: Call) -> Any:
    _, channel = require_channel(emu, call.params["channel_id"])
    return dict(channel)


@route("POST", "/guilds/{guild_id}/channels")
async def create_channel(emu: Emulator, call: Call) -> Any:
    guild = require_guild(emu, call.params["guild_id"], "manage_channels")
    body = call.body or {}
    name = body.get("name") or ""
    if not 1 <= len(name) <= 100:
        raise invalid_form("name", "Must be between 1 and 100 in length.")
    ctype = int(body.get("type", 0))
    if ctype not in (0, 2, 4, 5, 13, 15):
        raise invalid_form("type", "Value must be one of {0, 2, 4, 5, 13, 15}.")
    parent = body.get("parent_id")
    if parent is not None and (parent not in guild["channels"] or guild["channels"][parent]["type"] != 4):
        raise invalid_form("parent_id", "Category does not exist.")
    channel = emu.state.add_channel(
        guild["id"],
        name,
        channel_type=ctype,
        parent_id=parent,
        topic=body.get("topic"),
        user_limit=body.get("user_limit"),
        overwrites=body.get("permission_overwrites"),
    )
    return dict(channel)


@route("PATCH", "/channels/{channel_id}")
async def edit_channel(emu: Emulator, call: Call) -> Any:
    _, channel = emu.state.guild_of_channel(call.params["channel_id"])
    body = dict(call.body or {})
    if channel["type"] in THREAD_TYPES:
        require_channel(emu, channel["id"], "manage_threads")
    else:
        require_channel(emu, channel["id"], "manage_channels")
    if "name" in body and not 1 <= len(body["name"] or "") <= 100:
        raise invalid_form("name", "Must be between 1 and 100 in length.")
    allowed = {
        "name",
        "topic",
        "user_limit",
        "position",
        "parent_id",
        "nsfw",
        "archived",
        "locked",
        "auto_archive_duration",
        "rate_limit_per_user",
    }
    return dict(emu.state.update_channel(channel["id"], {k: v for k, v in body.items() if k in allowed}))


@route("DELETE", "/channels/{channel_id}")
async def delete_channel(emu: Emulator, call: Call) -> Any:
    _, channel = emu.state.guild_of_channel(call.params["channel_id"])
    require_channel(emu, channel["id"], "manage_threads" if channel["type"] in THREAD_TYPES else "manage_channels")
    return dict(emu.state.delete_channel(channel["id"]))


@route("PUT", "/channels/{channel_id}/permissions/{overwrite_id}")
async def set_overwrite(emu: Emulator, call: Call) -> Any:
    guild, channel = require_channel(emu, call.params["channel_id"], "manage_roles")
    body = call.body or {}
    oid = call.params["overwrite_id"]
    otype = int(body.get("type", 0))
    if (otype == 0 and oid not in guild["roles"]) or (otype == 1 and oid not in emu.state.users):
        raise unknown("role" if otype == 0 else "user")
    allow, deny = int(body.get("allow") or 0), int(body.get("deny") or 0)
    # Discord: a bot can only grant or deny permissions it holds itself (unless it is an administrator).
    have = perms.channel_permissions(guild, channel, BOT_USER_ID)
    if (allow | deny) & ~have:
        raise missing_permissions()
    overwrites = [o for o in channel["permission_overwrites"] if o["id"] != oid]
    overwrites.append({"id": oid, "type": otype, "allow": str(allow), "deny": str(deny)})
    emu.state.update_channel(channel["id"], {"permission_overwrites": overwrites})


@route("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}")
async def delete_overwrite(emu: Emulator, call: Call) -> Any:
    _, channel = require_channel(emu, call.params["channel_id"], "manage_roles")
    overwrites = [o for o in channel["permission_overwrites"] if o["id"] != call.params["overwrite_id"]]
    emu.state.update_channel(channel["id"], {"permission_overwrites": overwrites})


@route("POST", "/channels/{channel_id}/threads")
async def create_thread(emu: Emulator, call: Call) -> Any:
    body = call.body or {}
    ttype = int(body.get("type", 11))
    need = "create_private_threads" if ttype == 12 else "create_public_threads"
    guild, channel = require_channel(emu, call.params["channel_id"], need)
    if channel["type"] not in (0, 5):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    name = body.get("name") or ""
    if not 1 <= len(name) <= 100:
        raise invalid_form("name", "Must be between 1 and 100 in length.")
    archive = int(body.get("auto_archive_duration", 1440))
    if archive not in (60, 1440, 4320, 10080):
        raise invalid_form("auto_archive_duration", "Value must be one of {60, 1440, 4320, 10080}.")
    thread = emu.state.add_channel(
        guild["id"],
        name,
        channel_type=ttype,
        parent_id=channel["id"],
        extra={
            "owner_id": BOT_USER_ID,
            "thread_metadata": {
                "archived": False,
                "locked": False,
                "auto_archive_duration": archive,
                "archive_timestamp": iso(),
                "create_timestamp": iso(),
                "invitable": True,
            },
            "message_count": 0,
            "member_count": 1,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        },
    )
    return dict(thread)


# --- members, roles, moderation ---------------------------------------------------------


def _member(emu: Emulator, guild: dict[str, Any], user_id: str) -> dict[str, Any]:
    if user_id not in guild["members"]:
        raise unknown("member")
    return emu.state.member_payload(guild, user_id)


@route("GET", "/guilds/{guild_id}/members/search")
async def search_members(emu: Emulator, call: Call) -> Any:
    guild = emu.state.guild(call.params["guild_id"])
    query = (call.query.get("query") or "").lower()
    limit = max(1, min(1000, int(call.query.get("limit", 1))))
    found = []
    for uid, m in guild["members"].items():
        names = [emu.state.users[uid]["username"], m.get("nick") or "", emu.state.users[uid].get("global_name") or ""]
        if any(n.lower().startswith(query) for n in names if n):
            found.append(emu.state.member_payload(guild, uid))
    return found[:limit]


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(emu: Emulator, call: Call) -> Any:
    return _member(emu, emu.state.guild(call.params["guild_id"]), call.params["user_id"])


@route("GET", "/guilds/{guild_id}/members")
async def list_members(emu: Emulator, call: Call) -> Any:
    guild = emu.state.guild(call.params["guild_id"])
    limit = max(1, min(1000, int(call.query.get("limit", 1))))
    after = int(call.query.get("after", 0))
    ids = sorted((u for u in guild["members"] if int(u) > after), key=int)[:limit]
    return [emu.state.member_payload(guild, u) for u in ids]


@route("PATCH", "/guilds/{guild_id}/members/{user_id}")
async def edit_member(emu: Emulator, call: Call) -> Any:
    guild = emu.state.guild(call.params["guild_id"])
    uid = BOT_USER_ID if call.params["user_id"] == "@me" else call.params["user_id"]
    _member(emu, guild, uid)
    body = call.body or {}
    changes: dict[str, Any] = {}
    if "nick" in body:
        if uid == BOT_USER_ID:
            require_guild(emu, guild["id"], "change_nickname")
        else:
            require_guild(emu, guild["id"], "manage_nicknames")
            require_above(guild, uid)
        nick = body["nick"] or None
        if nick is not None and len(nick) > 32:
            raise invalid_form("nick", "Must be 32 or fewer in length.")
        changes["nick"] = nick
    if "communication_disabled_until" in body:
        require_guild(emu, guild["id"], "moderate_members")
        require_above(guild, uid)
        until = body["communication_disabled_until"]
        if until is not None:
            when = datetime.fromisoformat(until)
            if when - datetime.now(UTC) > timedelta(days=28, seconds=5):
                raise invalid_form("communication_disabled_until", "Must be no more than 28 days in the future.")
        changes["communication_disabled_until"] = until
    if "roles" in body:
        require_guild(emu, guild["id"], "manage_roles")
        changes["roles"] = [str(r) for r in body["roles"]]
    emu.state.update_member(guild["id"], uid, changes)
    return emu.state.member_payload(guild, uid)


@route("DELETE", "/guilds/{guild_id}/members/{user_id}")
async def kick(emu: Emulator, call: Call) -> Any:
    guild = require_guild(emu, call.params["guild_id"], "kick_members")
    uid = call.params["user_id"]
    _member(emu, guild, uid)
    require_above(guild, uid)
    emu.state.remove_member(guild["id"], uid)


def _role_change(emu: Emulator, call: Call, add: bool) -> None:
    guild = require_guild(emu, call.params["guild_id"], "manage_roles")
    uid, rid = call.params["user_id"], call.params["role_id"]
    member = guild["members"].get(uid) or (_ for _ in ()).throw(unknown("member"))
    role = guild["roles"].get(rid)
    if role is None or rid == guild["id"]:
        raise unknown("role")
    if role["managed"] or role["position"] >= top_position(guild, BOT_USER_ID):
        raise missing_permissions()
    roles = [r for r in member["roles"] if r != rid] + ([rid] if add else [])
    if roles != member["roles"]:
        emu.state.update_member(guild["id"], uid, {"roles": roles})


@route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def add_role(emu: Emulator, call: Call) -> Any:
    _role_change(emu, call, True)


@route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def remove_role(emu: Emulator, call: Call) -> Any:
    _role_change(emu, call, False)


@route("GET", "/guilds/{guild_id}/roles")
async def list_roles(emu: Emulator, call: Call) -> Any:
    guild = emu.state.guild(call.params["guild_id"])
    return [dict(r) for r in guild["roles"].values()]


@route("PUT", "/guilds/{guild_id}/bans/{user_id}")
async def ban(emu: Emulator, call: Call) -> Any:
    guild = require_guild(emu, call.params["guild_id"], "ban_members")
    uid = call.params["user_id"]
    if uid not in emu.state.users:
        raise unknown("user")
    require_above(guild, uid)
    seconds = int((call.body or {}).get("delete_message_seconds", 0))
    if not 0 <= seconds <= 604800:
        raise invalid_form("delete_message_seconds", "int value should be between 0 and 604800.")
    guild["bans"][uid] = {"user": emu.state.users[uid], "reason": call.reason}
    if seconds:
        cutoff = time.time() - seconds
        for cid, msgs in emu.state.messages.items():
            if emu.state.channel_guild.get(cid) != guild["id"]:
                continue
            doomed = [m["id"] for m in msgs.values() if m["author"]["id"] == uid and snowflake_time(m["id"]) >= cutoff]
            if doomed:
                emu.state.bulk_delete(cid, doomed)
    emu.state.dispatch("GUILD_BAN_ADD", {"guild_id": guild["id"], "user": emu.state.users[uid]}, guild["id"])
    if uid in guild["members"]:
        emu.state.remove_member(guild["id"], uid)


@route("DELETE", "/guilds/{guild_id}/bans/{user_id}")
async def unban(emu: Emulator, call: Call) -> Any:
    guild = require_guild(emu, call.params["guild_id"], "ban_members")
    if guild["bans"].pop(call.params["user_id"], None) is None:
        raise unknown("ban")
    emu.state.dispatch(
        "GUILD_BAN_REMOVE", {"guild_id": guild["id"], "user": emu.state.users[call.params["user_id"]]}, guild["id"]
    )


@route("GET", "/guilds/{guild_id}/bans/{user_id}")
async def get_ban(emu: Emulator, call: Call) -> Any:
    guild = require_guild(emu, call.params["guild_id"], "ban_members")
    entry = guild["bans"].get(call.params["user_id"])
    if entry is None:
        raise unknown("ban")
    return entry


# --- webhooks -----------------------------------------------------------------------------


def _webhook_payload(hook: dict[str, Any]) -> dict[str, Any]:
    return {**hook, "user": None, "avatar": None, "application_id": None}


@route("POST", "/channels/{channel_id}/webhooks")
async def create_webhook(emu: Emulator, call: Call) -> Any:
    guild, channel = require_channel(emu, call.params["channel_id"], "manage_webhooks")
    name = (call.body or {}).get("name") or ""
    if not 1 <= len(name) <= 80 or "discord" in name.lower():
        raise invalid_form("name", "Must be between 1 and 80 in length and may not contain 'discord'.")
    hook = {
        "id": emu.state.snowflake(),
        "type": 1,
        "guild_id": guild["id"],
        "channel_id": channel["id"],
        "name": name,
        "token": base64.urlsafe_b64encode(emu.state.snowflake().encode()).decode().rstrip("="),
    }
    emu.state.webhooks[hook["id"]] = hook
    emu.state.dispatch("WEBHOOKS_UPDATE", {"guild_id": guild["id"], "channel_id": channel["id"]}, guild["id"])
    return _webhook_payload(hook)


@route("GET", "/webhooks/{webhook_id}")
async def get_webhook(emu: Emulator, call: Call) -> Any:
    hook = emu.state.webhooks.get(call.params["webhook_id"]) or (_ for _ in ()).throw(unknown("webhook"))
    require_channel(emu, hook["channel_id"], "manage_webhooks")
    return _webhook_payload(hook)


@route("DELETE", "/webhooks/{webhook_id}")
async def delete_webhook(emu: Emulator, call: Call) -> Any:
    hook = emu.state.webhooks.get(call.params["webhook_id"]) or (_ for _ in ()).throw(unknown("webhook"))
    require_channel(emu, hook["channel_id"], "manage_webhooks")
    del emu.state.webhooks[hook["id"]]


# --- application commands -----------------------------------------------------------------


@route("PUT", "/applications/{app_id}/guilds/{guild_id}/commands")
async def overwrite_guild_commands(emu: Emulator, call: Call) -> Any:
    guild = emu.state.guild(call.params["guild_id"])
    commands = call.body if isinstance(call.body, list) else []
    names = [c.get("name") for c in commands]
    if len(names) != len(set(names)):
        raise invalid_form("name", "Application command names must be unique")
    if len(commands) > 100:
        raise invalid_form("commands", "Must be 100 or fewer in length.")
    stored = []
    for c in commands:
        if not re.fullmatch(r"[-_a-z0-9]{1,32}", c.get("name") or ""):
            raise invalid_form("name", "Command name is invalid")
        stored.append(
            {
                **c,
                "id": emu.state.snowflake(),
                "application_id": APPLICATION_ID,
                "guild_id": guild["id"],
                "type": c.get("type", 1),
                "version": emu.state.snowflake(),
            }
        )
    guild["commands"] = stored
    emu.state.dispatch("_COMMANDS_SYNCED", {"guild_id": guild["id"]}, guild["id"])
    return stored


@route("GET", "/applications/{app_id}/guilds/{guild_id}/commands")
async def list_guild_commands(emu: Emulator, call: Call) -> Any:
    return emu.state.guild(call.params["guild_id"])["commands"]


# --- interactions and webhook execution (token-authenticated, no bot header needed) ----------------


def _interaction(emu: Emulator, interaction_id: str, token: str) -> dict[str, Any]:
    inter = emu.state.interactions.get(interaction_id)
    if inter is None or inter["token"] != token or time.time() - inter["created"] > INTERACTION_TOKEN_SECONDS:
        raise unknown("interaction")
    return inter


def _by_token(emu: Emulator, app_id: str, token: str) -> dict[str, Any]:
    """An interaction (``app_id`` is the application) or a channel webhook (``app_id`` is its id)."""
    if app_id == APPLICATION_ID:
        for inter in emu.state.interactions.values():
            if inter["token"] == token:
                if time.time() - inter["created"] > INTERACTION_TOKEN_SECONDS:
                    raise ApiError(401, 50027, "Invalid Webhook Token")
                return inter
        raise unknown("webhook")
    hook = emu.state.webhooks.get(app_id)
    if hook is None:
        raise unknown("webhook")
    if hook["token"] != token:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    return {"webhook": hook}


@route("POST", "/interactions/{interaction_id}/{token}/callback", auth="")
async def interaction_callback(emu: Emulator, call: Call) -> Any:
    inter = _interaction(emu, call.params["interaction_id"], call.params["token"])
    if inter["acknowledged"]:
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    if time.time() - inter["created"] > INTERACTION_RESPONSE_SECONDS:
        raise unknown("interaction")
    body = call.body or {}
    rtype = int(body.get("type", 0))
    data = body.get("data") or {}
    resource: dict[str, Any] = {"type": rtype}
    if rtype == 4:
        _check_message_body(data, files=call.files, creating=True)
        msg = emu.create_interaction_message(inter, data, files=call.files)
        resource["message"] = emu.state.public_message(msg)
    elif rtype == 5:
        msg = emu.create_interaction_message(inter, {"content": "", "flags": (data.get("flags") or 0) | 128})
        inter["deferred"] = True
        resource["message"] = emu.state.public_message(msg)
    elif rtype == 6:
        inter["deferred"] = True
        if inter.get("message"):  # @original is now the message the component sits on
            inter["original_id"] = inter["message"]["id"]
    elif rtype == 7:
        if inter["type"] != 3:
            raise ApiError(400, 50035, "Invalid Form Body: type: update is only valid for component interactions")
        _check_message_body(data, files=[], creating=False)
        msg = emu.state.message(inter["channel_id"], inter["message"]["id"])
        changes = {k: data[k] for k in ("content", "embeds", "components") if k in data}
        emu.state.edit_message(msg["channel_id"], msg["id"], changes, allowed_mentions=data.get("allowed_mentions"))
        if data.get("allowed_mentions") is not None:
            emu.allowed_mentions[msg["id"]] = data["allowed_mentions"]
        inter["original_id"] = msg["id"]
        resource["message"] = emu.state.public_message(msg)
    elif rtype == 9:
        if inter["type"] == 5:
            raise ApiError(400, 50035, "Invalid Form Body: type: a modal cannot answer a modal submit")
        if not data.get("custom_id") or not data.get("title") or not data.get("components"):
            raise invalid_form("data", "A modal needs custom_id, title and components.")
        if len(data["title"]) > 45 or len(data["components"]) > 5:
            raise invalid_form("data", "Modal title must be 45 or fewer and rows 5 or fewer.")
        emu.open_modal(inter, data)
    else:
        raise invalid_form("type", f"Value must be one of {{4, 5, 6, 7, 9}}, got {rtype}.")
    inter["acknowledged"] = True
    inter["response_type"] = rtype
    if call.query.get("with_response") in ("true", "True", "1"):
        return {"interaction": {"id": inter["id"], "type": inter["type"]}, "resource": resource}
    return None


@route("POST", "/webhooks/{app_id}/{token}", auth="")
async def execute_webhook(emu: Emulator, call: Call) -> Any:
    target = _by_token(emu, call.params["app_id"], call.params["token"])
    body = call.body or {}
    _check_message_body(body, files=call.files, creating=True)
    if "webhook" in target:
        hook = target["webhook"]
        if hook["id"] != call.params["app_id"]:
            raise unknown("webhook")
        author = {
            "id": hook["id"],
            "username": body.get("username") or hook["name"],
            "discriminator": "0000",
            "avatar": None,
            "bot": True,
            "global_name": None,
        }
        if body.get("avatar_url"):
            author["avatar_url"] = body["avatar_url"]
        msg = emu.state.create_message(
            hook["channel_id"],
            hook["id"],
            content=body.get("content") or "",
            embeds=body.get("embeds"),
            components=body.get("components"),
            attachments=_attachments(emu, call.files),
            webhook_id=hook["id"],
            author_override=author,
            allowed_mentions=body.get("allowed_mentions"),
        )
        emu.allowed_mentions[msg["id"]] = body.get("allowed_mentions")
    else:
        if not target["acknowledged"]:
            raise ApiError(400, 40060, "Interaction has not been acknowledged.")
        msg = emu.create_interaction_message(target, body, files=call.files)
    wait = call.query.get("wait") in ("true", "True", "1") or "webhook" not in target
    return emu.state.public_message(msg) if wait else None


@route("POST", "/webhooks/{webhook_id}/{token}/messages/{message_id}", auth="")
async def _no_post_on_message(emu: Emulator, call: Call) -> Any:
    raise ApiError(405, 0, "405: Method Not Allowed")


def _original(emu: Emulator, call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    target = _by_token(emu, call.params["app_id"], call.params["token"])
    if "webhook" in target:
        raise unknown("message")
    mid = target.get("original_id") if call.params["message_id"] == "@original" else call.params["message_id"]
    if mid is None:
        raise unknown("message")
    return target, emu.state.message(target["channel_id"], mid)


@route("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", auth="")
async def edit_followup(emu: Emulator, call: Call) -> Any:
    target, msg = _original(emu, call)
    if msg["id"] == target.get("original_id"):
        target["placeholder_pending"] = False
    body = call.body or {}
    changes = {k: body[k] for k in ("content", "embeds", "components") if k in body and body[k] is not None}
    if msg["flags"] & 128:
        changes["flags"] = msg["flags"] & ~128
    _check_allowed_mentions(body.get("allowed_mentions"))
    edited = emu.state.edit_message(
        msg["channel_id"], msg["id"], changes, allowed_mentions=body.get("allowed_mentions")
    )
    return emu.state.public_message(edited)


@route("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", auth="")
async def get_followup(emu: Emulator, call: Call) -> Any:
    return emu.state.public_message(_original(emu, call)[1])


@route("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", auth="")
async def delete_followup(emu: Emulator, call: Call) -> Any:
    target, msg = _original(emu, call)
    if msg["id"] == target.get("original_id"):
        target["placeholder_pending"] = False  # a follow-up after this is a new message
    emu.state.delete_message(msg["channel_id"], msg["id"])
