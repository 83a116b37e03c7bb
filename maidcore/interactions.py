"""Interaction ownership: which plugin a slash command, a button click or a modal submit belongs to.

The core decides it, whatever the event source: a command goes to the plugin
whose install declares it; a component to the plugin that sent the message it
sits on (or whose interaction response created that message); a modal submit to
the plugin that opened the modal; anything else with a ``<plugin_id>:``
custom_id to that plugin if it is installed on the server. Sources only report
what they see (``InteractionOrigin``) and the messages they create for a plugin
(``EventSink.message_created``).

An interaction can be answered (``interaction.*``) only by the plugin it was
delivered to, for ``ANSWER_WINDOW_SECONDS`` (Discord's interaction tokens live
15 minutes).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maidcore.command_sync import CommandSync
from maidcore.errors import InvalidArgument
from maidcore.layers.events import InteractionOrigin
from maidcore.scope import Scope

log = logging.getLogger(__name__)

ANSWER_WINDOW_SECONDS = 15 * 60.0
APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT = 2, 3, 5

MEMORY = 50_000  # message owners kept in memory (the newest)
KEEP_ON_DISK = 1_000_000  # message owners kept on disk (the newest)


class MessageOwners:
    """Which plugin sent which message: in memory (bounded) and in a SQLite file, so old buttons survive restarts.

    ``remember`` runs once per message a plugin sends, on the event loop: it only
    touches memory. A writer thread commits what accumulated in one transaction every
    ``FLUSH_SECONDS`` (or sooner once ``FLUSH_BATCH`` wait), so a burst of sends costs
    one commit, not one each. Routing reads memory first (a click on a message sent a
    moment ago is answered from there); a crash can lose the last ``FLUSH_SECONDS`` of
    the file, whose clicks then route by their ``<plugin_id>:`` custom_id prefix.
    """

    FLUSH_SECONDS = 0.5
    FLUSH_BATCH = 2_000

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._db: sqlite3.Connection | None = None
        self._pending: dict[int, str] = {}
        self._lock = threading.Lock()  # the connection and ``_pending`` (the writer thread shares them)
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        self._closed = False
        self._written = 0

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process crash
            self._db.execute("CREATE TABLE IF NOT EXISTS owners (message_id INTEGER PRIMARY KEY, plugin_id TEXT)")
        return self._db

    def remember(self, message_id: str, plugin_id: str) -> None:
        self._recent[message_id] = plugin_id
        self._recent.move_to_end(message_id)
        while len(self._recent) > MEMORY:
            self._recent.popitem(last=False)
        if self.path is None or self._closed or not message_id.isdigit():
            return
        with self._lock:
            self._pending[int(message_id)] = plugin_id
            waiting = len(self._pending)
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="maidcore-message-owners", daemon=True)
            self._writer.start()
        if waiting >= self.FLUSH_BATCH:
            self._wake.set()

    def _write_loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except sqlite3.Error:  # a full disk, a locked file: keep the batch, try again next round
                log.warning("message owners not written yet", exc_info=True)

    def flush(self) -> None:
        """Commit every remembered owner not yet on disk (the writer thread calls it; ``close`` does last)."""
        with self._lock:
            if not self._pending:
                return
            db = self._connect()
            if db is None:
                return
            rows = list(self._pending.items())
            db.execute("BEGIN")
            try:
                db.executemany("INSERT OR REPLACE INTO owners VALUES (?, ?)", rows)
                before, self._written = self._written, self._written + len(rows)
                if before // 1000 != self._written // 1000:  # now and then, forget the oldest beyond the bound
                    db.execute(
                        "DELETE FROM owners WHERE message_id < (SELECT message_id FROM owners "
                        "ORDER BY message_id DESC LIMIT 1 OFFSET ?)",
                        (KEEP_ON_DISK,),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._pending.clear()

    def get(self, message_id: str) -> str | None:
        owner = self._recent.get(message_id)
        if owner is None and message_id.isdigit():
            with self._lock:
                owner = self._pending.get(int(message_id))
                db = self._connect() if owner is None else None
                if db is not None:
                    row = db.execute("SELECT plugin_id FROM owners WHERE message_id = ?", (int(message_id),)).fetchone()
                    owner = row[0] if row else None
        return owner

    def __getitem__(self, message_id: str) -> str:
        owner = self.get(message_id)
        if owner is None:
            raise KeyError(message_id)
        return owner

    def close(self) -> None:
        """Write what is pending, stop the writer, close the file."""
        self._closed = True
        self._wake.set()
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        self.flush()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        self._closed = False  # usable again: the file reopens on the next use


def message_owners_file(data_dir: Path) -> Path:
    """``<data_dir>/interactions/message_owners.sqlite3``; a file of an older layout is moved there once."""
    path = data_dir / "interactions" / "message_owners.sqlite3"
    older = data_dir / "discord" / "message_owners.sqlite3"  # where the discord source kept it before
    if older.is_file() and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{older}{suffix}").exists():
                shutil.move(f"{older}{suffix}", f"{path}{suffix}")
    return path


@dataclass(frozen=True)
class Delivered:
    """An interaction the core delivered: to which plugin, on which server, for which user."""

    interaction_id: str
    server_id: str
    plugin_id: str
    user_id: str
    received: float = field(default_factory=time.monotonic)


class InteractionOwners:
    """Decides the owner of every interaction and who may answer it."""

    def __init__(self, commands: CommandSync, messages: MessageOwners | None = None) -> None:
        self.commands = commands
        self.messages = messages if messages is not None else MessageOwners()
        self._delivered: dict[str, Delivered] = {}
        self._modals: dict[tuple[str, str, str], str] = {}  # (server, user, modal custom_id) -> plugin

    async def route(
        self, event: dict[str, Any], *, target_plugin: str | None = None, origin: InteractionOrigin | None = None
    ) -> str | None:
        """The plugin to deliver an ``interaction_create`` to, noted as delivered to it; ``None``: nobody owns it.

        ``target_plugin`` (a source that already knows, e.g. a replay) is taken as is.
        """
        plugin_id = target_plugin if target_plugin is not None else await self.owner(event, origin)
        if plugin_id is not None:
            self.delivered(event, plugin_id)
        return plugin_id

    async def owner(self, event: dict[str, Any], origin: InteractionOrigin | None = None) -> str | None:
        """The plugin an ``interaction_create`` belongs to, or ``None`` if no installed plugin owns it."""
        server_id = str(event.get("guild_id") or "")
        kind = event.get("interaction_type")
        custom_id = str(event.get("custom_id") or "")
        if kind == APPLICATION_COMMAND:
            name = str(event.get("command_name") or "")
            owner = self.commands.owner(server_id, name)
            if owner is None:  # installed a moment ago, before the watcher announced it
                await self.commands.refresh(server_id)
                owner = self.commands.owner(server_id, name)
            return owner
        if kind == MESSAGE_COMPONENT and origin is not None:
            owner = self.messages.get(origin.message_id) if origin.message_id else None
            if owner is None and origin.message_interaction_id:
                delivered = self._delivered.get(origin.message_interaction_id)
                owner = delivered.plugin_id if delivered is not None else None
            if owner is not None:
                return owner
        if kind == MODAL_SUBMIT:
            owner = self._modals.get((server_id, str(event.get("user_id") or ""), custom_id))
            if owner is not None:
                return owner
        return await self._owner_by_prefix(server_id, custom_id)

    async def _owner_by_prefix(self, server_id: str, custom_id: str) -> str | None:
        """After a restart the sender of an old message may be unknown: ``<plugin_id>:`` custom_ids still route."""
        prefix, colon, _ = custom_id.partition(":")
        if not prefix or not colon:
            return None
        if not self.commands.known(server_id):
            await self.commands.refresh(server_id)
        return prefix if prefix in self.commands.installed(server_id) else None

    # --- bookkeeping the router and the host API do -------------------------------------

    def delivered(self, event: dict[str, Any], plugin_id: str) -> None:
        """The router hands an interaction to ``plugin_id``: it, and only it, may answer it now."""
        now = time.monotonic()
        for key in [k for k, d in self._delivered.items() if now - d.received > ANSWER_WINDOW_SECONDS]:
            del self._delivered[key]
        interaction_id = str(event.get("interaction_id") or "")
        if interaction_id:
            self._delivered[interaction_id] = Delivered(
                interaction_id, str(event.get("guild_id") or ""), plugin_id, str(event.get("user_id") or ""), now
            )

    def answering(self, scope: Scope, interaction_id: str) -> Delivered:
        """The interaction ``scope`` answers; ``InvalidArgument`` unless it was delivered to it, recently."""
        delivered = self._delivered.get(interaction_id)
        if delivered is None or delivered.server_id != scope.server_id or delivered.plugin_id != scope.plugin_id:
            raise InvalidArgument("_interaction_id", "an interaction delivered to this plugin in the last 15 minutes")
        if time.monotonic() - delivered.received > ANSWER_WINDOW_SECONDS:
            raise InvalidArgument("_interaction_id", "an interaction at most 15 minutes old")
        return delivered

    def modal_opened(self, delivered: Delivered, custom_id: str) -> None:
        """A plugin opened a modal for the user of ``delivered``: the submit comes back to it."""
        self._modals[(delivered.server_id, delivered.user_id, custom_id)] = delivered.plugin_id

    def message_created(self, scope: Scope, message_id: str) -> None:
        """The event source created a message for ``scope``: components on it route to that plugin."""
        if message_id:
            self.messages.remember(str(message_id), scope.plugin_id)

    def close(self) -> None:
        self.messages.close()
