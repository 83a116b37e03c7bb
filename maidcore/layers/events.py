"""Event sources: connect to Discord (or something that speaks like it).

A source is an adapter. Inward, it turns what its service sends into SDK event
payloads (the schema of ``yourbot_sdk.events``) and publishes them to the
platform's ``EventSink``, and it says which servers it can act in. Outward, it
performs ``discord.*`` / ``interaction.*`` host calls, syncs the slash
commands the core asks for, and reports the messages it creates for a plugin.
Platform policy — who owns an interaction, when commands change, which
installs exist — is the core's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from maidcore.scope import Scope


@dataclass(frozen=True)
class InteractionOrigin:
    """What a source knows about where an interaction came from, for the core to find its owner."""

    message_id: str | None = None  # the message a component (button, select) sits on
    message_interaction_id: str | None = None  # the interaction whose response created that message


@runtime_checkable
class EventSink(Protocol):
    """Where a source delivers events and reports what it did; implemented by the runner's router."""

    async def publish(
        self,
        event: dict[str, Any],
        *,
        event_type: str | None = None,
        target_plugin: str | None = None,
        origin: InteractionOrigin | None = None,
        source_key: str | None = None,
    ) -> int:
        """Route one SDK event payload (``guild_id`` set); returns how many deliveries were queued.

        ``event_type`` names the event (``"message_create"``); it defaults to
        ``event["type"]``, which channel events use for the channel's type instead
        (SDK schema, as in 0.5.x), so sources should always pass it. For an
        ``interaction_create`` the core finds the owning plugin (pass ``origin``
        for components); ``target_plugin`` overrides that for a source that
        already knows (a replay of one plugin). ``source_key`` names the event at its source
        (e.g. gateway session, sequence number and type): in a cluster an event whose
        key its shard's log recorded already is not recorded again (a replay after a
        takeover keeps its first delivery id); a single node ignores it.
        """
        ...

    async def server_available(self, server_id: str) -> None:
        """The source can act in ``server_id`` now (connected, or the bot joined it); the core syncs its commands."""
        ...

    def message_created(self, scope: Scope, message_id: str) -> None:
        """A message the source created for ``scope`` (a send, an interaction response): its components route there."""
        ...


@runtime_checkable
class LocalMode(Protocol):
    """A local stand-in for the service an event source talks to (the Discord emulator, a file of events).

    Offered through ``register_local_modes``. In local mode no real users are
    served, so the platform relaxes the isolation policy (a non-isolating
    sandbox needs no flag; an unavailable one falls back to
    ``fallback_sandbox_backend``), ``maidcore serve`` prints where to open it,
    and, when ``demo_server_id`` is set, installs the example plugins there.
    It may also offer ``known_servers() -> dict[str, str] | None`` (server id ->
    name; ``None`` when it cannot tell): installs on other servers are refused.
    """

    name: str  # what stands in, for people ("Discord emulator")

    @property
    def url(self) -> str | None:
        """Where a person opens it (once started); ``None`` if there is nothing to open."""
        ...

    @property
    def demo_server_id(self) -> str | None:
        """A server prepared for a demo, where ``maidcore serve`` installs ``examples/``; ``None`` for no demo."""
        ...

    async def start(self) -> None:
        """Start the stand-in; the platform calls it just before the event source starts."""
        ...

    async def close(self) -> None:
        """Stop it; called after the event source closed (so after the runner drained)."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """Connects to the service, delivers its events to the sink and performs the plugins' calls there.

    Closing is two steps when the source offers the optional ``async stop_intake()``:
    the platform calls it first, and the source stops taking events in (disconnects
    its gateway; in a cluster leaves the sessions resumable) but keeps ``call``
    working; the runner then lets its workers drain, their calls still served, and
    ``close()`` comes last. A source without ``stop_intake`` is closed after the
    runner drained; the router drops what it publishes meanwhile.
    """

    name: str

    async def start(self, sink: EventSink, event_types: frozenset[str]) -> None:
        """Connect and start delivering. ``event_types`` are the types installed plugins handle (for intents).

        Call ``sink.server_available`` for each server the source can act in, now and when it joins one.
        """
        ...

    async def close(self) -> None:
        """Disconnect; release what ``call`` uses (after the runner drained: no worker calls any more)."""
        ...

    async def call(self, scope: Scope, method: str, params: Mapping[str, Any]) -> Any:
        """Perform a ``discord.*`` or ``interaction.*`` host method for ``scope``; return the RPC result.

        ``params`` were validated by the host API (capability, rate limit, SDK
        cuts; for ``interaction.*``, that the interaction was delivered to
        ``scope``). Report each message created for the plugin with
        ``sink.message_created``. Raises ``maidcore.errors`` classes:
        ``BotMissingPermission``, ``DiscordApiFailed``, ``RateLimited``,
        ``InvalidArgument``.
        """
        ...

    async def sync_commands(self, server_id: str, commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Make the guild's slash commands exactly the union of ``commands`` (plugin id -> manifest commands).

        The core calls it when the server becomes available and its set differs from the one
        last synced there (recorded per ``application_id``, an optional attribute naming whose
        commands they are; "" when absent), and whenever its installs' commands change. Raise
        when the sync failed: the core retries it.
        """
        ...
