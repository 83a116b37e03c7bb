"""Layers that record what the platform does with them: test an extension's place in the platform, no services.

``RecordingExtension`` registers them through the ordinary hooks: a
``recording`` storage (records in memory), rate limiter and event source, two
sandboxes (``isolating`` and ``process``), optionally a local mode; every
start, close and hook call is appended to one shared list, in order.
``RecordingRunner`` stands in for the runner (``Platform(runner_factory=...)``).
"""

from __future__ import annotations

from typing import Any

from maidcore.hookspecs import hookimpl
from maidcore.layers import Decision, SandboxUnavailable
from maidcore.scope import Scope
from maidcore.testing.records import MemoryRecords


class RecordingLayer:
    """A layer that logs ``start <kind>`` / ``close <kind>``; ``start_args`` keeps what ``start`` got."""

    def __init__(self, kind: str, log: list[str], name: str) -> None:
        self.kind = kind
        self.name = name
        self.log = log
        self.start_args: tuple[Any, ...] = ()

    async def start(self, *args: Any) -> None:
        self.log.append(f"start {self.kind}")
        self.start_args = args

    async def close(self) -> None:
        self.log.append(f"close {self.kind}")


class RecordingStorage(RecordingLayer):
    """Storage whose ``records`` is a real in-memory ``RecordStore``."""

    def __init__(self, log: list[str], name: str = "recording") -> None:
        super().__init__("storage", log, name)
        self.records = MemoryRecords()


class RecordingLimiter(RecordingLayer):
    """A rate limiter that allows everything and counts what it was asked."""

    def __init__(self, log: list[str], name: str = "recording") -> None:
        super().__init__("limiter", log, name)
        self.hits: list[tuple[str, Scope, int]] = []

    def hit_nowait(self, bucket: Any, scope: Scope, cost: int = 1) -> Decision:
        self.hits.append((str(bucket), scope, cost))
        return Decision(True)

    async def hit(self, bucket: Any, scope: Scope, cost: int = 1) -> Decision:
        return self.hit_nowait(bucket, scope, cost)


class RecordingEvents(RecordingLayer):
    """An event source that connects to nothing and records the host calls it is asked to perform."""

    def __init__(self, log: list[str], name: str = "recording") -> None:
        super().__init__("events", log, name)
        self.calls: list[tuple[Scope, str, dict[str, Any]]] = []
        self.commands: dict[str, dict[str, Any]] = {}

    async def call(self, scope: Scope, method: str, params: Any) -> Any:
        self.calls.append((scope, method, dict(params)))
        return {}

    async def sync_commands(self, server_id: str, commands: Any) -> None:
        self.commands[server_id] = dict(commands)


class RecordingSandbox(RecordingLayer):
    """A sandbox that says whether it isolates, and can be unavailable (``SandboxUnavailable`` from ``start``)."""

    def __init__(self, log: list[str], name: str, *, isolates: bool, unavailable: str | None = None) -> None:
        super().__init__(f"sandbox {name}", log, name)
        self._isolates = isolates
        self.unavailable = unavailable

    async def start(self) -> None:
        if self.unavailable:
            self.log.append(f"unavailable sandbox {self.name}")
            raise SandboxUnavailable(self.unavailable)
        await super().start()

    def isolates(self) -> bool:
        return self._isolates


class RecordingLocalMode(RecordingLayer):
    """A ``LocalMode`` that logs its start and close."""

    url = "http://local.test/"
    demo_server_id = None

    def __init__(self, log: list[str]) -> None:
        super().__init__("local", log, "recording local")


class RecordingRunner(RecordingLayer):
    """Stands in for the runner: its router is itself, it records events and install changes."""

    def __init__(self, platform: Any, log: list[str]) -> None:
        super().__init__("runner", log, "runner")
        self.platform = platform
        self.router = self  # the event sink
        self.changed: list[tuple[str, str]] = []
        self.available: list[str] = []
        self.messages: list[tuple[Scope, str]] = []

    async def publish(self, event: dict[str, Any], **routing: Any) -> int:
        self.log.append(f"event {event['type']}")
        return 1

    async def server_available(self, server_id: str) -> None:
        self.available.append(server_id)

    def message_created(self, scope: Scope, message_id: str) -> None:
        self.messages.append((scope, message_id))

    def event_types(self) -> frozenset[str]:
        return frozenset({"message_create"})

    async def install_changed(self, server_id: str, plugin_id: str) -> None:
        self.changed.append((server_id, plugin_id))

    def stats(self) -> dict[str, Any]:
        return {"mode": "pool", "workers": [], "in_flight": 0}


class RecordingExtension:
    """Registers the recording layers, all named ``recording`` except the sandboxes ``isolating`` and ``process``.

    ``local=True``: the ``recording`` event source runs in local mode (no real users);
    ``isolating_unavailable``: the ``isolating`` sandbox raises ``SandboxUnavailable`` with that text.
    """

    def __init__(self, log: list[str], *, isolating_unavailable: str | None = None, local: bool = False) -> None:
        self.log = log
        self.isolating_unavailable = isolating_unavailable
        self.local = local
        self.startup_saw: dict[str, Any] = {}

    @hookimpl
    def register_storage(self, register):
        register("recording", lambda context: RecordingStorage(self.log))

    @hookimpl
    def register_rate_limiters(self, register):
        register("recording", lambda context: RecordingLimiter(self.log))

    @hookimpl
    def register_event_sources(self, register):
        register("recording", lambda context: RecordingEvents(self.log))

    @hookimpl
    def register_local_modes(self, register):
        register("recording", lambda context: RecordingLocalMode(self.log) if self.local else None)

    @hookimpl
    def register_sandbox_backends(self, register):
        register(
            "isolating",
            lambda context: RecordingSandbox(
                self.log, "isolating", isolates=True, unavailable=self.isolating_unavailable
            ),
        )
        register("process", lambda context: RecordingSandbox(self.log, "process", isolates=False))

    @hookimpl
    async def maidcore_startup(self, platform):
        self.log.append("startup hook")
        self.startup_saw = {"storage": platform.storage, "runner": platform.runner, "sandbox": platform.sandbox}

    @hookimpl
    def maidcore_shutdown(self, platform):
        self.log.append("shutdown hook")
