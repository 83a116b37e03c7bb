"""``ctx.interaction`` (contract §4.3): respond once within 3 s, defer then follow up for 15 minutes, modals.

Discord's rules are enforced here, before Discord is asked, so a plugin gets a
clear ``InvalidArgument`` instead of Discord's bare 404/400; the emulator
enforces the same rules so tests see what Discord would do if a check were
missing. Which plugin may answer an interaction is the core's decision
(``maidcore.interactions``), checked before the call reaches the source.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
from discord.http import Route

from maidcore.errors import InvalidArgument, UnknownMethod
from maidcore.interactions import ANSWER_WINDOW_SECONDS
from maidcore.layers.shared import Shared
from maidcore.runner.hostapi.args import Args
from maidcore.runner.hostapi.discord import VALIDATORS
from maidcore.scope import Scope
from maidcore_discord.actions import AlreadyAnswered

if TYPE_CHECKING:
    from maidcore_discord.source import DiscordEventSource

log = logging.getLogger(__name__)

RESPOND_WINDOW_SECONDS = 3.0
FOLLOWUP_WINDOW_SECONDS = ANSWER_WINDOW_SECONDS  # an interaction token lives 15 minutes
EPHEMERAL = 1 << 6


@dataclass
class Pending:
    """What the source needs to answer one interaction: its token, and how it was answered so far.

    In a cluster the same facts live in the shared state as a ticket (``ticket()``), so
    the node that delivers the interaction after a failover can answer it too.
    """

    interaction_id: str
    token: str
    guild_id: str
    user_id: str
    channel_id: str
    interaction_type: int
    application_id: str = ""
    received: float = field(default_factory=time.monotonic)
    received_at: float = field(default_factory=time.time)  # wall clock: other nodes compare with it
    answered: str = ""  # "", "respond", "defer", "modal"
    defer_ephemeral: bool = False  # what the plugin wants the first follow-up to be
    placeholder_ephemeral: bool = False  # what the "thinking..." placeholder is
    placeholder_open: bool = False
    auto_deferred: bool = False  # the platform deferred it (nobody answered in time); the plugin has not yet
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def ticket(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _TICKET}

    def adopt(self, ticket: dict[str, Any]) -> None:
        """Take the state another node (or this one, earlier) left in the shared ticket."""
        for name in _STATE:
            if name in ticket:
                setattr(self, name, ticket[name])

    @classmethod
    def from_ticket(cls, ticket: dict[str, Any]) -> Pending:
        age = max(0.0, time.time() - float(ticket["received_at"]))
        pending = cls(**{name: ticket[name] for name in _TICKET if name in ticket})
        pending.received = time.monotonic() - age
        return pending


_STATE = ("answered", "defer_ephemeral", "placeholder_ephemeral", "placeholder_open", "auto_deferred")
_TICKET = (
    "interaction_id",
    "token",
    "guild_id",
    "user_id",
    "channel_id",
    "interaction_type",
    "application_id",
    "received_at",
    *_STATE,
)
TICKET_KEY = "interaction:"
RESCUE_QUEUE = "interaction-rescue"
RESCUE_POLL_SECONDS = 0.25


class Interactions:
    """The interactions this node can answer; in a cluster, any interaction the cluster accepted.

    On one node the facts stay in ``pending``. In a cluster (``shared.clustered``)
    every accepted interaction is also written to the shared state before it is
    recorded, each answer reloads and saves it there, and every node defers the
    interactions nobody answered ``interaction_rescue_seconds`` after they arrived
    (a node that accepted one may be dead): Discord drops an interaction not
    acknowledged within 3 s, and a failover takes longer. A plugin's later
    ``respond`` then fills the placeholder. Discord decides who answered first:
    its "already acknowledged" comes back as ``AlreadyAnswered``.
    """

    def __init__(self, source: DiscordEventSource) -> None:
        self.source = source
        self.pending: dict[str, Pending] = {}
        self.rescued = 0  # interactions this node deferred for a plugin
        self._rescuer: asyncio.Task[None] | None = None

    @property
    def shared(self) -> Shared:
        return self.source.shared

    @property
    def clustered(self) -> bool:
        return self.shared.clustered

    async def track(self, interaction: discord.Interaction) -> None:
        self._expire()
        p = Pending(
            str(interaction.id),
            interaction.token,
            str(interaction.guild_id),
            str(interaction.user.id),
            str(interaction.channel_id),
            int(interaction.type.value),
            application_id=str(self.source.application_id or ""),
        )
        self.pending[p.interaction_id] = p
        if self.clustered:
            try:
                await self.shared.put(TICKET_KEY + p.interaction_id, p.ticket(), FOLLOWUP_WINDOW_SECONDS)
                rescue = self.source.settings.interaction_rescue_seconds
                if rescue > 0:
                    await self.shared.due_add(RESCUE_QUEUE, p.interaction_id, p.received_at + rescue)
            except Exception:  # this node can still answer it; another one could not
                log.exception("interaction %s: sharing its answer ticket failed", p.interaction_id)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, p in self.pending.items() if now - p.received > FOLLOWUP_WINDOW_SECONDS]:
            del self.pending[key]

    async def _find(self, iid: str) -> Pending | None:
        """This node's copy of ``iid``; in a cluster, one made from the shared ticket if another node accepted it."""
        p = self.pending.get(iid)
        if p is None and self.clustered:
            ticket = await self.shared.get(TICKET_KEY + iid)
            if ticket is not None:
                self._expire()
                p = self.pending.setdefault(iid, Pending.from_ticket(ticket))
        return p

    async def _refresh(self, p: Pending) -> None:
        if self.clustered:
            ticket = await self.shared.get(TICKET_KEY + p.interaction_id)
            if ticket is not None:
                p.adopt(ticket)

    async def _save(self, p: Pending) -> None:
        if self.clustered:
            left = FOLLOWUP_WINDOW_SECONDS - (time.time() - p.received_at)
            if left > 0:
                await self.shared.put(TICKET_KEY + p.interaction_id, p.ticket(), left)

    async def call(self, scope: Scope, name: str, params: dict[str, Any]) -> Any:
        fn = getattr(self, f"do_{name}", None)
        validate = VALIDATORS.get(f"interaction.{name}")
        if fn is None or validate is None:
            raise UnknownMethod(f"interaction.{name}")
        clean = validate(Args(params))  # the spec's rules, as the core applied them
        if "allowed_mentions" not in params:  # the core always sends it; a direct caller gets Discord's default
            clean.pop("allowed_mentions", None)
        params = clean
        iid = str(params.get("_interaction_id") or "")
        if not iid:
            raise InvalidArgument("_interaction_id", "the id of the interaction being answered")
        p = await self._find(iid)
        if p is None or p.guild_id != scope.server_id:
            raise InvalidArgument("_interaction_id", f"an interaction of server {scope.server_id} (last 15 minutes)")
        async with p.lock:
            await self._refresh(p)
            if time.monotonic() - p.received > FOLLOWUP_WINDOW_SECONDS:
                raise InvalidArgument("_interaction_id", "an interaction at most 15 minutes old")
            result = await fn(scope, p, params)
            await self._save(p)
            return result

    def _initial(self, p: Pending, what: str) -> None:
        if p.answered:
            how = "the platform deferred it, nobody had answered in time" if p.auto_deferred else p.answered
            raise InvalidArgument("_interaction_id", f"an interaction not answered yet ({what} after {how})")
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

    async def _answered_elsewhere(self, p: Pending) -> None:
        """Discord says someone answered first: wait briefly for that node's ticket, so ``p`` shows how."""
        for _ in range(10):
            await self._refresh(p)
            if p.answered or not self.clustered:
                break
            await asyncio.sleep(0.05)
        if not p.answered:  # acknowledged, by whom is unknown: follow-ups are what is left
            p.answered = "respond"
            await self._save(p)

    def _webhook(self, p: Pending, method: str, path: str = "") -> Route:
        return Route(
            method,
            "/webhooks/{application_id}/{interaction_token}" + path,
            application_id=p.application_id or self.source.application_id,
            interaction_token=p.token,
        )

    async def _fill_placeholder(self, scope: Scope, p: Pending, params: dict[str, Any], ephemeral: bool) -> Any:
        """The first answer after a defer: edit the placeholder, or replace it when the visibility differs."""
        p.placeholder_open = False
        if ephemeral == p.placeholder_ephemeral:
            data = self._message(params, False)
            data.pop("flags", None)  # the placeholder keeps its own ephemeral flag
            route = self._webhook(p, "PATCH", "/messages/@original")
            message = await self.source.actions.request(route, "interaction", json=data)
        else:  # e.g. an ephemeral answer for a public placeholder the platform made: never show it to everyone
            data = self._message(params, ephemeral)
            await self.source.actions.request(self._webhook(p, "DELETE", "/messages/@original"), "interaction")
            route = self._webhook(p, "POST")
            message = await self.source.actions.request(route, "interaction", json=data, params={"wait": "true"})
        return message

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
        ephemeral = bool(params.get("ephemeral"))
        if p.auto_deferred:
            return await self._respond_to_placeholder(scope, p, params, ephemeral)
        self._initial(p, "respond")
        if params.get("update_message"):
            return await self._update_message(p, params)
        data = self._message(params, ephemeral)
        try:
            answer = await self._callback(p, {"type": 4, "data": data})
        except AlreadyAnswered:
            await self._answered_elsewhere(p)
            if p.auto_deferred:  # the platform deferred it a moment ago: the placeholder takes the answer
                return await self._respond_to_placeholder(scope, p, params, ephemeral)
            raise
        p.answered = "respond"
        self._remember(scope, ((answer or {}).get("resource") or {}).get("message"))
        return {}

    async def _respond_to_placeholder(
        self, scope: Scope, p: Pending, params: dict[str, Any], ephemeral: bool
    ) -> dict[str, Any]:
        """The plugin answers what the platform deferred: fill the placeholder, or edit/follow up a component's."""
        if params.get("update_message"):
            data = self._update_data(p, params)
            await self.source.actions.request(
                self._webhook(p, "PATCH", "/messages/@original"), "interaction", json=data
            )
            message = None
        elif p.placeholder_open:
            message = await self._fill_placeholder(scope, p, params, ephemeral)
        else:  # a component deferred without a placeholder: the answer is a new message
            route = self._webhook(p, "POST")
            data = self._message(params, ephemeral)
            message = await self.source.actions.request(route, "interaction", json=data, params={"wait": "true"})
        p.answered, p.auto_deferred = "respond", False
        self._remember(scope, message if isinstance(message, dict) else None)
        return {}

    def _update_data(self, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        if p.interaction_type != 3:
            raise InvalidArgument("update_message", "used only to answer a component interaction (a button or select)")
        data = self._message(params, False)
        # what the SDK sends replaces the message's parts, empty lists included (0.7+ always sends all three)
        for key in ("embeds", "components"):
            if isinstance(params.get(key), list):
                data[key] = list(params[key])[: 10 if key == "embeds" else 5]
        return data

    async def _update_message(self, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        """Discord's UPDATE_MESSAGE (type 7): edit the message the clicked component is on; ``ephemeral`` is moot."""
        await self._callback(p, {"type": 7, "data": self._update_data(p, params)})
        p.answered = "respond"
        return {}

    async def do_defer(self, scope: Scope, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        ephemeral = bool(params.get("ephemeral"))
        if not p.auto_deferred:
            self._initial(p, "defer")
            try:
                await self._callback(p, {"type": 5, "data": {"flags": EPHEMERAL} if ephemeral else {}})
            except AlreadyAnswered:
                await self._answered_elsewhere(p)
                if not p.auto_deferred:
                    raise
            else:
                p.answered, p.placeholder_ephemeral, p.placeholder_open = "defer", ephemeral, True
        # deferred by the platform already: the plugin's wish decides the first follow-up's visibility
        p.defer_ephemeral, p.auto_deferred = ephemeral, False
        return {}

    async def do_followup(self, scope: Scope, p: Pending, params: dict[str, Any]) -> dict[str, Any]:
        if p.answered not in ("respond", "defer"):
            raise InvalidArgument("_interaction_id", "an interaction already answered with respond or defer")
        if p.placeholder_open:
            message = await self._fill_placeholder(scope, p, params, p.defer_ephemeral)
            p.auto_deferred = False
        else:
            data = self._message(params, bool(params.get("ephemeral")))
            route = self._webhook(p, "POST")
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
        try:
            await self._callback(p, {"type": 9, "data": {"title": title, "custom_id": custom_id, "components": rows}})
        except AlreadyAnswered:
            await self._answered_elsewhere(p)
            raise
        p.answered = "modal"
        return {}

    # --- deferring what nobody answered in time (a cluster) -------------------------------------

    def start(self) -> None:
        """In a cluster: take part in deferring interactions nobody answered in time (any node may)."""
        if self.clustered and self.source.settings.interaction_rescue_seconds > 0 and self._rescuer is None:
            self._rescuer = asyncio.get_running_loop().create_task(self._rescue_loop(), name="maidcore-interactions")

    async def close(self) -> None:
        if self._rescuer is not None:
            self._rescuer.cancel()
            await asyncio.gather(self._rescuer, return_exceptions=True)
            self._rescuer = None

    async def _rescue_loop(self) -> None:
        while True:
            await asyncio.sleep(RESCUE_POLL_SECONDS)
            try:
                due = await self.shared.due_take(RESCUE_QUEUE)
            except Exception as exc:
                log.warning("reading the interactions due for a defer failed: %s", exc)
                continue
            for iid in due:
                try:
                    await self.rescue(iid)
                except Exception:
                    log.exception("deferring interaction %s for its plugin failed", iid)

    async def rescue(self, iid: str) -> bool:
        """Defer ``iid`` if nobody answered it yet (still inside Discord's 3 s); True if this node did."""
        p = await self._find(iid)
        if p is None or self.source.client is None:
            return False
        async with p.lock:
            await self._refresh(p)
            if p.answered or time.monotonic() - p.received > RESPOND_WINDOW_SECONDS:
                return False
            component = p.interaction_type == 3  # acknowledged without a placeholder: the plugin may still edit it
            try:
                await self._callback(p, {"type": 6 if component else 5, "data": {}})
            except AlreadyAnswered:  # its plugin answered just now, on some node
                return False
            p.answered, p.auto_deferred, p.placeholder_open = "defer", True, not component
            p.placeholder_ephemeral = p.defer_ephemeral = False
            await self._save(p)
        self.rescued += 1
        log.info("interaction %s: nobody answered in time, deferred it for its plugin", iid)
        return True
