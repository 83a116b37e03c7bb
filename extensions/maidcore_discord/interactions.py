"""``ctx.interaction`` (contract §4.3): respond once within 3 s, defer then follow up for 15 minutes, modals.

Discord's rules are enforced here, before Discord is asked, so a plugin gets a
clear ``InvalidArgument`` instead of Discord's bare 404/400; the emulator
enforces the same rules so tests see what Discord would do if a check were
missing. Which plugin may answer an interaction is the core's decision
(``maidcore.interactions``), checked before the call reaches the source.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
from discord.http import Route

from maidcore.errors import InvalidArgument, UnknownMethod
from maidcore.interactions import ANSWER_WINDOW_SECONDS
from maidcore.runner.hostapi.args import Args
from maidcore.runner.hostapi.discord import VALIDATORS
from maidcore.scope import Scope

if TYPE_CHECKING:
    from maidcore_discord.source import DiscordEventSource

RESPOND_WINDOW_SECONDS = 3.0
FOLLOWUP_WINDOW_SECONDS = ANSWER_WINDOW_SECONDS  # an interaction token lives 15 minutes
EPHEMERAL = 1 << 6


@dataclass
class Pending:
    """What the source needs to answer one interaction: its token, and how it was answered so far."""

    interaction_id: str
    token: str
    guild_id: str
    user_id: str
    channel_id: str
    interaction_type: int
    received: float = field(default_factory=time.monotonic)
    answered: str = ""  # "", "respond", "defer", "modal"
    defer_ephemeral: bool = False
    placeholder_open: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Interactions:
    def __init__(self, source: DiscordEventSource) -> None:
        self.source = source
        self.pending: dict[str, Pending] = {}

    def track(self, interaction: discord.Interaction) -> None:
        self._expire()
        self.pending[str(interaction.id)] = Pending(
            str(interaction.id),
            interaction.token,
            str(interaction.guild_id),
            str(interaction.user.id),
            str(interaction.channel_id),
            int(interaction.type.value),
        )

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, p in self.pending.items() if now - p.received > FOLLOWUP_WINDOW_SECONDS]:
            del self.pending[key]

    def _get(self, scope: Scope, params: dict[str, Any]) -> Pending:
        iid = str(params.get("_interaction_id") or "")
        if not iid:
            raise InvalidArgument("_interaction_id", "the id of the interaction being answered")
        p = self.pending.get(iid)
        if p is None or p.guild_id != scope.server_id:
            raise InvalidArgument("_interaction_id", f"an interaction of server {scope.server_id} (last 15 minutes)")
        if time.monotonic() - p.received > FOLLOWUP_WINDOW_SECONDS:
            raise InvalidArgument("_interaction_id", "an interaction at most 15 minutes old")
        return p

    async def call(self, scope: Scope, name: str, params: dict[str, Any]) -> Any:
        fn = getattr(self, f"do_{name}", None)
        validate = VALIDATORS.get(f"interaction.{name}")
        if fn is None or validate is None:
            raise UnknownMethod(f"interaction.{name}")
        clean = validate(Args(params))  # the spec's rules, as the core applied them
        if "allowed_mentions" not in params:  # the core always sends it; a direct caller gets Discord's default
            clean.pop("allowed_mentions", None)
        params = clean
        p = self._get(scope, params)
        async with p.lock:
            return await fn(scope, p, params)

    def _initial(self, p: Pending, what: str) -> None:
        if p.answered:
            raise InvalidArgument("_interaction_id", f"an interaction not answered yet ({what} after {p.answered})")
        if time.monotonic() - p.received > RESPOND_WINDOW_SECONDS:
            raise InvalidArgument("_interaction_id", f"answered within 3 s ({what} came too late; defer first)")

    async def _callback(self, p: Pending, body: dict[str, Any]) -> dict[str, Any] | None:
        route = Route(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            interaction_id=p.interaction_id,
            interaction_token=p.token,
        )
        return await self.source.actions.request(route, "interaction", json=body, params={"with_response": "true"})

    def _message(self, params: dict[str, Any], ephemeral: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"content": params.get("content") or ""}
        for key in ("embeds", "components"):
            if params.get(key):
                data[key] = list(params[key])
        if params.get("allowed_mentions") is not None:
            data["allowed_mentions"] = params["allowed_mentions"]
        if ephemeral:
            data["flags"] = EPHEMERAL
        if not (data["content"] or data.get("embeds") or data.get("components")):
            raise InvalidArgument("content", "non-empty, or embeds or components given")
        return data

    def _remember(self, scope: Scope, message: dict[str, Any] | None) -> None:
        if message and message.get("id"):
            self.source.report_message(scope, str(message["id"]))

    async def do_respond(self, scope: Scope, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        self._initial(p, "respond")
        if params.get("update_message"):
            return await self._update_message(p, params)
        data = self._message(params, bool(params.get("ephemeral")))
        answer = await self._callback(p, {"type": 4, "data": data})
        p.answered = "respond"
        self._remember(scope, ((answer or {}).get("resource") or {}).get("message"))
        return {}

    async def _update_message(self, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        """Discord's UPDATE_MESSAGE (type 7): edit the message the clicked component is on; ``ephemeral`` is moot."""
        if p.interaction_type != 3:
            raise InvalidArgument("update_message", "used only to answer a component interaction (a button or select)")
        data = self._message(params, False)
        # what the SDK sends replaces the message's parts, empty lists included (0.7+ always sends all three)
        for key in ("embeds", "components"):
            if isinstance(params.get(key), list):
                data[key] = list(params[key])[: 10 if key == "embeds" else 5]
        await self._callback(p, {"type": 7, "data": data})
        p.answered = "respond"
        return {}

    async def do_defer(self, scope: Scope, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        self._initial(p, "defer")
        ephemeral = bool(params.get("ephemeral"))
        await self._callback(p, {"type": 5, "data": {"flags": EPHEMERAL} if ephemeral else {}})
        p.answered, p.defer_ephemeral, p.placeholder_open = "defer", ephemeral, True
        return {}

    async def do_followup(self, scope: Scope, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        if p.answered not in ("respond", "defer"):
            raise InvalidArgument("_interaction_id", "an interaction already answered with respond or defer")
        app = self.source.application_id
        if p.placeholder_open:
            data = self._message(params, False)
            data.pop("flags", None)  # the placeholder keeps the defer's ephemeral flag
            route = Route(
                "PATCH",
                "/webhooks/{application_id}/{interaction_token}/messages/@original",
                application_id=app,
                interaction_token=p.token,
            )
            message = await self.source.actions.request(route, "interaction", json=data)
            p.placeholder_open = False
        else:
            data = self._message(params, bool(params.get("ephemeral")))
            route = Route(
                "POST", "/webhooks/{application_id}/{interaction_token}", application_id=app, interaction_token=p.token
            )
            message = await self.source.actions.request(route, "interaction", json=data, params={"wait": "true"})
        if not isinstance(message, dict) or "id" not in message:
            return {}
        self._remember(scope, message)
        return {"message_id": str(message["id"]), "channel_id": str(message.get("channel_id", p.channel_id))}

    async def do_send_modal(self, scope: Scope, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        if p.interaction_type == 5:
            raise InvalidArgument("_interaction_id", "a slash-command or component interaction (not a modal submit)")
        self._initial(p, "send_modal")
        title, custom_id = params["title"], params["custom_id"]
        rows = []
        for item in params["components"]:
            if not isinstance(item, dict):
                raise InvalidArgument("components", "action rows or text inputs as dicts")
            rows.append(item if item.get("type") == 1 else {"type": 1, "components": [item]})
        if not rows:
            raise InvalidArgument("components", "at least one text input")
        await self._callback(p, {"type": 9, "data": {"title": title, "custom_id": custom_id, "components": rows}})
        p.answered = "modal"
        return {}
