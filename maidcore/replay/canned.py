"""``CannedDiscord``: an event source that performs nothing, for replays and tests.

It is registered like any third-party event source (``CannedExtension``, name
``canned``) and runs in local mode (no real users). Inward, ``emit`` publishes
events to the platform's sink as a real source would. Outward, it records each
``discord.*`` / ``interaction.*`` call and answers with the canned results of
the SDK's testing kit (contract §11.4), so a replay needs no network and
answers as the plugin's unit tests did.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from yourbot_sdk.testing import canned_result

from maidcore.hookspecs import hookimpl
from maidcore.layers import EventSink, LayerContext
from maidcore.scope import Scope


class CannedDiscord:
    """An ``EventSource`` that records calls and answers like the SDK's mock."""

    name = "canned"

    def __init__(self, servers: Iterable[str] = ()) -> None:
        self.servers = tuple(servers)  # reported available at start, so the core syncs their commands
        self.calls: list[tuple[Scope, str, dict[str, Any]]] = []
        self.commands: dict[str, dict[str, Any]] = {}
        self.sink: EventSink | None = None
        # The ids MockContext hands out, so a replay answers as the plugin's unit tests did.
        self._ids = {
            "message": itertools.count(1),
            "followup": itertools.count(1),
            "channel": itertools.count(100),
            "thread": itertools.count(200),
            "webhook": itertools.count(300),
        }

    async def start(self, sink: EventSink, event_types: frozenset[str]) -> None:
        self.sink = sink
        for server_id in self.servers:
            await sink.server_available(server_id)

    async def close(self) -> None:
        self.sink = None

    async def emit(self, event_type: str, event: dict[str, Any], *, target_plugin: str | None = None) -> int:
        """Publish one event as if the service had sent it; returns how many deliveries were queued."""
        if self.sink is None:
            raise RuntimeError("the canned event source is not started")
        return await self.sink.publish(event, event_type=event_type, target_plugin=target_plugin)

    async def sync_commands(self, server_id: str, commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        self.commands[server_id] = dict(commands)

    def methods(self, method: str) -> list[dict[str, Any]]:
        """Params of every recorded call of ``method``."""
        return [params for _, m, params in self.calls if m == method]

    async def call(self, scope: Scope, method: str, params: Mapping[str, Any]) -> Any:
        params = dict(params)
        self.calls.append((scope, method, params))
        return canned_result(method, params, self._new_id, server_id=scope.server_id)

    def _new_id(self, kind: str) -> str:
        return str(next(self._ids[kind]))


class CannedLocalMode:
    """``LocalMode`` of the canned source: nothing to open, no demo, and no real users."""

    name = "canned Discord"
    url = None
    demo_server_id = None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class CannedExtension:
    """Registers one ``CannedDiscord`` as the ``canned`` event source, through the ordinary hooks."""

    def __init__(self, source: CannedDiscord) -> None:
        self.source = source

    @hookimpl
    def register_event_sources(self, register):
        register("canned", self._build)

    @hookimpl
    def register_local_modes(self, register):
        register("canned", lambda context: CannedLocalMode())

    def _build(self, context: LayerContext[None]) -> CannedDiscord:
        return self.source
