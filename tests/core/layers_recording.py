"""Layers that record what the platform does with them, for testing the platform's assembly (not the layers).

They are registered through the real hooks by ``RecordingExtension``; the
layer implementations themselves are tested by their owners.
"""

from __future__ import annotations

from typing import Any

from maidcore.hookspecs import hookimpl
from maidcore.layers import SandboxUnavailable
from maidcore.testing.records import MemoryRecords


class _Layer:
    def __init__(self, kind: str, log: list[str], name: str) -> None:
        self.kind = kind
        self.name = name
        self.log = log

    async def start(self, *args: Any) -> None:
        self.log.append(f"start {self.kind}")
        self.start_args = args

    async def close(self) -> None:
        self.log.append(f"close {self.kind}")


class Storage(_Layer):
    def __init__(self, log: list[str], name: str = "recording") -> None:
        super().__init__("storage", log, name)
        self.records = MemoryRecords()


class Sandbox(_Layer):
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


class Runner(_Layer):
    def __init__(self, platform: Any, log: list[str]) -> None:
        super().__init__("runner", log, "runner")
        self.platform = platform
        self.changed: list[tuple[str, str]] = []
        self.router = self  # the event sink
        self.available: list[str] = []

    async def publish(self, event, **routing) -> int:
        self.log.append(f"event {event['type']}")
        return 1

    async def server_available(self, server_id: str) -> None:
        self.available.append(server_id)

    def message_created(self, scope, message_id: str) -> None:
        pass

    def event_types(self) -> frozenset[str]:
        return frozenset({"message_create"})

    async def install_changed(self, server_id: str, plugin_id: str) -> None:
        self.changed.append((server_id, plugin_id))


class Local(_Layer):
    """A ``LocalMode`` that records its start and close."""

    url = "http://local.test/"
    demo_server_id = None

    def __init__(self, log: list[str]) -> None:
        super().__init__("local", log, "recording local")


class RecordingExtension:
    """Registers ``recording`` storage/limiter/events and two sandboxes: ``isolating`` and ``process``.

    With ``local=True`` the ``recording`` event source runs in local mode (no real users).
    """

    def __init__(self, log: list[str], *, isolating_unavailable: str | None = None, local: bool = False) -> None:
        self.log = log
        self.isolating_unavailable = isolating_unavailable
        self.local = local
        self.startup_saw: dict[str, Any] = {}

    @hookimpl
    def register_local_modes(self, register):
        register("recording", lambda context: Local(self.log) if self.local else None)

    @hookimpl
    def register_storage(self, register):
        register("recording", lambda context: Storage(self.log))

    @hookimpl
    def register_rate_limiters(self, register):
        register("recording", lambda context: _Layer("limiter", self.log, "recording"))

    @hookimpl
    def register_event_sources(self, register):
        register("recording", lambda context: _Layer("events", self.log, "recording"))

    @hookimpl
    def register_sandbox_backends(self, register):
        register(
            "isolating",
            lambda context: Sandbox(self.log, "isolating", isolates=True, unavailable=self.isolating_unavailable),
        )
        register("process", lambda context: Sandbox(self.log, "process", isolates=False))

    @hookimpl
    async def maidcore_startup(self, platform):
        self.log.append("startup hook")
        self.startup_saw = {"storage": platform.storage, "runner": platform.runner, "sandbox": platform.sandbox}

    @hookimpl
    def maidcore_shutdown(self, platform):
        self.log.append("shutdown hook")
