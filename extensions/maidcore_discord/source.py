"""The discord.py event source: gateway events in, ``discord.*`` / ``interaction.*`` actions out.

In local mode (no token) the platform starts the emulator (``EmulatorMode``)
and the source points discord.py at it (REST base and the gateway URL
``/gateway/bot`` returns), so local mode runs exactly the code that serves real
Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from maidcore.errors import UnknownMethod
from maidcore.layers.context import HandledEventTypes
from maidcore.layers.events import EventSink, InteractionOrigin
from maidcore.layers.shared import Shared
from maidcore.platform import PlatformError
from maidcore.scope import Scope
from maidcore_discord import commands as command_sets
from maidcore_discord import payloads
from maidcore_discord.actions import Actions
from maidcore_discord.handover import (
    GRACE_SECONDS,
    NEW,
    OLD,
    OVERLAP_SECONDS,
    SETTLE_SECONDS,
    Handover,
    current_first,
    gate_parsers,
)
from maidcore_discord.intents import intents_for
from maidcore_discord.interactions import Interactions
from maidcore_discord.resume import (
    SessionRecords,
    TrackedShard,
    drain,
    gateway_key,
    hold_frame,
    track_parsers,
    watch_live,
)
from maidcore_discord.settings import DiscordSettings

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 60.0
IDENTIFY_INTERVAL_SECONDS = 5.0  # Discord: at most max_concurrency IDENTIFYs per bucket in this window
DISCORD_API_BASE = Route.BASE
DISCORD_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY
DISCORD_AUTHORIZE_URL = "https://discord.com/oauth2/authorize"


# Plugins never join voice: discord.py's warning that voice libraries are missing is noise at every start.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def _login_error(exc: Exception, api_base: str | None) -> PlatformError:
    """A refused token or an unreachable API as one line naming the setting to check (the start-up error)."""
    if isinstance(exc, discord.LoginFailure):
        return PlatformError(
            f"Discord refused discord.token ({exc}): copy the bot token from the Discord developer portal "
            "into MAIDCORE_DISCORD__TOKEN"
        )
    where = api_base or "https://discord.com/api"
    return PlatformError(f"cannot reach Discord's API at {where}: {exc} (check the network, or discord.api_base)")


class _Client(discord.AutoShardedClient):
    """discord.py's sharded client with every gateway event forwarded to the source."""

    def __init__(self, source: DiscordEventSource, *, fast_identify: bool, **options: Any) -> None:
        super().__init__(**options)
        self._source = source
        self._fast_identify = fast_identify
        self.ready_event = asyncio.Event()  # every shard is ready (one node serving all shards)
        self.shards_ready: dict[int, asyncio.Event] = {}  # in a cluster: each served shard's guilds arrived
        self.down: set[int] = set()  # shards whose socket dropped and that did not resume (or identify) yet
        self.side = NEW  # in a handover: the session being replaced (OLD) or its replacement (NEW)
        self.handover: Handover | None = None
        self.launching: set[int] = set()  # in a cluster: shards being identified on this client right now

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        gate = self._source._identify_gate
        if gate is not None:  # in a cluster: the bucket's turn across every node
            await gate(shard_id or 0)
        elif not self._fast_identify:  # Discord wants 5 s between IDENTIFYs; the emulator does not
            # also across clients: a widening's first IDENTIFY may come right after the old client's last
            last = self._source._identified_at
            wait = last + IDENTIFY_INTERVAL_SECONDS - time.monotonic()
            if initial and wait > 0:
                await asyncio.sleep(wait)
            await super().before_identify_hook(shard_id, initial=initial)
            self._source._identified_at = time.monotonic()

    def _schedule_event(self, coro: Any, event_name: str, *args: Any, **kwargs: Any) -> asyncio.Task:
        task = super()._schedule_event(coro, event_name, *args, **kwargs)
        hold_frame(task)  # in a cluster: the dispatch counts as handled once this task ended
        return task

    async def launch_shards(self) -> None:
        if self._source._identify_gate is None:
            await super().launch_shards()
            return
        # in a cluster the node's leases say which shards to run: none yet
        self._connection.shard_count = self.shard_count
        self._connection.shard_ids = []

    async def on_ready(self) -> None:
        if self._source._identify_gate is None:
            await self._source._on_ready(self)

    async def on_shard_ready(self, shard_id: int) -> None:
        self.down.discard(shard_id)
        await self._source._on_shard_ready(self, shard_id)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        self.down.add(shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.down.discard(shard_id)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._source._server_available(str(guild.id))

    async def on_message(self, message: discord.Message) -> None:
        if message.guild is not None:
            await self._source._publish(payloads.message_create(message))

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if payload.guild_id is not None:
            await self._source._publish(payloads.message_edit(payload))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            await self._source._publish(
                payloads.message_delete(
                    payload.guild_id, payload.channel_id, payload.message_id, payload.cached_message
                )
            )

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.guild_id is None:
            return
        cached = {m.id: m for m in payload.cached_messages}
        for mid in sorted(payload.message_ids):
            await self._source._publish(
                payloads.message_delete(payload.guild_id, payload.channel_id, mid, cached.get(mid))
            )

    async def on_member_join(self, member: discord.Member) -> None:
        await self._source._publish(payloads.member_join(member))

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        await self._source._publish(payloads.member_leave(payload.guild_id, payload.user))

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        await self._source._publish(payloads.member_update(before, after))

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id is not None:
            bot = payload.member.bot if payload.member else self._source._is_bot(payload.guild_id, payload.user_id)
            await self._source._publish(payloads.reaction("reaction_add", payload, bot))

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id is not None:
            bot = self._source._is_bot(payload.guild_id, payload.user_id)
            await self._source._publish(payloads.reaction("reaction_remove", payload, bot))

    async def on_voice_state_update(self, member, before, after) -> None:
        await self._source._publish(payloads.voice_state_update(member, before, after))

    async def on_guild_channel_create(self, channel) -> None:
        await self._source._publish(payloads.channel("channel_create", channel), kind="channel_create")

    async def on_guild_channel_delete(self, channel) -> None:
        await self._source._publish(payloads.channel("channel_delete", channel), kind="channel_delete")

    async def on_guild_channel_update(self, before, after) -> None:
        await self._source._publish(payloads.channel("channel_update", after, before), kind="channel_update")

    async def on_guild_role_create(self, role: discord.Role) -> None:
        await self._source._publish(payloads.role("role_create", role))

    async def on_guild_role_delete(self, role: discord.Role) -> None:
        await self._source._publish(payloads.role("role_delete", role))

    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        await self._source._publish(payloads.role("role_update", after, before))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self._source._on_interaction(interaction)


class DiscordEventSource:
    """``EventSource`` on discord.py's ``AutoShardedClient`` (contract: ``maidcore.layers.events``)."""

    name = "discord"

    def __init__(
        self,
        settings: DiscordSettings,
        *,
        emulator: Any = None,
        local: Any = None,
        event_types: HandledEventTypes | None = None,
        shared: Shared | None = None,
    ) -> None:
        self.settings = settings
        #: what the cluster's nodes share (interaction tickets, so any node answers them); this node alone if None
        self.shared = shared if shared is not None else Shared()
        self.emulator = emulator
        self.local = local  # the platform's LocalMode: an EmulatorMode when no token is set
        self.handled = event_types  # what installed plugins handle; the intents widen when it grows
        self.client: _Client | None = None
        self.sink: EventSink | None = None
        self.event_types: frozenset[str] = frozenset()
        self.application_id: str | None = None
        self.webhook_guilds: dict[str, str] = {}
        self.interactions = Interactions(self)
        self.actions = Actions(self)
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._token = ""
        self._api_base: str | None = None
        # cluster mode (``manage_shards``): shards come and go with the node's leases
        self._identify_gate: Callable[[int], Awaitable[None]] | None = None
        self._shard_count = 0
        self._max_concurrency = 1
        self._reviving = asyncio.Lock()  # one new client at a time when several shards find the old one closed
        #: widening the intents: one task folds every request made meanwhile; shards wait while it runs
        self._widening: asyncio.Task[None] | None = None
        self._handing_over = asyncio.Lock()
        self._incoming: _Client | None = None  # in a cluster handover: the new client, before it takes over
        self._retiring: set[asyncio.Task[None]] = set()  # replaced clients, closed once their last calls ended
        self._intake_stopped = False  # closing: no event is published and the intents widen no more
        self._identified_at = float("-inf")  # one node: when this node last sent an IDENTIFY (any client)
        #: the last widening: seconds until the new session was ready, seconds both delivered, events from each
        self.last_handover: dict[str, float] | None = None
        #: in a cluster: each served shard's session and recorded sequence, for the next holder's RESUME
        self.sessions = SessionRecords(self.shared)

    # --- lifecycle -------------------------------------------------------------------

    def oauth2_endpoints(self) -> Any:
        """Where the web console signs people in with Discord (``maidcore.web.console.signin.DiscordOAuth2``).

        Against the emulator: its own OAuth2 application, credentials included, so local
        mode signs in exactly like production. Against Discord: Discord's endpoints; the
        application's client id and secret come from the ``web`` settings.
        """
        from maidcore.web.console.signin import DiscordOAuth2

        emulator = self.emulator or getattr(self.local, "emulator", None)
        if emulator is not None:
            return DiscordOAuth2(
                authorize_url=emulator.oauth_authorize_url,
                token_url=emulator.api_base + "/oauth2/token",
                api_base=emulator.api_base,
                client_id=emulator.oauth.client_id,
                client_secret=emulator.oauth.client_secret,
            )
        api_base = (self.settings.api_base or DISCORD_API_BASE).rstrip("/")
        return DiscordOAuth2(
            authorize_url=DISCORD_AUTHORIZE_URL, token_url=api_base + "/oauth2/token", api_base=api_base
        )

    @property
    def connected(self) -> bool:
        """Every shard's gateway is up (what ``/readyz`` reports as the event source being connected)."""
        client = self.client
        if client is None or not self._ready.is_set() or client.is_closed():
            return False
        return all(not shard.is_closed() for shard in client.shards.values())

    @property
    def intents(self) -> discord.Intents:
        return intents_for(self.event_types)

    async def start(self, sink: EventSink, event_types: frozenset[str]) -> None:
        self.sink = sink
        self._intake_stopped = False
        self.event_types = frozenset(event_types)
        secret = self.settings.token
        token = (secret.get_secret_value() if secret is not None else "").strip()
        if not token:
            if self.emulator is None:
                self.emulator = getattr(self.local, "emulator", None)
            if self.emulator is None:
                raise RuntimeError(
                    "no Discord token is configured (discord.token / MAIDCORE_DISCORD__TOKEN) and no emulator runs: "
                    "set a bot token, or let the platform start the emulator (its local mode)"
                )
            token = self.emulator.bot_token
        api_base = self.settings.api_base or (self.emulator.api_base if self.emulator is not None else None)
        # discord.py keeps both addresses on classes: set them for this process (and restore Discord's)
        Route.BASE = api_base.rstrip("/") if api_base else DISCORD_API_BASE
        DiscordWebSocket.DEFAULT_GATEWAY = DISCORD_GATEWAY

        self._token, self._api_base = token, api_base
        if self.handled is not None:
            self.handled.subscribe(self._handled_types_changed)
        await self._connect()
        self.interactions.start()

    async def _connect(self) -> None:
        """Build the discord.py client for the current intents, log in and wait until every shard is ready."""
        self._ready.clear()
        self.client = self._build_client()
        self._task = await self._open(self.client)

    def _build_client(self) -> _Client:
        """A discord.py client asking for the current intents (not connected yet)."""
        intents = self.intents
        options: dict[str, Any] = {
            "intents": intents,
            "max_ratelimit_timeout": 30.0,
            "chunk_guilds_at_startup": False,
            "member_cache_flags": discord.MemberCacheFlags.from_intents(intents),
        }
        if self.settings.shard_count is not None:
            options["shard_count"] = self.settings.shard_count
        if self.settings.shard_ids is not None:
            if self.settings.shard_count is None:
                raise ValueError("discord.shard_ids needs discord.shard_count (the total number of shards)")
            options["shard_ids"] = list(self.settings.shard_ids)
        if self._identify_gate is not None:
            options.pop("shard_ids", None)
        client = _Client(self, fast_identify=self.emulator is not None, **options)
        gate_parsers(client._connection, lambda: (client.side, client.handover))
        if self._identify_gate is not None:
            track_parsers(client._connection)  # which dispatches are recorded: the resume point
            _keep_shard_readies(client._connection)
        return client

    async def _open(self, client: _Client) -> asyncio.Task[None]:
        """Log ``client`` in and connect it; wait until every shard is ready (in a cluster: connect none yet)."""
        try:
            await client.login(self._token)
        except (discord.LoginFailure, aiohttp.ClientConnectionError) as exc:
            await client.close()  # its HTTP session, else asyncio reports it unclosed at exit
            raise _login_error(exc, self._api_base) from None
        if self._api_base or self._identify_gate is not None:
            # discord.py dials DEFAULT_GATEWAY when shard_count is fixed (it skips GET /gateway/bot then)
            recommended, gateway_url, limits = await client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
            self._shard_count = self.settings.shard_count or recommended
            self._max_concurrency = int((limits or {}).get("max_concurrency") or 1)
            if self._identify_gate is not None:
                client.shard_count = self._shard_count
        self.application_id = str(client.application_id)
        task = asyncio.create_task(client.connect(reconnect=True), name="maidcore-discord-gateway")
        if self._identify_gate is not None:
            return task  # shards connect one by one as the cluster hands them over
        ready = asyncio.create_task(client.ready_event.wait())
        done, _ = await asyncio.wait({ready, task}, timeout=READY_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise why the gateway connection ended
            raise TimeoutError(f"discord gateway not ready after {READY_TIMEOUT_SECONDS:g}s")
        return task

    async def widen(self, event_types: frozenset[str]) -> bool:
        """Also deliver ``event_types``; reconnect with the intents they need. True if it reconnected.

        Called when a newly installed plugin handles types the source did not ask
        Discord for (e.g. the first plugin handling messages needs message content).
        The new session is identified while the old one still delivers
        (``maidcore_discord.handover``), so no event is lost; requests made while a
        widening runs are folded into it (or into one more, for what it did not cover).
        """
        added = frozenset(event_types) - self.event_types
        if not added:
            return False
        before = self.intents.value
        self.event_types = self.event_types | added
        if self.intents.value == before or self.client is None:
            return False
        log.info("widening the gateway intents for %s", ", ".join(sorted(added)))
        if self._widening is None or self._widening.done():
            self._widening = asyncio.create_task(self._widen(), name="maidcore-discord-widen")
        await asyncio.shield(self._widening)
        return True

    async def _widen(self) -> None:
        await asyncio.sleep(SETTLE_SECONDS)
        while self.client is not None and self.client.intents.value != self.intents.value:
            async with self._handing_over:
                if self.client.is_closed():
                    await self._new_client()
                    continue
                await self._check_session_starts()
                if self._identify_gate is None:
                    await self._hand_over()
                else:
                    await self._hand_over_shards()

    async def _check_session_starts(self) -> None:
        """Refuse to widen when Discord's daily session start limit cannot cover a new session per shard."""
        assert self.client is not None
        _, _, limits = await self.client.http.get_bot_gateway()
        remaining = int((limits or {}).get("remaining", 1))
        needed = max(1, len(self._shard_map()))
        if remaining < needed:
            reset = float((limits or {}).get("reset_after", 0)) / 1000
            raise RuntimeError(
                f"Discord's session start limit leaves {remaining} IDENTIFYs and widening the intents needs {needed}: "
                f"the old intents stay until it resets in {reset:.0f}s (the next plugin change tries again)"
            )

    def _pair(self) -> tuple[_Client, asyncio.Task | None, _Client, Handover]:
        """The serving client (and its task) and a new one, both sides of one handover."""
        old, old_task = self.client, self._task
        assert old is not None
        handover = Handover()
        new = self._build_client()
        new.side, new.handover = NEW, handover
        old.side, old.handover = OLD, handover
        return old, old_task, new, handover

    async def _hand_over(self) -> None:
        """One node, every shard: identify a new client with the wider intents, then retire the old one."""
        old, old_task, new, handover = self._pair()
        started = time.monotonic()
        try:
            new_task = await self._open(new)
            await self._switch(old, old_task, new, new_task, handover, started)
        except BaseException:
            await self._abandon(old, new)
            raise

    async def _hand_over_shards(self) -> None:
        """In a cluster: the node's shards on a new client, each IDENTIFY in its bucket's turn; then retire the old.

        Shard leases stay this node's throughout: the new sessions publish through the
        same fenced sink; a shard whose lease is lost meanwhile is stopped on both clients.
        """
        old, old_task, new, handover = self._pair()
        started = time.monotonic()
        self._incoming = new
        try:
            new_task = await self._open(new)
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            while old.launching and time.monotonic() < deadline:  # shards the old client is identifying just now
                await asyncio.sleep(0.05)
            await asyncio.gather(*(self._move_shard(old, new, shard_id) for shard_id in sorted(self._shard_map(old))))
            for shard_id, shard in list(self._shard_map(new).items()):
                if self._shard_map(new).get(shard_id) is shard:  # (not stopped meanwhile)
                    await self.sessions.serving(shard_id, shard.tracker)  # the new session is the one to resume now
            await self._switch(old, old_task, new, new_task, handover, started)
        except BaseException:
            await self._abandon(old, new)
            raise
        finally:
            self._incoming = None

    async def _abandon(self, old: _Client, new: _Client) -> None:
        """A widening failed (or the source closes) before the switch: the old client serves alone again."""
        if self.client is new:
            return  # switched already: the old one is being retired
        old.handover = None
        if self._identify_gate is not None:
            for shard_id, shard in self._shard_map(old).items():
                with contextlib.suppress(Exception):
                    await self.sessions.serving(shard_id, shard.tracker)
        with contextlib.suppress(Exception):
            await new.close()

    async def _move_shard(self, old: _Client, new: _Client, shard_id: int) -> None:
        """Identify ``shard_id`` on ``new`` in its bucket's turn, unless its lease was lost meanwhile."""
        if shard_id not in self._shard_map(old):
            return
        await self._launch_shard(new, shard_id)
        if shard_id not in self._shard_map(old):  # lost while it identified: not this node's any more
            await self._drop_shard(new, shard_id)

    async def _switch(
        self,
        old: _Client,
        old_task: asyncio.Task[None] | None,
        new: _Client,
        new_task: asyncio.Task[None],
        handover: Handover,
        started: float,
    ) -> None:
        """Both deliver until the old one caught up (a shard resuming replays first) and the overlap passed."""
        ready = time.monotonic()
        deadline = ready + READY_TIMEOUT_SECONDS
        while (old.down & set(self._shard_map(old))) and not old.is_closed() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(OVERLAP_SECONDS)
        # no await from the cut to the retiring task: a cancellation cannot leave the old client half retired
        handover.cut = True  # from here only the new session publishes
        self.client, self._task, self._incoming = new, new_task, None
        self._ready.set()
        task = asyncio.create_task(self._retire(old, old_task, new), name="maidcore-discord-retire")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
        self.last_handover = figures = {
            "identify_seconds": ready - started,
            "overlap_seconds": time.monotonic() - ready,
            "old": handover.published[OLD],
            "new": handover.published[NEW],
            "dropped": handover.dropped,
        }
        log.info(
            "gateway intents widened to %d: new session ready in %.2fs, both delivered for %.2fs "
            "(%d events from the old, %d from the new, %d copies dropped)",
            new.intents.value,
            *figures.values(),
        )

    async def _retire(self, old: _Client, old_task: asyncio.Task[None] | None, new: _Client) -> None:
        """End the old sessions (1000) now; after the grace stop comparing and close the old client's HTTP too."""
        try:
            for shard in list(self._shard_map(old).values()):
                shard._cancel_task()
                with contextlib.suppress(Exception):
                    await shard.ws.close(code=1000)  # the old session ends: the new one carries everything after
            await asyncio.sleep(GRACE_SECONDS)  # calls already on the old client's HTTP session finish
        finally:
            new.handover = old.handover = None
            with contextlib.suppress(Exception):
                await old.close()
            if old_task is not None:
                old_task.cancel()
                await asyncio.gather(old_task, return_exceptions=True)

    async def _new_client(self) -> None:
        """Close the discord.py client (if it is not already) and build a new one; its shards are gone with it."""
        old_client, old_task = self.client, self._task
        if old_client is not None and not old_client.is_closed():
            await old_client.close()
        if old_task is not None:
            old_task.cancel()
            await asyncio.gather(old_task, return_exceptions=True)
        await self._connect()

    async def _on_ready(self, client: _Client) -> None:
        for guild in client.guilds:
            await self._server_available(str(guild.id))
        client.ready_event.set()
        if client is self.client:
            self._ready.set()

    # --- cluster: shards one by one (``maidcore.cluster.ShardHost``) ---------------------------

    def manage_shards(self, identify_gate: Callable[[int], Awaitable[None]]) -> None:
        """Before ``start``: connect no shard until ``serve_shard``; each IDENTIFY awaits ``identify_gate``."""
        self._identify_gate = identify_gate

    @property
    def shard_count(self) -> int:
        return self._shard_count

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def _shard_map(self, client: _Client | None = None) -> dict[int, Any]:
        client = client or self.client
        assert client is not None
        return client._AutoShardedClient__shards  # type: ignore[attr-defined]  # discord.py keeps them private

    async def serve_shard(self, shard_id: int) -> None:
        """Connect ``shard_id`` (after its IDENTIFY turn), wait until its guilds arrived, then replay the gap.

        The gap: what Discord sent the shard's previous session after the last
        sequence its holder recorded (``maidcore_discord.resume``).
        """
        if self.client is None:
            raise RuntimeError("the discord event source is not started")
        async with self._reviving:
            if self.client.is_closed():
                # discord.py closes the whole client, HTTP session included, when one shard ends for good (e.g.
                # after a long stall); without a new client this node could never serve a shard again
                log.warning("discord client was closed; starting a new one to serve shard %d", shard_id)
                await self._new_client()
        async with self._handing_over:  # a widening moves the served shards to a new client: not this one mid-way
            client = self.client
            client.launching.add(shard_id)
        try:
            previous = await self.sessions.load(shard_id)
            shard = await self._launch_shard(client, shard_id, resuming=previous is not None)
            if self._shard_map(client).get(shard_id) is not shard:
                return  # stopped while it connected
            if previous is not None:
                await drain(client, shard_id, previous, shard.tracker, shard.dedupe)
            await self.sessions.serving(shard_id, shard.tracker)
        finally:
            client.launching.discard(shard_id)

    async def _launch_shard(self, client: _Client, shard_id: int, *, resuming: bool = False) -> TrackedShard:
        """Identify ``shard_id`` on ``client`` in its bucket's turn; wait until its guilds arrived (or it stops)."""
        ready = client.shards_ready.setdefault(shard_id, asyncio.Event())
        ids = client._connection.shard_ids
        if shard_id not in ids:
            client._connection.shard_ids = sorted([*ids, shard_id])
        # discord.py's launch_shard, without its endless retry and without leaving a socket behind when cancelled
        connecting = asyncio.ensure_future(
            DiscordWebSocket.from_client(client, gateway=DiscordWebSocket.DEFAULT_GATEWAY, shard_id=shard_id)
        )
        try:
            ws = await asyncio.wait_for(asyncio.shield(connecting), READY_TIMEOUT_SECONDS)
        except BaseException:
            connecting.add_done_callback(_close_if_connected)
            raise
        shard = TrackedShard(ws, client, client._AutoShardedClient__queue.put_nowait, shard_id)  # type: ignore[attr-defined]
        shard.dedupe = watch_live(shard.tracker) if resuming else None
        self._shard_map(client)[shard_id] = shard
        shard.launch()
        await asyncio.wait_for(ready.wait(), READY_TIMEOUT_SECONDS)
        return shard

    async def stop_shard(self, shard_id: int) -> None:
        """Disconnect ``shard_id`` and forget its guilds; nothing of it is published after this.

        The socket closes as a dropped connection would (not 1000), so the session
        stays resumable: whoever takes the shard next replays what came after the
        sequence recorded here. Mid-widening, the new client's session of it goes too.
        """
        if self.client is None:
            return
        if self._incoming is not None:
            await self._drop_shard(self._incoming, shard_id)
        await self._drop_shard(self.client, shard_id, then=self.sessions.stopped)

    async def _drop_shard(
        self, client: _Client, shard_id: int, *, then: Callable[[int], Awaitable[None]] | None = None
    ) -> None:
        ready = client.shards_ready.pop(shard_id, None)
        if ready is not None:
            ready.set()  # whoever waits for it to be ready: it is gone
        shard = self._shard_map(client).pop(shard_id, None)
        state = client._connection
        state.shard_ids = [s for s in state.shard_ids if s != shard_id]
        if shard is not None:
            shard._cancel_task()
            await shard.ws.close(code=4000)
        if then is not None:
            await then(shard_id)
        for guild in list(client.guilds):
            if guild.shard_id == shard_id:
                state._remove_guild(guild)

    async def _on_shard_ready(self, client: _Client, shard_id: int) -> None:
        if self._identify_gate is None:
            return
        for guild in client.guilds:
            if guild.shard_id == shard_id:
                await self._server_available(str(guild.id))
        event = client.shards_ready.get(shard_id)
        if event is not None:
            event.set()

    async def _server_available(self, guild_id: str) -> None:
        """Tell the core the bot is in ``guild_id`` (it syncs the guild's slash commands)."""
        if self.sink is None:
            return
        try:
            await self.sink.server_available(guild_id)
        except Exception:
            log.exception("the platform failed to take guild %s in", guild_id)

    async def _handled_types_changed(self, types: frozenset[str]) -> None:
        """A plugin started handling types the source does not ask Discord for: reconnect with those intents."""
        if types and not types <= self.event_types and self.client is not None and not self._intake_stopped:
            try:
                await self.widen(types)
            except Exception:
                log.exception("reconnecting with wider intents failed")

    async def stop_intake(self) -> None:
        """The platform's first closing step: no event comes in after it, but ``call`` keeps working.

        The gateway goes (in a cluster each shard's session stays resumable for its next
        holder; one node ends them as ``close`` did), the HTTP session stays: plugins the
        runner lets finish still send, edit and follow up until ``close``.
        """
        self._intake_stopped = True
        if self._widening is not None:
            self._widening.cancel()
            await asyncio.gather(self._widening, return_exceptions=True)
        if self.client is None:
            return
        if self._identify_gate is not None:
            # in a cluster: leave every shard's session resumable (client.close would end them with 1000)
            for shard_id in list(self._shard_map()):
                await self.stop_shard(shard_id)
            return
        for shard in list(self._shard_map().values()):
            shard._cancel_task()  # no reconnect: the session ends here, as discord.py's close ends it
            with contextlib.suppress(Exception):
                await shard.ws.close(code=1000)

    async def close(self) -> None:
        await self.stop_intake()  # nothing if the platform stopped the intake already
        for task in list(self._retiring):  # closes the replaced clients now
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.sessions.close()
        await self.interactions.close()
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._ready.clear()

    # --- inward -------------------------------------------------------------------------

    async def _publish(
        self,
        event: dict[str, Any],
        *,
        kind: str = "",
        origin: InteractionOrigin | None = None,
        deduped: bool = False,
    ) -> None:
        """Hand one payload to the sink, naming its type.

        ``kind`` is the event type name where ``type`` holds something else: channel events
        carry the channel type (an int) in ``type`` (SDK schema, as in 0.5.x).
        """
        kind = kind or event.get("type", "")
        if kind not in self.event_types and kind != "interaction_create":
            return
        if self.sink is None or self._intake_stopped:
            return
        if not deduped and not current_first(kind):  # widening: the other session's copy was published
            return
        try:
            await self.sink.publish(event, event_type=kind, origin=origin, source_key=gateway_key(kind))
        except Exception:
            log.exception("the sink refused a %s event", kind)

    def _is_bot(self, guild_id: int, user_id: int) -> bool:
        assert self.client is not None
        guild = self.client.get_guild(guild_id)
        member = guild.get_member(user_id) if guild else None
        user = member or self.client.get_user(user_id)
        return bool(user.bot) if user is not None else False

    async def _on_interaction(self, interaction: discord.Interaction) -> None:
        """Publish a command, component or modal submit; the core finds the plugin that owns it."""
        if interaction.guild_id is None or interaction.type.value not in (2, 3, 5):
            return
        if not current_first("interaction_create"):  # widening: the other session's copy is already tracked
            return
        event = payloads.interaction_create(interaction)
        await self.interactions.track(interaction)  # in a cluster: shared before recorded, any node answers it
        message = interaction.message
        origin = None
        if message is not None:
            meta = message.interaction_metadata
            origin = InteractionOrigin(str(message.id), str(meta.id) if meta is not None else None)
        await self._publish(event, origin=origin, deduped=True)

    def report_message(self, scope: Scope, message_id: str) -> None:
        """A message this source created for ``scope``: the core records its owner (buttons on it route there)."""
        if self.sink is not None:
            self.sink.message_created(scope, str(message_id))

    # --- slash commands ----------------------------------------------------------------------

    async def sync_commands(self, server_id: str, commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        if self.client is None or self.application_id is None:
            return
        route = Route(
            "PUT",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            application_id=self.application_id,
            guild_id=server_id,
        )
        await self.actions.request(route, "sync_commands", json=command_sets.payloads(commands))

    # --- outward -------------------------------------------------------------------------------

    async def call(self, scope: Scope, method: str, params: Mapping[str, Any]) -> Any:
        if self.client is None:
            raise RuntimeError("the discord event source is not started")
        family, _, name = method.partition(".")
        args = {k: v for k, v in params.items() if k != "discord_srv_id"}
        if family == "discord":
            return await self.actions.call(scope, name, args)
        if family == "interaction":
            return await self.interactions.call(scope, name, args)
        raise UnknownMethod(method)


def _keep_shard_readies(state: Any) -> None:
    """Shards started one by one must each get their ``shard_ready``, whenever the next one connects.

    discord.py's sharded state cancels its all-shards "ready" task at every READY
    and that task gathers the per-shard ready tasks, so a shard connecting while
    another still waits for its guilds cancelled the other's ``shard_ready`` and
    its ``serve_shard`` waited in vain. Shielded, the per-shard tasks run on.
    """

    async def delay_ready() -> None:
        tasks = [asyncio.shield(task) for task in list(state._ready_tasks.values())]
        await asyncio.gather(*tasks, return_exceptions=True)
        state._ready_task = None
        state._ready_tasks = {}
        state.call_handlers("ready")
        state.dispatch("ready")

    state._delay_ready = delay_ready


def _close_if_connected(connecting: asyncio.Future[DiscordWebSocket]) -> None:
    """A shard connection finished after its shard was given up: close it (a clean close ends the session)."""
    if not connecting.cancelled() and connecting.exception() is None:
        ws = connecting.result()
        task = asyncio.ensure_future(ws.close(code=1000))
        _closing.add(task)
        task.add_done_callback(_closing.discard)


_closing: set[asyncio.Future[None]] = set()
