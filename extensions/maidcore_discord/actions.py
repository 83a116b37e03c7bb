"""``ctx.discord`` methods (contract §4.2) performed through discord.py's HTTP client.

``client.http.request`` keeps Discord's rate-limit buckets and retries short
429s itself; what it raises is mapped to ``maidcore.errors`` here. Params are
read by the host's validators (generated from the SDK's method tables, the
same ones the core applies), so types, choices, cuts and clamps are never
restated here; every id argument is checked to belong to the scope's guild
before anything is sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord.http import Route
from yourbot_sdk.spec.methods import METHODS

from maidcore.errors import BotMissingPermission, DiscordApiFailed, InvalidArgument, RateLimited, UnknownMethod
from maidcore.runner.hostapi.args import Args
from maidcore.runner.hostapi.discord import MAX_FILES_BYTES, VALIDATORS
from maidcore.scope import Scope

if TYPE_CHECKING:
    from maidcore_discord.source import DiscordEventSource

DISCORD_EPOCH_MS = 1420070400000
MAX_FILE_BYTES = MAX_FILES_BYTES  # decoded, all files of one message together (the host checks it first)

#: the Discord permission named in BotMissingPermission when Discord answers 50013 (contract §4.2): each
#: ``discord.*`` method's ``bot_permission`` in the SDK's method tables, and the source's own calls
PERMISSION: dict[str, str] = {
    **{m.name: m.bot_permission for m in METHODS.values() if m.namespace == "discord" and m.bot_permission},
    "sync_commands": "use_application_commands",
    "interaction": "use_application_commands",
}


def _sid(value: Any, field: str) -> str:
    """A snowflake argument as a string (ints accepted), or InvalidArgument naming the field."""
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or len(text) > 20:
        raise InvalidArgument(field, "a Discord id (a decimal snowflake string)")
    return text


def _reason(params: dict[str, Any]) -> str | None:
    return params.get("reason") or None


def member_dict(data: dict[str, Any], guild_id: str) -> dict[str, Any]:
    user = data.get("user") or {}
    return {
        "user_id": str(user.get("id")),
        "username": user.get("username", ""),
        "display_name": data.get("nick") or user.get("global_name") or user.get("username", ""),
        "nick": data.get("nick"),
        "avatar": data.get("avatar") or user.get("avatar"),
        "roles": [str(r) for r in data.get("roles", []) if str(r) != guild_id],
        "joined_at": data.get("joined_at"),
        "bot": bool(user.get("bot", False)),
    }


def message_dict(m: dict[str, Any]) -> dict[str, Any]:
    author = m.get("author") or {}
    return {
        "id": m["id"],
        "channel_id": m["channel_id"],
        "author_id": str(author.get("id", "")),
        "author_username": author.get("username", ""),
        "author_bot": bool(author.get("bot", False) or m.get("webhook_id")),
        "content": m.get("content") or "",
        "timestamp": m.get("timestamp"),
        "edited_timestamp": m.get("edited_timestamp"),
        "attachments": m.get("attachments") or [],
        "embeds": m.get("embeds") or [],
        "pinned": bool(m.get("pinned", False)),
    }


class Actions:
    """One coroutine per ``discord.<method>``; each returns the RPC result of contract §4.2."""

    def __init__(self, source: DiscordEventSource) -> None:
        self.source = source

    # --- plumbing -------------------------------------------------------------------

    @property
    def http(self):
        assert self.source.client is not None
        return self.source.client.http

    async def request(self, route: Route, method: str, **kwargs: Any) -> Any:
        """``client.http.request`` with Discord's errors turned into ``maidcore.errors``."""
        try:
            return await self.http.request(route, **kwargs)
        except discord.RateLimited as exc:
            raise RateLimited("discord actions", exc.retry_after) from None
        except discord.HTTPException as exc:
            raise map_http_error(exc, method) from None

    async def call(self, scope: Scope, name: str, params: dict[str, Any]) -> Any:
        fn = getattr(self, f"do_{name}", None)
        validate = VALIDATORS.get(f"discord.{name}")
        if fn is None or validate is None:
            raise UnknownMethod(f"discord.{name}")
        clean = validate(Args(params))
        if "allowed_mentions" not in params:  # the core always sends it; a direct caller gets Discord's default
            clean.pop("allowed_mentions", None)
        return await fn(scope, clean)

    def _guild(self, scope: Scope) -> discord.Guild | None:
        assert self.source.client is not None
        return self.source.client.get_guild(int(scope.server_id))

    async def channel_in_scope(self, scope: Scope, value: Any, field: str = "channel_id") -> dict[str, Any]:
        """The channel (or thread) as Discord returns it, if it belongs to the scope's guild."""
        cid = _sid(value, field)
        guild = self._guild(scope)
        cached = guild.get_channel_or_thread(int(cid)) if guild is not None else None
        if cached is not None:
            return {"id": cid, "type": cached.type.value, "guild_id": scope.server_id}
        try:
            data = await self.http.request(Route("GET", "/channels/{channel_id}", channel_id=cid))
        except (discord.NotFound, discord.Forbidden) as exc:  # 404 10003 Unknown Channel; 403 50001 Missing Access
            raise map_http_error(exc, "get_channel") from None
        except discord.HTTPException:
            data = {}
        if str(data.get("guild_id")) != scope.server_id:
            raise InvalidArgument(field, f"the id of a channel of server {scope.server_id}")
        return data

    async def role_in_scope(self, scope: Scope, value: Any, field: str = "role_id") -> str:
        """``value`` if it names a role of the scope's guild (cache first, then Discord for a brand-new role)."""
        rid = _sid(value, field)
        guild = self._guild(scope)
        if guild is not None and guild.get_role(int(rid)) is not None:
            return rid
        route = Route("GET", "/guilds/{guild_id}/roles", guild_id=scope.server_id)
        if rid not in {str(r["id"]) for r in await self.request(route, "list_roles")}:
            raise InvalidArgument(field, f"the id of a role of server {scope.server_id}")
        return rid

    async def webhook_in_scope(self, scope: Scope, value: Any) -> str:
        wid = _sid(value, "webhook_id")
        guild_id = self.source.webhook_guilds.get(wid)
        if guild_id is None:
            try:
                data = await self.http.request(Route("GET", "/webhooks/{webhook_id}", webhook_id=wid))
                guild_id = str(data.get("guild_id"))
            except discord.HTTPException:
                guild_id = None
        if guild_id != scope.server_id:
            raise InvalidArgument("webhook_id", f"the id of a webhook of server {scope.server_id}")
        return wid

    def _message_body(self, params: dict[str, Any]) -> dict[str, Any]:
        return {k: params[k] for k in ("content", "embeds", "components", "allowed_mentions") if k in params}

    def _form(self, body: dict[str, Any], files: list[Any]) -> list[dict[str, Any]]:
        form: list[dict[str, Any]] = [{"name": "payload_json", "value": json.dumps(body)}]
        total = 0
        attachments = []
        for i, f in enumerate(files[:3]):
            if not isinstance(f, dict) or not isinstance(f.get("filename"), str) or "data_b64" not in f:
                raise InvalidArgument(f"files[{i}]", 'an object {"filename": str, "data_b64": str}')
            try:
                data = base64.b64decode(f["data_b64"], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidArgument(f"files[{i}].data_b64", "base64-encoded bytes") from None
            total += len(data)
            if total > MAX_FILE_BYTES:
                raise InvalidArgument("files", "at most 8 MB of decoded data in total")
            attachments.append({"id": i, "filename": f["filename"][:256]})
            form.append(
                {
                    "name": f"files[{i}]",
                    "value": data,
                    "filename": f["filename"][:256],
                    "content_type": "application/octet-stream",
                }
            )
        body["attachments"] = attachments
        form[0]["value"] = json.dumps(body)
        return form

    # --- messages -----------------------------------------------------------------------

    async def do_send_message(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        body = self._message_body(p)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=ch["id"])
        if p.get("files"):
            data = await self.request(route, "send_message", form=self._form(body, list(p["files"])), files=None)
        else:
            data = await self.request(route, "send_message", json=body)
        self.source.report_message(scope, str(data["id"]))
        return {"message_id": str(data["id"]), "channel_id": str(data["channel_id"])}

    async def do_edit_message(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        mid = _sid(p.get("message_id"), "message_id")
        body = self._message_body(p)
        route = Route("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=ch["id"], message_id=mid)
        data = await self.request(route, "edit_message", json=body)
        return {"message_id": str(data["id"]), "channel_id": str(data["channel_id"])}

    async def _on_message(self, scope: Scope, p: dict[str, Any], verb: str, path: str, method: str) -> None:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        mid = _sid(p.get("message_id"), "message_id")
        await self.request(Route(verb, path, channel_id=ch["id"], message_id=mid), method)

    async def do_pin_message(self, scope: Scope, p: dict[str, Any]) -> None:
        await self._on_message(scope, p, "PUT", "/channels/{channel_id}/pins/{message_id}", "pin_message")

    async def do_unpin_message(self, scope: Scope, p: dict[str, Any]) -> None:
        await self._on_message(scope, p, "DELETE", "/channels/{channel_id}/pins/{message_id}", "unpin_message")

    async def do_delete_message(self, scope: Scope, p: dict[str, Any]) -> None:
        await self._on_message(scope, p, "DELETE", "/channels/{channel_id}/messages/{message_id}", "delete_message")

    async def do_bulk_delete_messages(self, scope: Scope, p: dict[str, Any]) -> None:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        ids = p["message_ids"]
        cutoff_ms = (time.time() - 14 * 86400) * 1000
        if any((int(i) >> 22) + DISCORD_EPOCH_MS < cutoff_ms for i in ids):
            raise InvalidArgument("message_ids", "ids of messages younger than 14 days")
        route = Route("POST", "/channels/{channel_id}/messages/bulk-delete", channel_id=ch["id"])
        await self.request(route, "bulk_delete_messages", json={"messages": ids})

    async def do_add_reaction(self, scope: Scope, p: dict[str, Any]) -> None:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        mid = _sid(p.get("message_id"), "message_id")
        emoji = str(p.get("emoji") or "").strip().strip("<>").removeprefix("a:").lstrip(":")
        if not emoji:
            raise InvalidArgument("emoji", "a unicode emoji or name:id")
        route = Route(
            "PUT",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
            channel_id=ch["id"],
            message_id=mid,
            emoji=emoji,
        )
        await self.request(route, "add_reaction")

    # --- reading ------------------------------------------------------------------------

    async def do_get_messages(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        query = {k: p[k] for k in ("limit", "before", "after") if k in p}
        route = Route("GET", "/channels/{channel_id}/messages", channel_id=ch["id"])
        data = await self.request(route, "get_messages", params=query)
        return {"messages": [message_dict(m) for m in data]}

    async def do_get_guild(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        route = Route("GET", "/guilds/{guild_id}", guild_id=scope.server_id)
        g = await self.request(route, "get_guild", params={"with_counts": "true"})
        return {
            "guild": {
                "id": str(g["id"]),
                "name": g["name"],
                "icon": g.get("icon"),
                "member_count": int(g.get("approximate_member_count") or g.get("member_count") or 0),
                "premium_tier": int(g.get("premium_tier") or 0),
                "features": list(g.get("features") or []),
                "owner_id": str(g.get("owner_id")),
                "description": g.get("description"),
            }
        }

    async def do_get_channel(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        c = await self.request(Route("GET", "/channels/{channel_id}", channel_id=ch["id"]), "get_channel")
        return {
            "channel": {
                "id": str(c["id"]),
                "name": c.get("name"),
                "type": int(c["type"]),
                "topic": c.get("topic"),
                "parent_id": c.get("parent_id"),
                "position": int(c.get("position") or 0),
                "nsfw": bool(c.get("nsfw", False)),
            }
        }

    async def do_list_channels(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        data = await self.request(
            Route("GET", "/guilds/{guild_id}/channels", guild_id=scope.server_id), "list_channels"
        )
        return {
            "channels": [
                {
                    "id": str(c["id"]),
                    "name": c.get("name"),
                    "type": int(c["type"]),
                    "parent_id": c.get("parent_id"),
                    "position": int(c.get("position") or 0),
                }
                for c in data
            ]
        }

    async def do_get_member(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        uid = _sid(p.get("user_id"), "user_id")
        route = Route("GET", "/guilds/{guild_id}/members/{user_id}", guild_id=scope.server_id, user_id=uid)
        return {"member": member_dict(await self.request(route, "get_member"), scope.server_id)}

    async def do_list_members(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        limit = p["limit"]
        role_id = await self.role_in_scope(scope, p["role_id"]) if p.get("role_id") is not None else None
        after = _sid(p["after"], "after") if p.get("after") is not None else "0"
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            page_size = limit if role_id is None else 1000
            route = Route("GET", "/guilds/{guild_id}/members", guild_id=scope.server_id)
            page = await self.request(route, "list_members", params={"limit": page_size, "after": after})
            for m in page:
                d = member_dict(m, scope.server_id)
                if role_id is None or role_id in d["roles"]:
                    found.append(d)
            if len(page) < page_size:
                break
            after = str(page[-1]["user"]["id"])
        return {"members": found[:limit]}

    async def do_search_members(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        query, limit = p["query"], p["limit"]
        route = Route("GET", "/guilds/{guild_id}/members/search", guild_id=scope.server_id)
        data = await self.request(route, "search_members", params={"query": query, "limit": limit})
        return {"members": [member_dict(m, scope.server_id) for m in data]}

    async def do_list_roles(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        data = await self.request(Route("GET", "/guilds/{guild_id}/roles", guild_id=scope.server_id), "list_roles")
        return {
            "roles": [
                {
                    "id": str(r["id"]),
                    "name": r["name"],
                    "color": int(r.get("color") or 0),
                    "position": int(r.get("position") or 0),
                    "managed": bool(r.get("managed", False)),
                    "mentionable": bool(r.get("mentionable", False)),
                    "permissions": str(r.get("permissions") or "0"),
                }
                for r in data
            ]
        }

    # --- channels and threads -------------------------------------------------------------

    async def do_create_channel(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        ctype = p["channel_type"]
        body: dict[str, Any] = {"name": p["name"], "type": ctype}
        if p.get("category_id") is not None:
            cat = await self.channel_in_scope(scope, p["category_id"], "category_id")
            body["parent_id"] = cat["id"]
        if p.get("topic") is not None and ctype == 0:
            body["topic"] = p["topic"]
        if p.get("user_limit") is not None and ctype == 2:
            body["user_limit"] = p["user_limit"]
        route = Route("POST", "/guilds/{guild_id}/channels", guild_id=scope.server_id)
        c = await self.request(route, "create_channel", json=body, reason=_reason(p))
        return {"channel": {"id": str(c["id"]), "name": c["name"], "type": int(c["type"])}}

    async def do_edit_channel(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        body = {k: p[k] for k in ("name", "topic", "user_limit") if k in p}
        route = Route("PATCH", "/channels/{channel_id}", channel_id=ch["id"])
        c = await self.request(route, "edit_channel", json=body)
        return {"channel": {"id": str(c["id"]), "name": c["name"], "type": int(c["type"])}}

    async def do_delete_channel(self, scope: Scope, p: dict[str, Any]) -> None:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        await self.request(Route("DELETE", "/channels/{channel_id}", channel_id=ch["id"]), "delete_channel")

    async def do_set_channel_permissions(self, scope: Scope, p: dict[str, Any]) -> None:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        target_type = p["target_type"]
        target = (
            await self.role_in_scope(scope, p.get("target_id"), "target_id")
            if target_type == 0
            else _sid(p.get("target_id"), "target_id")
        )
        route = Route(
            "PUT", "/channels/{channel_id}/permissions/{overwrite_id}", channel_id=ch["id"], overwrite_id=target
        )
        body = {"allow": p["allow"], "deny": p["deny"], "type": target_type}  # dangerous allow bits already stripped
        await self.request(route, "set_channel_permissions", json=body)

    async def do_delete_channel_permission(self, scope: Scope, p: dict[str, Any]) -> None:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        target = _sid(p.get("target_id"), "target_id")
        route = Route(
            "DELETE", "/channels/{channel_id}/permissions/{overwrite_id}", channel_id=ch["id"], overwrite_id=target
        )
        await self.request(route, "delete_channel_permission")

    async def do_create_thread(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        ttype, archive, name = p["thread_type"], p["auto_archive_duration"], p["name"]
        route = Route("POST", "/channels/{channel_id}/threads", channel_id=ch["id"])
        method = "create_thread"
        try:
            t = await self.request(route, method, json={"name": name, "type": ttype, "auto_archive_duration": archive})
        except BotMissingPermission:
            raise BotMissingPermission("create_private_threads" if ttype == 12 else "create_public_threads") from None
        return {
            "thread": {
                "id": str(t["id"]),
                "name": t["name"],
                "type": int(t["type"]),
                "archived": bool((t.get("thread_metadata") or {}).get("archived", False)),
            }
        }

    async def do_edit_thread(self, scope: Scope, p: dict[str, Any]) -> None:
        th = await self.channel_in_scope(scope, p.get("thread_id"), "thread_id")
        if int(th.get("type", 11)) not in (10, 11, 12):
            raise InvalidArgument("thread_id", "the id of a thread")
        body = {k: p[k] for k in ("archived", "locked", "name", "auto_archive_duration") if k in p}
        await self.request(Route("PATCH", "/channels/{channel_id}", channel_id=th["id"]), "edit_thread", json=body)

    # --- moderation -----------------------------------------------------------------------

    async def _timeout(self, scope: Scope, uid: str, seconds: int, reason: str | None, method: str) -> None:
        until = None if seconds == 0 else (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
        route = Route("PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=scope.server_id, user_id=uid)
        await self.request(route, method, json={"communication_disabled_until": until}, reason=reason)

    async def do_timeout_member(self, scope: Scope, p: dict[str, Any]) -> None:
        uid = _sid(p.get("user_id"), "user_id")
        await self._timeout(scope, uid, p["duration_seconds"], _reason(p), "timeout_member")

    async def do_set_nickname(self, scope: Scope, p: dict[str, Any]) -> None:
        uid = _sid(p.get("user_id"), "user_id")
        nick = p.get("nickname") or None
        route = Route("PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=scope.server_id, user_id=uid)
        await self.request(route, "set_nickname", json={"nick": nick})

    async def do_ban_member(self, scope: Scope, p: dict[str, Any]) -> None:
        uid = _sid(p.get("user_id"), "user_id")
        seconds = p["delete_message_seconds"]
        route = Route("PUT", "/guilds/{guild_id}/bans/{user_id}", guild_id=scope.server_id, user_id=uid)
        await self.request(route, "ban_member", json={"delete_message_seconds": seconds}, reason=_reason(p))

    async def do_unban_member(self, scope: Scope, p: dict[str, Any]) -> None:
        uid = _sid(p.get("user_id"), "user_id")
        route = Route("DELETE", "/guilds/{guild_id}/bans/{user_id}", guild_id=scope.server_id, user_id=uid)
        await self.request(route, "unban_member")

    async def do_kick_member(self, scope: Scope, p: dict[str, Any]) -> None:
        uid = _sid(p.get("user_id"), "user_id")
        route = Route("DELETE", "/guilds/{guild_id}/members/{user_id}", guild_id=scope.server_id, user_id=uid)
        await self.request(route, "kick_member", reason=_reason(p))

    async def _role(self, scope: Scope, uid: str, rid: str, verb: str, reason: str | None, method: str) -> None:
        route = Route(
            verb,
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            guild_id=scope.server_id,
            user_id=uid,
            role_id=rid,
        )
        await self.request(route, method, reason=reason)

    async def do_add_role(self, scope: Scope, p: dict[str, Any]) -> None:
        rid = await self.role_in_scope(scope, p.get("role_id"))
        await self._role(scope, _sid(p.get("user_id"), "user_id"), rid, "PUT", _reason(p), "add_role")

    async def do_remove_role(self, scope: Scope, p: dict[str, Any]) -> None:
        rid = await self.role_in_scope(scope, p.get("role_id"))
        await self._role(scope, _sid(p.get("user_id"), "user_id"), rid, "DELETE", _reason(p), "remove_role")

    async def _bulk(self, p: dict[str, Any], one) -> dict[str, Any]:
        ids = p["user_ids"]
        result: dict[str, Any] = {"success": 0, "failed": 0, "errors": []}
        for uid in ids:
            try:
                await one(uid)
                result["success"] += 1
            except (BotMissingPermission, DiscordApiFailed, RateLimited, InvalidArgument) as exc:
                result["failed"] += 1
                result["errors"].append({"user_id": uid, "error": exc.message})
        return result

    async def do_timeout_bulk(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        seconds, reason = p["duration_seconds"], _reason(p)
        return await self._bulk(p, lambda uid: self._timeout(scope, uid, seconds, reason, "timeout_bulk"))

    async def do_kick_bulk(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        reason = _reason(p)

        async def kick(uid: str) -> None:
            route = Route("DELETE", "/guilds/{guild_id}/members/{user_id}", guild_id=scope.server_id, user_id=uid)
            await self.request(route, "kick_bulk", reason=reason)

        return await self._bulk(p, kick)

    async def do_add_role_bulk(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        rid, reason = await self.role_in_scope(scope, p.get("role_id")), _reason(p)
        return await self._bulk(p, lambda uid: self._role(scope, uid, rid, "PUT", reason, "add_role_bulk"))

    async def do_remove_role_bulk(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        rid, reason = await self.role_in_scope(scope, p.get("role_id")), _reason(p)
        return await self._bulk(p, lambda uid: self._role(scope, uid, rid, "DELETE", reason, "remove_role_bulk"))

    # --- webhooks -----------------------------------------------------------------------------

    async def do_create_webhook(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        ch = await self.channel_in_scope(scope, p.get("channel_id"))
        route = Route("POST", "/channels/{channel_id}/webhooks", channel_id=ch["id"])
        w = await self.request(route, "create_webhook", json={"name": p["name"]})
        self.source.webhook_guilds[str(w["id"])] = scope.server_id
        return {
            "webhook": {"id": str(w["id"]), "token": w["token"], "channel_id": str(w["channel_id"]), "name": w["name"]}
        }

    async def do_execute_webhook(self, scope: Scope, p: dict[str, Any]) -> dict[str, Any]:
        wid = await self.webhook_in_scope(scope, p.get("webhook_id"))
        token = p["webhook_token"]
        if "/" in token:
            raise InvalidArgument("webhook_token", "the token returned by create_webhook")
        body = self._message_body(p)
        body.update((key, p[key]) for key in ("username", "avatar_url") if key in p)
        route = Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=wid, webhook_token=token)
        data = await self.request(route, "execute_webhook", json=body, params={"wait": "true"})
        return {"message_id": str(data["id"])}

    async def do_delete_webhook(self, scope: Scope, p: dict[str, Any]) -> None:
        wid = await self.webhook_in_scope(scope, p.get("webhook_id"))
        await self.request(Route("DELETE", "/webhooks/{webhook_id}", webhook_id=wid), "delete_webhook")
        self.source.webhook_guilds.pop(wid, None)


def map_http_error(exc: discord.HTTPException, method: str) -> Exception:
    """Discord's answer as the host error a plugin sees (contract §9)."""
    if exc.status == 403 and exc.code == 50001:
        return BotMissingPermission("view_channel")
    if exc.status == 403 and exc.code == 50013:
        return BotMissingPermission(PERMISSION.get(method, "unknown"))
    if exc.status == 429:
        retry = 5.0
        response = getattr(exc, "response", None)
        if response is not None and response.headers.get("Retry-After"):
            retry = float(response.headers["Retry-After"])
        return RateLimited("discord actions", retry)
    detail = f"(code {exc.code}) {exc.text}" if exc.code else exc.text
    return DiscordApiFailed(exc.status, detail)
