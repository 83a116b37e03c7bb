"""Event sources: connect to Discord (or something that speaks like it).

Inward, a source turns gateway events into SDK event payloads (the schema of
``mmo_maid_sdk.events``) and hands them to the platform's ``EventSink``.
Outward, it performs ``discord.*`` and ``interaction.*`` host calls and syncs
slash commands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from maidcore.scope import Scope


@runtime_checkable
class EventSink(Protocol):
    """Where a source delivers events; implemented by the runner's router."""

    async def publish(
        self, event: dict[str, Any], *, target_plugin: str | None = None, event_type: str | None = None
    ) -> None:
        """Route one SDK event payload (``guild_id`` set).

        ``event_type`` names the event (``"message_create"``); it defaults to
        ``event["type"]``, which channel events use for the channel's type instead
        (SDK schema, as in 0.5.x), so sources should always pass it.
        ``target_plugin`` restricts delivery to one plugin: the owner of a slash
        command, of the message a component sits on, or of the modal submitted.
        """
        ...


@runtime_checkable
class EventSource(Protocol):
    name: str

    async def start(self, sink: EventSink, event_types: frozenset[str]) -> None:
        """Connect and start delivering. ``event_types`` are the types installed plugins handle (for intents)."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...

    async def call(self, scope: Scope, method: str, params: Mapping[str, Any]) -> Any:
        """Perform a ``discord.*`` or ``interaction.*`` host method for ``scope``; return the RPC result.

        ``params`` were validated by the host API (capability, rate limit, SDK
        cuts). Raises ``maidcore.errors`` classes: ``BotMissingPermission``,
        ``DiscordApiFailed``, ``RateLimited``, ``InvalidArgument``.
        """
        ...

    async def sync_commands(self, server_id: str, commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Make the guild's slash commands exactly the union of ``commands`` (plugin id -> manifest commands)."""
        ...
