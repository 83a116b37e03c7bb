"""Slash commands follow installs: the core decides each server's command set and who owns each name.

``CommandSync`` keeps, per server, the ``slash_commands`` of its enabled
installs (read once at start, then updated only for the servers whose installs
changed) and calls ``EventSource.sync_commands`` for a server when its set
changed and the source said it can act there (``EventSink.server_available``).
The owner of a name (``maidcore.slash_commands.owners``) is where a command
interaction is routed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from maidcore.install_watch import InstallChange
from maidcore.layers.events import EventSource
from maidcore.layers.storage import RecordStore
from maidcore.records import InstallRecord
from maidcore.slash_commands import clashes, owners

log = logging.getLogger(__name__)

Commands = dict[str, list[dict[str, Any]]]  # plugin id -> its manifest's slash_commands


class CommandSync:
    """Each server's slash commands, kept equal to what its enabled installs declare."""

    def __init__(self, records: Callable[[], RecordStore], events: Callable[[], EventSource | None]) -> None:
        self._records = records
        self._events = events
        self._commands: dict[str, Commands] = {}  # server -> its enabled installs' commands
        self._owners: dict[str, dict[str, str]] = {}  # server -> command name -> plugin
        self._declared: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (plugin, version) -> commands
        self._synced: dict[str, str] = {}  # server -> fingerprint of the set last synced
        self._available: set[str] = set()  # servers the event source can act in

    # --- what routing asks ---------------------------------------------------------

    def owner(self, server_id: str, name: str) -> str | None:
        """The plugin whose install on ``server_id`` declares ``/name``."""
        return self._owners.get(server_id, {}).get(name)

    def installed(self, server_id: str) -> frozenset[str]:
        """The plugins enabled on ``server_id`` (as last read)."""
        return frozenset(self._commands.get(server_id, ()))

    def known(self, server_id: str) -> bool:
        return server_id in self._commands

    # --- reading installs -----------------------------------------------------------

    async def load(self) -> None:
        """Read every install once (at start): one query for installs, one per distinct version."""
        by_server: dict[str, list[InstallRecord]] = {}
        for record in await self._records().list_installs():
            by_server.setdefault(record.server_id, []).append(record)
        for server_id, installs in by_server.items():
            self._set(server_id, await self._read(installs))

    async def refresh(self, server_id: str) -> None:
        """Re-read one server's installs (a command nobody owns yet may belong to a brand-new install)."""
        self._set(server_id, await self._read(await self._records().list_installs(server_id=server_id)))

    async def _read(self, installs: Sequence[InstallRecord]) -> Commands:
        commands: Commands = {}
        for install in installs:
            if not install.enabled:
                continue
            key = (install.plugin_id, install.version)
            declared = self._declared.get(key)
            if declared is None:
                version = await self._records().get_version(install.plugin_id, install.version)
                declared = list((version.manifest if version else {}).get("slash_commands") or [])
                self._declared[key] = declared
            commands[install.plugin_id] = declared
        return commands

    def _set(self, server_id: str, commands: Commands) -> None:
        for clash in clashes(commands):
            log.error("%s; keeping the earlier owner", clash)
        self._commands[server_id] = commands
        self._owners[server_id] = owners(commands)

    # --- keeping the event source in step ------------------------------------------------

    async def installs_changed(self, changes: Sequence[InstallChange]) -> None:
        """Consumer of the install watcher: re-read and re-sync only the servers that changed."""
        if self._events() is None:
            return  # no event source (a command-line platform): nothing to route or sync
        for server_id in sorted({c.server_id for c in changes}):
            try:
                await self.refresh(server_id)
                await self._sync(server_id)
            except Exception:
                log.exception("re-syncing the slash commands of server %s failed", server_id)

    async def server_available(self, server_id: str) -> None:
        """The source can act in ``server_id`` now (connected, or the bot joined): make its commands current."""
        self._available.add(server_id)
        if not self.known(server_id):
            await self.refresh(server_id)
        await self._sync(server_id)

    async def _sync(self, server_id: str) -> None:
        events = self._events()
        if events is None or server_id not in self._available:
            return
        commands = self._commands.get(server_id, {})
        fingerprint = json.dumps(commands, sort_keys=True)
        if self._synced.get(server_id) == fingerprint:
            return
        await events.sync_commands(server_id, commands)
        self._synced[server_id] = fingerprint
        log.info("slash commands synced", extra={"server_id": server_id, "commands": ",".join(self._owners[server_id])})
