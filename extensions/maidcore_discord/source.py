"""The discord.py event source: gateway events in, ``discord.*`` / ``interaction.*`` actions out.

With no token it starts the local emulator in-process and points discord.py at
it (REST base and the gateway URL ``/gateway/bot`` returns), so local mode runs
exactly the code that serves real Discord.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from maidcore.errors import UnknownMethod
from maidcore.layers.events import EventSink
from maidcore.scope import Scope
from maidcore.settings import DiscordSettings
from maidcore_discord import commands as command_sets
from maidcore_discord import payloads
from maidcore_discord.actions import Actions
from maidcore_discord.intents import intents_for
from maidcore_discord.interactions import Interactions
from maidcore_discord.owners import MessageOwners

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 60.0
DISCORD_API_BASE = Route.BASE
DISCORD_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY
DISCORD_AUTHORIZE_URL = "https://discord.com/oauth2/authorize"


class _Client(discord.AutoShardedClient):
    """discord.py's sharded client with every gateway event forwarded to the source."""

    def __init__(self, source: DiscordEventSource, *, fast_identify: bool, **options: Any) -> None:
        super().__init__(**options)
        self._source = source
        self._fast_identify = fast_identify

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not self._fast_identify:  # Discord wants 5 s between IDENTIFYs; the emulator does not
            await super().before_identify_hook(shard_id, initial=initial)

    async def on_ready(self) -> None:
        await self._source._on_ready()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._source.refresh_guild(str(guild.id))

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
        records: Callable[[], Any] | None = None,
        emulator: Any = None,
        state_dir: Path | None = None,
        event_types: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self.settings = settings
        self._records = records  # returns the platform's RecordStore (read lazily: storage starts first)
        self._event_types = event_types  # what installed plugins handle now (empty = unknown yet)
        self.emulator = emulator
        self._own_emulator = False
        self.client: _Client | None = None
        self.sink: EventSink | None = None
        self.event_types: frozenset[str] = frozenset()
        self.application_id: str | None = None
        self.command_owners: dict[str, dict[str, str]] = {}  # guild id -> command name -> plugin id
        self.message_owners = MessageOwners(state_dir / "message_owners.sqlite3" if state_dir else None)
        self.webhook_guilds: dict[str, str] = {}
        self.interactions = Interactions(self)
        self.actions = Actions(self)
        self._task: asyncio.Task | None = None
        self._watcher: asyncio.Task | None = None
        self._synced: dict[str, str] = {}  # guild id -> the command sets last registered
        self._ready = asyncio.Event()
        self._token = ""
        self._api_base: str | None = None

    # --- lifecycle -------------------------------------------------------------------

    @property
    def page_url(self) -> str | None:
        """The emulator's web page, when the source runs against the emulator."""
        return self.emulator.page_url if self.emulator is not None else None

    def oauth2_endpoints(self) -> Any:
        """Where the web console signs people in with Discord (``maidcore.web.console.signin.DiscordOAuth2``).

        Against the emulator: its own OAuth2 application, credentials included, so local
        mode signs in exactly like production. Against Discord: Discord's endpoints; the
        application's client id and secret come from the ``web`` settings.
        """
        from maidcore.web.console.signin import DiscordOAuth2

        if self.emulator is not None:
            return DiscordOAuth2(
                authorize_url=self.emulator.oauth_authorize_url,
                token_url=self.emulator.api_base + "/oauth2/token",
                api_base=self.emulator.api_base,
                client_id=self.emulator.oauth.client_id,
                client_secret=self.emulator.oauth.client_secret,
            )
        api_base = (self.settings.api_base or DISCORD_API_BASE).rstrip("/")
        return DiscordOAuth2(
            authorize_url=DISCORD_AUTHORIZE_URL, token_url=api_base + "/oauth2/token", api_base=api_base
        )

    @property
    def intents(self) -> discord.Intents:
        return intents_for(self.event_types)

    async def start(self, sink: EventSink, event_types: frozenset[str]) -> None:
        self.sink = sink
        self.event_types = frozenset(event_types)
        secret = self.settings.token
        token = (secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret or "")).strip()
        if not token:
            if self.emulator is None:
                from maidcore_discord.emulator import Emulator

                self.emulator = Emulator(
                    self.settings.emulator_host, self.settings.emulator_port, demo=self.settings.demo
                )
                await self.emulator.start()
                self._own_emulator = True
            token = self.emulator.bot_token
            log.info(
                "Discord emulator running: open %s", self.emulator.page_url, extra={"page": self.emulator.page_url}
            )
        api_base = self.settings.api_base or (self.emulator.api_base if self.emulator is not None else None)
        # discord.py keeps both addresses on classes: set them for this process (and restore Discord's)
        Route.BASE = api_base.rstrip("/") if api_base else DISCORD_API_BASE
        DiscordWebSocket.DEFAULT_GATEWAY = DISCORD_GATEWAY

        self._token, self._api_base = token, api_base
        await self._connect()

    async def _connect(self) -> None:
        """Build the discord.py client for the current intents, log in and wait until every shard is ready."""
        options: dict[str, Any] = {
            "intents": self.intents,
            "max_ratelimit_timeout": 30.0,
            "chunk_guilds_at_startup": False,
            "member_cache_flags": discord.MemberCacheFlags.from_intents(self.intents),
        }
        if self.settings.shard_count is not None:
            options["shard_count"] = self.settings.shard_count
        if self.settings.shard_ids is not None:
            if self.settings.shard_count is None:
                raise ValueError("discord.shard_ids needs discord.shard_count (the total number of shards)")
            options["shard_ids"] = list(self.settings.shard_ids)
        self._ready.clear()
        self.client = _Client(self, fast_identify=self.emulator is not None, **options)
        await self.client.login(self._token)
        if self._api_base:
            # discord.py dials DEFAULT_GATEWAY when shard_count is fixed (it skips GET /gateway/bot then)
            _, gateway_url, _ = await self.client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        self.application_id = str(self.client.application_id)
        self._task = asyncio.create_task(self._run(), name="maidcore-discord-gateway")
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=READY_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._task in done:
                self._task.result()  # re-raise why the gateway connection ended
            raise TimeoutError(f"discord gateway not ready after {READY_TIMEOUT_SECONDS:g}s")

    async def widen(self, event_types: frozenset[str]) -> bool:
        """Also deliver ``event_types``; reconnect with the intents they need. True if it reconnected.

        Called when a newly installed plugin handles types the source did not ask
        Discord for (e.g. the first plugin handling messages needs message content).
        """
        added = frozenset(event_types) - self.event_types
        if not added:
            return False
        before = self.intents.value
        self.event_types = self.event_types | added
        if self.intents.value == before or self.client is None:
            return False
        log.info("reconnecting with intents for %s", ", ".join(sorted(added)))
        old_client, old_task = self.client, self._task
        await old_client.close()
        if old_task is not None:
            old_task.cancel()
            await asyncio.gather(old_task, return_exceptions=True)
        await self._connect()
        return True

    async def _run(self) -> None:
        assert self.client is not None
        await self.client.connect(reconnect=True)

    async def _on_ready(self) -> None:
        assert self.client is not None
        for guild in self.client.guilds:
            await self.refresh_guild(str(guild.id))
        watched = self._records is not None or self._event_types is not None
        if watched and self._watcher is None and self.settings.commands_poll_seconds > 0:
            self._watcher = asyncio.create_task(self._watch_installs(), name="maidcore-discord-commands")
        self._ready.set()

    async def _watch_installs(self) -> None:
        """Re-sync a guild's commands when its installs change (install, upgrade, disable, uninstall)."""
        while True:
            await asyncio.sleep(self.settings.commands_poll_seconds)
            if self._event_types is not None:
                wanted = frozenset(self._event_types())
                if wanted and not wanted <= self.event_types:
                    try:
                        await self.widen(wanted)
                    except Exception:
                        log.exception("reconnecting with wider intents failed")
            if self.client is None or self._records is None:
                continue
            for guild in list(self.client.guilds):
                try:
                    await self.refresh_guild(str(guild.id))
                except Exception:
                    log.exception("re-syncing the commands of guild %s failed", guild.id)

    async def installs_changed(self, server_id: str) -> None:
        """Re-read ``server_id``'s installs now and re-register its commands if they changed."""
        await self.refresh_guild(server_id)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.message_owners.close()
        if self._own_emulator and self.emulator is not None:
            await self.emulator.close()
            self.emulator = None
        self._ready.clear()

    # --- inward -------------------------------------------------------------------------

    async def _publish(self, event: dict[str, Any], target_plugin: str | None = None, *, kind: str = "") -> None:
        """Hand one payload to the sink, naming its type.

        ``kind`` is the event type name where ``type`` holds something else: channel events
        carry the channel type (an int) in ``type`` (SDK schema, as in 0.5.x).
        """
        kind = kind or event.get("type", "")
        if kind not in self.event_types and kind != "interaction_create":
            return
        if self.sink is None:
            return
        try:
            await self.sink.publish(event, target_plugin=target_plugin, event_type=kind)
        except Exception:
            log.exception("the sink refused a %s event", kind)

    def _is_bot(self, guild_id: int, user_id: int) -> bool:
        assert self.client is not None
        guild = self.client.get_guild(guild_id)
        member = guild.get_member(user_id) if guild else None
        user = member or self.client.get_user(user_id)
        return bool(user.bot) if user is not None else False

    async def _on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None or interaction.type.value not in (2, 3, 5):
            return
        event = payloads.interaction_create(interaction)
        target = await self.owner_of_interaction(interaction, event)
        if target is None:
            log.warning(
                "no installed plugin owns interaction %s (%s %s) in guild %s; not delivered",
                event["interaction_id"],
                event["interaction_type"],
                event["command_name"] or event["custom_id"],
                event["guild_id"],
            )
            return
        self.interactions.track(interaction, target)
        await self._publish(event, target_plugin=target)

    async def owner_of_interaction(self, interaction: discord.Interaction, event: dict[str, Any]) -> str | None:
        """The plugin an interaction belongs to: the command's declarer, the message's sender, the modal's opener."""
        guild_id = event["guild_id"]
        if event["interaction_type"] == 2:
            owner = self.command_owners.get(guild_id, {}).get(event["command_name"])
            if owner is None:
                await self.refresh_guild(guild_id, sync=False)
                owner = self.command_owners.get(guild_id, {}).get(event["command_name"])
            return owner
        if event["interaction_type"] == 3 and interaction.message is not None:
            owner = self.message_owners.get(str(interaction.message.id))
            meta = interaction.message.interaction_metadata
            if owner is None and meta is not None:
                owner = self.interactions.owner_of(str(meta.id))
            if owner is not None:
                return owner
        if event["interaction_type"] == 5:
            owner = self.interactions.modal_owner(guild_id, event["user_id"], event["custom_id"])
            if owner is not None:
                return owner
        return await self._owner_by_prefix(guild_id, event["custom_id"])

    async def _owner_by_prefix(self, guild_id: str, custom_id: str) -> str | None:
        """After a restart the sender of an old message is unknown: ``<plugin_id>:`` custom_ids still route."""
        prefix = custom_id.split(":", 1)[0]
        if not prefix or ":" not in custom_id:
            return None
        installed = await self._installed_commands(guild_id)
        return prefix if installed is not None and prefix in installed else None

    def remember_message(self, message_id: str, plugin_id: str) -> None:
        self.message_owners.remember(message_id, plugin_id)

    # --- slash commands ----------------------------------------------------------------------

    async def _installed_commands(self, guild_id: str) -> dict[str, list[dict[str, Any]]] | None:
        """``{plugin_id: manifest slash_commands}`` of the guild's enabled installs; None without records."""
        if self._records is None:
            return None
        records = self._records()
        if records is None:
            return None
        out: dict[str, list[dict[str, Any]]] = {}
        for install in await records.list_installs(server_id=guild_id):
            if not install.enabled:
                continue
            version = await records.get_version(install.plugin_id, install.version)
            out[install.plugin_id] = list((version.manifest if version else {}).get("slash_commands") or [])
        return out

    async def refresh_guild(self, guild_id: str, *, sync: bool = True) -> None:
        """Re-read the guild's installs from the records; register their commands when ``sync``."""
        try:
            installed = await self._installed_commands(guild_id)
        except Exception:
            log.exception("reading installs of guild %s failed", guild_id)
            return
        if installed is None:
            return
        if sync:
            fingerprint = json.dumps(installed, sort_keys=True)
            if self._synced.get(guild_id) == fingerprint:
                return
            await self.sync_commands(guild_id, installed)
            self._synced[guild_id] = fingerprint
        else:
            self.command_owners[guild_id] = command_sets.merge(installed)[1]

    async def sync_commands(self, server_id: str, commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        for clash in command_sets.clashes(commands):
            log.error("%s; keeping the earlier owner", clash)
        payload, owners = command_sets.merge(commands)
        self.command_owners[server_id] = owners
        if self.client is None or self.application_id is None:
            return
        route = Route(
            "PUT",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            application_id=self.application_id,
            guild_id=server_id,
        )
        await self.actions.request(route, "sync_commands", json=payload)

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
