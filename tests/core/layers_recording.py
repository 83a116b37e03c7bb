"""Layers that record what the platform does with them, for testing the platform's assembly (not the layers).

They are registered through the real hooks by ``RecordingExtension``; the
layer implementations themselves are tested by their owners.
"""

from __future__ import annotations

from typing import Any

from maidcore.hookspecs import hookimpl
from maidcore.layers import SandboxUnavailable


class _Records:
    def __init__(self) -> None:
        self.installs: dict[tuple[str, str], Any] = {}

    async def list_installs(self, *, server_id=None, plugin_id=None):
        return [
            r
            for r in self.installs.values()
            if (server_id is None or r.server_id == server_id) and (plugin_id is None or r.plugin_id == plugin_id)
        ]

    async def get_install(self, server_id, plugin_id):
        return self.installs.get((server_id, plugin_id))

    async def put_install(self, record):
        self.installs[(record.server_id, record.plugin_id)] = record


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
        self.records = _Records()


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

    async def publish(self, event, *, target_plugin=None) -> None:
        self.log.append(f"event {event['type']}")

    def event_types(self) -> frozenset[str]:
        return frozenset({"message_create"})

    async def install_changed(self, server_id: str, plugin_id: str) -> None:
        self.changed.append((server_id, plugin_id))


class RecordingExtension:
    """Registers ``recording`` storage/limiter/events and two sandboxes: ``isolating`` and ``process``."""

    def __init__(self, log: list[str], *, isolating_unavailable: str | None = None) -> None:
        self.log = log
        self.isolating_unavailable = isolating_unavailable
        self.startup_saw: dict[str, Any] = {}

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
