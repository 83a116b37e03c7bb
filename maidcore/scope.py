"""The unit of isolation: one plugin on one server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """A (server, plugin) pair; every piece of plugin state and every rate limit is keyed by one."""

    server_id: str
    plugin_id: str

    def __str__(self) -> str:
        return f"{self.plugin_id}@{self.server_id}"
