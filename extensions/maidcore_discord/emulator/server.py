"""The emulator process: one aiohttp app serving REST v10, the gateway, the web page and its live feed.

``Emulator`` is also the test surface: helpers act as a person in the guild
(post, react, run a command, click, choose, submit a modal) and produce the
same gateway events Discord would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from maidcore_discord.emulator import permissions as perms
from maidcore_discord.emulator import rest
from maidcore_discord.emulator.attachments import ATTACHMENT_STORE_BYTES, AttachmentStore, repoint
from maidcore_discord.emulator.gateway import Gateway, Session
from maidcore_discord.emulator.oauth import OAuth2
from maidcore_discord.emulator.state import (
    APPLICATION_ID,
    BOT_USER_ID,
    DEMO_GUILD_ID,
    ApiError,
    State,
    iso,
)

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "maidcore-emulator-token"
SAVE_DELAY_SECONDS = 0.5  # changes within this are written to the state file together
GUILD_ID_BASE = 300_000_000_000  # guild n of add_guilds has id (GUILD_ID_BASE + n) << 22
#: How long a gateway session stays resumable after its socket went away. Discord does not publish its
#: window (sessions resume reliably for a minute or two); the emulator keeps one for 2 minutes.
RESUME_SECONDS = 120.0


class Emulator:
    """A local Discord: ``await Emulator("127.0.0.1", 0).start()``; port 0 picks a free port."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_token: str = DEFAULT_TOKEN,
        demo: bool = True,
        heartbeat_interval_ms: int = 41250,
        recommended_shards: int = 1,
        state_file: Path | None = None,
        max_concurrency: int = 1,
        resume_seconds: float = RESUME_SECONDS,
        attachment_store_bytes: int = ATTACHMENT_STORE_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.state = State(bot_token)
        self.gateway = Gateway(self)
        self.oauth = OAuth2(self)
        self.sessions: dict[str, Session] = {}
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.recommended_shards = recommended_shards
        self.max_concurrency = max_concurrency  # IDENTIFY buckets GET /gateway/bot announces
        self.requests: list[tuple[str, str]] = []
        self.rate_limits: list[rest.RateLimitRule] = []
        #: Attachment bytes: beside the state file when there is one (they survive a restart), bounded.
        self.files = AttachmentStore(
            state_file.parent / "attachments" if state_file is not None else None, attachment_store_bytes
        )
        self.allowed_mentions: dict[str, Any] = {}
        self.resume_seconds = resume_seconds  # a detached session is resumable this long, then forgotten
        self.resumes = 0
        self.resume_delay_seconds = 0.0  # how long a RESUME waits before it is answered (a slow gateway, in tests)
        self.identifies = 0  # IDENTIFYs with a valid token (each starts a session)
        self.session_start_total = 1000  # GET /gateway/bot's daily session starts; each IDENTIFY uses one
        self.ended_sessions: list[tuple[str, int]] = []  # sessions a clean close (1000/1001) ended, in order
        self.invalid_sessions = 0  # RESUMEs answered with INVALID_SESSION (unknown, expired, or past the buffer)
        self.heartbeats = 0
        self._live: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._waiters: list[tuple[Any, asyncio.Future]] = []
        self.state.dispatch_listeners.append(self._on_dispatch)
        #: Where the state is kept across restarts (``None``: in memory only); saved shortly after each change.
        self.state_file = state_file
        self._save_timer: asyncio.TimerHandle | None = None
        loaded = self._load_state()
        if demo and DEMO_GUILD_ID not in self.state.guilds:
            self.add_demo_guild()
        if not loaded:
            self.save_state()

    # --- persistence -------------------------------------------------------------

    def _load_state(self) -> bool:
        if self.state_file is None or not self.state_file.is_file():
            return False
        try:
            self.state.load_data(json.loads(self.state_file.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            broken = self.state_file.with_suffix(".broken.json")
            self.state_file.replace(broken)
            log.warning(
                "emulator state %s is unreadable (%s); kept as %s, starting afresh", self.state_file, exc, broken
            )
            return False
        return True

    def save_state(self) -> None:
        """Write the state file now (atomically: a crash leaves the old or the new file, never half of one)."""
        if self._save_timer is not None:
            self._save_timer.cancel()
            self._save_timer = None
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state.to_data()), encoding="utf-8")
        tmp.replace(self.state_file)

    def _save_soon(self) -> None:
        if self.state_file is None or self._save_timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.save_state()
            return
        self._save_timer = loop.call_later(SAVE_DELAY_SECONDS, self.save_state)

    # --- lifecycle ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What discord.py's ``Route.BASE`` must point at."""
        return self.base_url + rest.API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def page_url(self) -> str:
        return self.base_url + "/"

    @property
    def oauth_authorize_url(self) -> str:
        """Where a web app sends a person to sign in (Discord: ``https://discord.com/oauth2/authorize``)."""
        return self.base_url + "/oauth2/authorize"

    @property
    def bot_token(self) -> str:
        return self.state.bot_token

    async def start(self) -> Emulator:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/", self._page)
        app.router.add_get("/_emulator/static/{name}", self._static)
        app.router.add_get("/_emulator/live", self._live_socket)
        app.router.add_get("/_emulator/api/state", self._api_state)
        app.router.add_get("/_emulator/api/channels/{id}/messages", self._api_channel_messages)
        app.router.add_get("/_emulator/api/sessions", self._api_sessions)
        app.router.add_post("/_emulator/api/{action}", self._api_action)
        app.router.add_get("/_emulator/attachments/{id}/{name}", self._attachment)
        self.oauth.add_routes(app)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        if repoint(self.state.messages, self.base_url):  # restored messages: their files are served here now
            self._save_soon()
        self.gateway.start()
        return self

    async def close(self) -> None:
        self.save_state()
        for ws in list(self._live):
            await ws.close()
        await self.gateway.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _rest(self, request: web.Request) -> web.Response:
        return await rest.handle(self, request)

    # --- events -------------------------------------------------------------------

    def _on_dispatch(self, event: str, data: dict[str, Any], guild_id: str | None) -> None:
        self._save_soon()
        ephemeral = event == "MESSAGE_CREATE" and data.get("flags", 0) & 64
        if not event.startswith("_") and not ephemeral:
            self.gateway.enqueue(event, data, guild_id)
        frame = json.dumps({"t": event, "d": data})
        for ws in list(self._live):
            if not ws.closed:
                asyncio.get_running_loop().create_task(_quiet_send(ws, frame))
        for predicate, fut in list(self._waiters):
            if not fut.done() and predicate(event, data):
                fut.set_result(data)

    async def wait_for(self, event: str, check=lambda d: True, timeout: float = 10.0) -> dict[str, Any]:
        """The next dispatch named ``event`` whose data passes ``check``."""
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        entry = (lambda e, d: e == event and check(d), fut)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.remove(entry)

    async def settle(self) -> None:
        """Wait until every dispatch so far has been written to the gateway sockets."""
        await self.gateway.drain()

    def rate_limit(
        self, path: str, retry_after: float, *, method: str | None = None, count: int = 1, is_global: bool = False
    ) -> None:
        """Answer the next ``count`` requests whose path matches the regex ``path`` with 429."""
        self.rate_limits.append(rest.RateLimitRule(method, re.compile(path), retry_after, count, is_global))

    async def drop_connections(self, code: int = 4000) -> int:
        """Close every gateway socket mid-stream; clients may RESUME and get what they missed."""
        return await self.gateway.drop(code)

    # --- guild setup ------------------------------------------------------------------

    def add_demo_guild(self) -> str:
        """The demo guild: three people, a moderator role, text and voice channels."""
        s = self.state
        alice = s.add_user("900000000000000201", "alice", global_name="Alice")
        s.add_user("900000000000000202", "bob", global_name="Bob")
        s.add_user("900000000000000203", "carol", global_name="Carol")
        guild = s.create_guild(
            "maidcore demo",
            guild_id=DEMO_GUILD_ID,
            owner_id=alice["id"],
            bot_permissions=perms.ALL & ~perms.BITS["administrator"],
        )
        mod = s.add_role(
            DEMO_GUILD_ID,
            "Moderator",
            perms.bits("manage_messages", "kick_members", "moderate_members", "view_audit_log"),
            position=5,
        )
        mod["color"], mod["colors"]["primary_color"] = 0x3498DB, 0x3498DB
        for uid, roles in (
            ("900000000000000201", [mod["id"]]),
            ("900000000000000202", []),
            ("900000000000000203", [mod["id"]]),
        ):
            guild["members"][uid] = s._member(uid, roles=roles)
        cat = s.add_channel(DEMO_GUILD_ID, "Text Channels", channel_type=4, position=0)
        s.add_channel(DEMO_GUILD_ID, "general", parent_id=cat["id"], topic="Say hi", position=1)
        s.add_channel(DEMO_GUILD_ID, "random", parent_id=cat["id"], position=2)
        s.add_channel(DEMO_GUILD_ID, "Lounge", channel_type=2, position=3)
        return DEMO_GUILD_ID

    def add_guild(
        self, name: str, *, bot_permissions: int, guild_id: str | None = None, members: dict[str, str] | None = None
    ) -> str:
        """A guild whose bot role has exactly ``bot_permissions``; ``members`` maps user id -> username."""
        guild = self.state.create_guild(name, guild_id=guild_id, bot_permissions=bot_permissions)
        for uid, username in (members or {}).items():
            if uid not in self.state.users:
                self.state.add_user(uid, username)
            guild["members"][uid] = self.state._member(uid)
        self.state.add_channel(guild["id"], "general")
        for session in self.sessions.values():
            if session.wants("GUILD_CREATE", guild["id"]):
                self.gateway.enqueue("GUILD_CREATE", self.state.guild_payload(guild), guild["id"])
        return guild["id"]

    def add_guilds(self, count: int, *, first: int = 1) -> list[str]:
        """``count`` guilds "guild <n>" with alice and bob, ids spread evenly over any shard count.

        Guild ``n`` has id ``(BASE + n) << 22``, so it lives on shard ``(BASE + n) % shards`` (Discord's rule).
        """
        ids = []
        for n in range(first, first + count):
            guild_id = str((GUILD_ID_BASE + n) << 22)
            ids.append(
                self.add_guild(
                    f"guild {n}",
                    guild_id=guild_id,
                    bot_permissions=perms.ALL & ~perms.BITS["administrator"],
                    members={"900000000000000201": "alice", "900000000000000202": "bob"},
                )
            )
        return ids

    def channel_named(self, guild_id: str, name: str) -> str:
        for c in self.state.guild(guild_id)["channels"].values():
            if c["name"] == name:
                return c["id"]
        raise KeyError(f"no channel named {name!r} in guild {guild_id}")

    # --- acting as a person ------------------------------------------------------------

    def post_message(self, channel_id: str, user_id: str, content: str, **kw: Any) -> dict[str, Any]:
        guild, channel = self.state.guild_of_channel(channel_id)
        if user_id not in guild["members"]:
            raise ApiError(403, 50001, "Missing Access")
        if not perms.channel_permissions(guild, channel, user_id) & perms.BITS["send_messages"]:
            raise ApiError(403, 50013, "Missing Permissions")
        return self.state.create_message(channel_id, user_id, content=content, **kw)

    def react(self, channel_id: str, message_id: str, user_id: str, emoji: str, *, add: bool = True) -> None:
        self.state.react(channel_id, message_id, user_id, emoji, add=add)

    def _new_interaction(
        self,
        itype: int,
        guild_id: str,
        channel_id: str,
        user_id: str,
        data: dict[str, Any],
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        guild, channel = self.state.guild_of_channel(channel_id)
        if guild["id"] != guild_id or user_id not in guild["members"]:
            raise ApiError(403, 50001, "Missing Access")
        member = self.state.member_payload(guild, user_id)
        member["permissions"] = str(perms.channel_permissions(guild, channel, user_id))
        inter = {
            "id": self.state.snowflake(),
            "application_id": APPLICATION_ID,
            "type": itype,
            "data": data,
            "guild_id": guild_id,
            "guild": {"id": guild_id, "locale": "en-US", "features": []},
            "channel_id": channel_id,
            "channel": dict(channel),
            "member": member,
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": str(perms.channel_permissions(guild, channel, BOT_USER_ID)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id},
            "context": 0,
            "attachment_size_limit": 8 * 1024 * 1024,
        }
        if message is not None:
            inter["message"] = self.state.public_message(message)
        stored = {
            **inter,
            "created": time.time(),
            "acknowledged": False,
            "deferred": False,
            "original_id": None,
            "user_id": user_id,
        }
        self.state.interactions[inter["id"]] = stored
        self.state.dispatch("INTERACTION_CREATE", inter, guild_id)
        return stored

    def run_command(
        self, channel_id: str, user_id: str, name: str, options: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Run ``/name`` as ``user_id``; ``options`` as ``{name: value}`` (typed by the registered command) or raw."""
        guild, _ = self.state.guild_of_channel(channel_id)
        command = next((c for c in guild["commands"] if c["name"] == name), None)
        if command is None:
            raise ApiError(404, 10063, f"Unknown application command /{name}")
        if isinstance(options, list):
            opts = options
        else:
            declared = {o["name"]: o for o in command.get("options") or []}
            opts = []
            for key, value in (options or {}).items():
                if key not in declared:
                    raise ApiError(400, 50035, f"Invalid Form Body: option {key} is not declared by /{name}")
                otype = int(declared[key].get("type", 3))
                opts.append({"name": key, "type": otype, "value": _coerce(declared[key], otype, value)})
            missing = [o["name"] for o in declared.values() if o.get("required") and o["name"] not in (options or {})]
            if missing:
                raise ApiError(400, 50035, f"Invalid Form Body: /{name} needs option {', '.join(missing)}")
        data = {"id": command["id"], "name": name, "type": 1, "guild_id": guild["id"]}
        if opts:
            data["options"] = opts
        return self._new_interaction(2, guild["id"], channel_id, user_id, data)

    def click(
        self, channel_id: str, message_id: str, user_id: str, custom_id: str, values: list[str] | None = None
    ) -> dict[str, Any]:
        """Click a button (or choose ``values`` in a select menu) on a message."""
        guild, _ = self.state.guild_of_channel(channel_id)
        msg = self.state.message(channel_id, message_id)
        component = next(
            (
                c
                for row in msg.get("components", [])
                for c in row.get("components", [])
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            raise ApiError(400, 50035, f"Invalid Form Body: no component {custom_id!r} on message {message_id}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            data["values"] = list(values or [])
        return self._new_interaction(3, guild["id"], channel_id, user_id, data, message=msg)

    def submit_modal(self, interaction_id: str, values: dict[str, str], user_id: str | None = None) -> dict:
        """Fill and submit the modal the bot opened in answer to ``interaction_id``."""
        modal = self.state.modals.pop(interaction_id, None)
        if modal is None:
            raise ApiError(404, 10062, f"No open modal for interaction {interaction_id}")
        rows = [
            {
                "type": 1,
                "components": [
                    {
                        "type": 4,
                        "custom_id": c["custom_id"],
                        "value": str(values.get(c["custom_id"], c.get("value", ""))),
                    }
                    for c in row.get("components", [])
                ],
            }
            for row in modal["components"]
        ]
        data = {"custom_id": modal["custom_id"], "components": rows}
        return self._new_interaction(5, modal["guild_id"], modal["channel_id"], user_id or modal["user_id"], data)

    # --- bot answers to interactions (called by the REST routes) -----------------------------

    def create_interaction_message(
        self, inter: dict[str, Any], data: dict[str, Any], files: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        if inter.get("deferred") and inter.get("original_id") and inter.get("placeholder_pending"):
            # The first follow-up after a defer replaces the "thinking..." placeholder.
            inter["placeholder_pending"] = False
            msg = self.state.message(inter["channel_id"], inter["original_id"])
            changes = {k: data[k] for k in ("content", "embeds", "components") if data.get(k) is not None}
            changes["flags"] = msg["flags"] & ~128
            self.allowed_mentions[msg["id"]] = data.get("allowed_mentions")
            return self.state.edit_message(
                msg["channel_id"], msg["id"], changes, allowed_mentions=data.get("allowed_mentions")
            )
        user = self.state.users[inter["user_id"]]
        meta = {
            "id": inter["id"],
            "type": inter["type"],
            "user": user,
            "authorizing_integration_owners": {"0": inter["guild_id"]},
        }
        if inter["type"] == 2:
            meta["name"] = inter["data"]["name"]
        flags = int(data.get("flags") or 0)
        msg = self.state.create_message(
            inter["channel_id"],
            BOT_USER_ID,
            content=data.get("content") or "",
            embeds=data.get("embeds"),
            components=data.get("components"),
            attachments=rest._attachments(self, files or []),
            flags=flags,
            interaction_metadata=meta,
            message_type=20 if inter["type"] == 2 else 0,
            allowed_mentions=data.get("allowed_mentions"),
        )
        msg["ephemeral_to"] = inter["user_id"] if flags & 64 else None
        self.allowed_mentions[msg["id"]] = data.get("allowed_mentions")
        if inter.get("original_id") is None:
            inter["original_id"] = msg["id"]
            inter["placeholder_pending"] = bool(flags & 128)
        return msg

    def open_modal(self, inter: dict[str, Any], data: dict[str, Any]) -> None:
        modal = {
            "interaction_id": inter["id"],
            "user_id": inter["user_id"],
            "guild_id": inter["guild_id"],
            "channel_id": inter["channel_id"],
            "custom_id": data["custom_id"],
            "title": data["title"],
            "components": data["components"],
            "opened_at": iso(),
        }
        self.state.modals[inter["id"]] = modal
        self.state.dispatch("_MODAL_OPEN", modal, inter["guild_id"])

    # --- the web page --------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=_asset("index.html"), content_type="text/html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        types = {".js": "application/javascript", ".css": "text/css", ".html": "text/html"}
        ext = name[name.rfind(".") :]
        if ext not in types or "/" in name:
            raise web.HTTPNotFound()
        try:
            return web.Response(text=_asset(name), content_type=types[ext])
        except FileNotFoundError:
            raise web.HTTPNotFound() from None

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["id"])  # None for an unknown or evicted id
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")

    async def _live_socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self._live.add(ws)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
        finally:
            self._live.discard(ws)
        return ws

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows: guilds with channels, roles, members, commands, messages, open modals."""
        s = self.state
        guilds = []
        for g in s.guilds.values():
            guilds.append(
                {
                    "id": g["id"],
                    "name": g["name"],
                    "channels": sorted(g["channels"].values(), key=lambda c: (c["position"], int(c["id"]))),
                    "roles": sorted(g["roles"].values(), key=lambda r: -r["position"]),
                    "members": [s.member_payload(g, uid) for uid in g["members"]],
                    "commands": g["commands"],
                }
            )
        messages = {
            cid: [
                s.public_message(m) | {"ephemeral_to": m.get("ephemeral_to")}
                for m in sorted(msgs.values(), key=lambda m: int(m["id"]))
            ][-100:]
            for cid, msgs in s.messages.items()
        }
        return {
            "bot_id": BOT_USER_ID,
            "guilds": guilds,
            "users": s.users,
            "messages": messages,
            "modals": list(s.modals.values()),
        }

    async def _api_channel_messages(self, request: web.Request) -> web.Response:
        """Every message of one channel, oldest first (the state shows the last 100 only)."""
        msgs = self.state.messages.get(request.match_info["id"], {})
        ordered = sorted(msgs.values(), key=lambda m: int(m["id"]))
        return web.json_response([self.state.public_message(m) for m in ordered])

    async def _api_sessions(self, request: web.Request) -> web.Response:
        """Gateway sessions: shard, whether a socket is attached, how it got the session (a cluster test's view)."""
        self.gateway.expire()
        return web.json_response(
            [
                {"session_id": s.session_id, "shard": list(s.shard), "connected": s.socket is not None, "via": s.via}
                for s in self.sessions.values()
            ]
        )

    async def _api_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot())

    async def _api_action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        try:
            if action == "messages":
                result: Any = self.post_message(body["channel_id"], body["user_id"], body["content"])
            elif action == "reactions":
                self.react(
                    body["channel_id"], body["message_id"], body["user_id"], body["emoji"], add=body.get("add", True)
                )
                result = {}
            elif action == "commands":
                result = self.run_command(body["channel_id"], body["user_id"], body["name"], body.get("options"))
            elif action == "components":
                result = self.click(
                    body["channel_id"], body["message_id"], body["user_id"], body["custom_id"], body.get("values")
                )
            elif action == "modals":
                result = self.submit_modal(body["interaction_id"], body.get("values") or {}, body.get("user_id"))
            elif action == "burst":
                count = int(body.get("count", 100))
                for i in range(count):
                    self.post_message(body["channel_id"], body["user_id"], f"{body.get('prefix', 'burst')} {i}")
                result = {"count": count}
            elif action == "drop":
                result = {"dropped": await self.drop_connections()}
            else:
                return web.json_response({"code": 0, "message": f"unknown action {action}"}, status=404)
        except ApiError as exc:
            return web.json_response(exc.body(), status=exc.status)
        except KeyError as exc:
            return web.json_response({"code": 50035, "message": f"missing field {exc}"}, status=400)
        except (TypeError, ValueError, AttributeError) as exc:  # a malformed body: refused, never a 500
            return web.json_response({"code": 50035, "message": f"Invalid Form Body: {exc}"}, status=400)
        return web.json_response(
            {k: v for k, v in result.items() if k != "token"} if isinstance(result, dict) else result
        )


_OPTION_KINDS = {4: "a whole number", 10: "a number", 5: "true or false"}


def _coerce(option: dict[str, Any], option_type: int, value: Any) -> Any:
    """The option's value in its declared type; input that does not fit is refused as Discord refuses it (50035)."""
    name = option.get("name", "?")
    try:
        if option_type == 4:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            coerced: Any = int(value)
        elif option_type == 10:
            if isinstance(value, bool):
                raise ValueError
            coerced = float(value)
            if coerced != coerced or coerced in (float("inf"), float("-inf")):
                raise ValueError
        elif option_type == 5:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError
            return text in ("true", "1", "yes", "on")
        else:
            return str(value)
    except (TypeError, ValueError):
        kind = _OPTION_KINDS.get(option_type, "a valid value")
        raise ApiError(400, 50035, f"Invalid Form Body: option {name} must be {kind} (got {value!r})") from None
    low, high = option.get("min_value"), option.get("max_value")
    if (low is not None and coerced < low) or (high is not None and coerced > high):
        bounds = (
            f"between {low} and {high}"
            if low is not None and high is not None
            else (f"at least {low}" if low is not None else f"at most {high}")
        )
        raise ApiError(400, 50035, f"Invalid Form Body: option {name} must be {bounds} (got {value!r})")
    return coerced


def _asset(name: str) -> str:
    return resources.files("maidcore_discord.emulator").joinpath("static", name).read_text(encoding="utf-8")


async def _quiet_send(ws: web.WebSocketResponse, frame: str) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(frame)


async def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    guilds: int = 0,
    shards: int = 1,
    max_concurrency: int = 1,
    demo: bool = True,
) -> None:
    """Run the emulator alone until interrupted (``python -m maidcore_discord.emulator``)."""
    emulator = Emulator(host, port, demo=demo, recommended_shards=shards, max_concurrency=max_concurrency)
    emulator.add_guilds(guilds)
    await emulator.start()
    print(
        f"Discord emulator: page {emulator.page_url}  api {emulator.api_base}  token {emulator.bot_token}  "
        f"{len(emulator.state.guilds)} guilds on {shards} shards",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.close()
