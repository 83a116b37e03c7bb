"""``MemoryRecords``: the platform's records in dicts, for tests that need a real ``RecordStore`` and no database."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Collection, Sequence
from typing import Any

from maidcore.records import DeadLetter, InstallRecord, PluginLog, PluginRecord, TokenRecord, VersionRecord


class MemoryRecords:
    """Implements ``maidcore.layers.RecordStore`` in memory (nothing survives the object)."""

    def __init__(self) -> None:
        self.plugins: dict[str, PluginRecord] = {}
        self.versions: dict[tuple[str, str], VersionRecord] = {}
        self.installs: dict[tuple[str, str], InstallRecord] = {}
        self.dead_letters: dict[int, DeadLetter] = {}
        self.logs: list[PluginLog] = []
        self.tokens: dict[str, TokenRecord] = {}
        self.registrations: dict[str, dict[str, Any]] = {}
        self._letter_ids = itertools.count(1)

    async def add_plugin(self, plugin: PluginRecord) -> None:
        if plugin.plugin_id in self.plugins:
            raise ValueError(f"plugin {plugin.plugin_id!r} already exists")
        self.plugins[plugin.plugin_id] = plugin

    async def get_plugin(self, plugin_id: str) -> PluginRecord | None:
        return self.plugins.get(plugin_id)

    async def list_plugins(self) -> list[PluginRecord]:
        return sorted(self.plugins.values(), key=lambda p: p.plugin_id)

    async def add_version(self, version: VersionRecord) -> None:
        key = (version.plugin_id, version.version)
        if key in self.versions:
            raise ValueError(f"version {version.version} of {version.plugin_id!r} already exists")
        self.versions[key] = version

    async def get_version(self, plugin_id: str, version: str) -> VersionRecord | None:
        return self.versions.get((plugin_id, version))

    async def list_versions(self, plugin_id: str) -> list[VersionRecord]:
        found = [v for (pid, _), v in self.versions.items() if pid == plugin_id]
        return sorted(found, key=lambda v: v.submitted_at)

    async def update_version(self, version: VersionRecord) -> None:
        key = (version.plugin_id, version.version)
        if key not in self.versions:
            raise KeyError(f"no version {version.version} of {version.plugin_id!r} to update")
        self.versions[key] = version

    async def get_registrations(self, digests: Collection[str]) -> dict[str, dict[str, Any]]:
        return {d: dict(self.registrations[d]) for d in digests if d in self.registrations}

    async def put_registration(self, digest: str, registration: dict[str, Any]) -> None:
        self.registrations[digest] = dict(registration)

    async def put_install(self, install: InstallRecord) -> None:
        self.installs[(install.server_id, install.plugin_id)] = install

    async def get_install(self, server_id: str, plugin_id: str) -> InstallRecord | None:
        return self.installs.get((server_id, plugin_id))

    async def list_installs(self, *, server_id: str | None = None, plugin_id: str | None = None) -> list[InstallRecord]:
        return [
            r
            for r in self.installs.values()
            if (server_id is None or r.server_id == server_id) and (plugin_id is None or r.plugin_id == plugin_id)
        ]

    async def delete_install(self, server_id: str, plugin_id: str) -> None:
        self.installs.pop((server_id, plugin_id), None)

    async def add_dead_letter(self, letter: DeadLetter) -> int:
        letter_id = next(self._letter_ids)
        self.dead_letters[letter_id] = dataclasses.replace(letter, id=letter_id)
        return letter_id

    async def list_dead_letters(
        self, *, plugin_id: str | None = None, server_id: str | None = None
    ) -> list[DeadLetter]:
        return [
            d
            for d in self.dead_letters.values()
            if (plugin_id is None or d.plugin_id == plugin_id) and (server_id is None or d.server_id == server_id)
        ]

    async def delete_dead_letter(self, letter_id: int) -> None:
        self.dead_letters.pop(letter_id, None)

    async def add_logs(self, logs: Sequence[PluginLog]) -> None:
        self.logs.extend(logs)

    async def list_logs(
        self, *, plugin_id: str | None = None, server_id: str | None = None, limit: int = 100
    ) -> list[PluginLog]:
        found = [
            g
            for g in self.logs
            if (plugin_id is None or g.plugin_id == plugin_id) and (server_id is None or g.server_id == server_id)
        ]
        return list(reversed(found))[:limit]

    async def add_token(self, token: TokenRecord) -> None:
        self.tokens[token.token_hash] = token

    async def get_token(self, token_hash: str) -> TokenRecord | None:
        return self.tokens.get(token_hash)

    async def revoke_token(self, token_hash: str) -> None:
        token = self.tokens.get(token_hash)
        if token is not None:
            self.tokens[token_hash] = dataclasses.replace(token, revoked=True)
