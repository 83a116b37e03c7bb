"""Interaction ownership: which plugin a slash command, a button click or a modal submit belongs to.

The core decides it, whatever the event source: a command goes to the plugin
whose install declares it; a component to the plugin that sent the message it
sits on (or whose interaction response created that message); a modal submit to
the plugin that opened the modal; anything else with a ``<plugin_id>:``
custom_id to that plugin if it is installed on the server. Sources only report
what they see (``InteractionOrigin``) and the messages they create for a plugin
(``EventSink.message_created``). Who sent, opened or got what is kept where
every process and node that may get the click can read it (``MessageOwners``).

An interaction can be answered (``interaction.*``) only by the plugin it was
delivered to, for ``ANSWER_WINDOW_SECONDS`` (Discord's interaction tokens live
15 minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
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
from maidcore.layers.shared import Shared
from maidcore.scope import Scope

log = logging.getLogger(__name__)

ANSWER_WINDOW_SECONDS = 15 * 60.0
APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT = 2, 3, 5

MEMORY = 50_000  # message owners kept in memory (the newest)
KEEP_ON_DISK = 1_000_000  # message owners kept on disk (the newest)
MESSAGE, MODAL, INTERACTION = "message", "modal", "interaction"  # the kinds of owner records


class MessageOwners:
    """Who owns what a plugin left behind: the messages it sent, the modals it opened, the interactions it got.

    A component click routes to the sender of its message (or to the plugin its
    message's interaction was delivered to), a modal submit to the plugin that
    opened the modal. Memory holds the newest of each (a click a moment after a
    send is answered from there); behind it a store every process that may get
    the click can read:

    - **a cluster** (``shared`` is backed by the coordinator): the shared state,
      one key per record — messages kept ``message_ttl`` seconds, modals and
      interactions ``ANSWER_WINDOW_SECONDS`` (their token's life) — written by a
      task in batches (one round trip each) every ``SHARED_FLUSH_SECONDS``;
    - **one node** (``path``): a SQLite file in WAL mode, written by a thread in
      one transaction every ``FLUSH_SECONDS`` (or once ``FLUSH_BATCH`` wait), read
      by its own connection (WAL readers never wait for a writer). The processes of
      ``serve --processes N`` share the node's file, so each sees the others'
      records once committed; old buttons survive restarts.

    ``remember``/``note`` run on the event loop once per message sent: they only
    touch memory. A crash loses at most the last batch; such clicks still route by
    a ``<plugin_id>:`` custom_id prefix.
    """

    FLUSH_SECONDS = 0.5
    FLUSH_BATCH = 2_000
    SHARED_FLUSH_SECONDS = 0.1
    SHARED_BACKLOG = 200_000  # records waiting for an unreachable cluster state; the oldest go beyond this

    def __init__(self, path: Path | None = None, *, shared: Shared | None = None, message_ttl: float = 30 * 86400.0):
        self.path = path
        self.shared = shared
        self.message_ttl = message_ttl
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._expiring: dict[str, tuple[float, str]] = {}  # "<kind>:<key>" -> (unix expiry, plugin)
        self._db: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._pending: dict[int, str] = {}
        self._pending_expiring: dict[str, tuple[str, float]] = {}  # "<kind>:<key>" -> (plugin, unix expiry)
        self._lock = threading.Lock()  # the writer connection and the pending batches (the writer thread shares them)
        self._read_lock = threading.Lock()
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        self._closed = False
        self._written = 0
        self._shared_pending: dict[str, tuple[str, float]] = {}  # "<kind>:<key>" -> (plugin, ttl)
        self._shared_task: asyncio.Task[None] | None = None
        self._shared_wake: asyncio.Event | None = None
        self._shared_stopping = False

    @property
    def clustered(self) -> bool:
        """True when the records go to the cluster's shared state (``cluster.coordinator_url``)."""
        return self.shared is not None and self.shared.clustered

    # --- writing ---------------------------------------------------------------------------

    def remember(self, message_id: str, plugin_id: str) -> None:
        """``plugin_id`` sent message ``message_id``."""
        self._recent[message_id] = plugin_id
        self._recent.move_to_end(message_id)
        while len(self._recent) > MEMORY:
            self._recent.popitem(last=False)
        if self.clustered:
            self._share(f"{MESSAGE}:{message_id}", plugin_id, self.message_ttl)
            return
        if self.path is None or self._closed or not message_id.isdigit():
            return
        with self._lock:
            self._pending[int(message_id)] = plugin_id
            waiting = len(self._pending)
        self._start_writer(waiting)

    def note(self, kind: str, key: str, plugin_id: str, ttl: float) -> None:
        """``plugin_id`` owns ``kind`` record ``key`` (a modal, an interaction) for ``ttl`` seconds."""
        name, expires = f"{kind}:{key}", time.time() + ttl
        if len(self._expiring) > MEMORY:  # forget what expired before growing further
            now = time.time()
            for old in [k for k, (until, _) in self._expiring.items() if until <= now]:
                del self._expiring[old]
        self._expiring[name] = (expires, plugin_id)
        if self.clustered:
            self._share(name, plugin_id, ttl)
            return
        if self.path is None or self._closed:
            return
        with self._lock:
            self._pending_expiring[name] = (plugin_id, expires)
            waiting = len(self._pending) + len(self._pending_expiring)
        self._start_writer(waiting)

    def _start_writer(self, waiting: int) -> None:
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="maidcore-message-owners", daemon=True)
            self._writer.start()
        if waiting >= self.FLUSH_BATCH:
            self._wake.set()

    # --- the cluster's shared state ------------------------------------------------------------

    def _share(self, name: str, plugin_id: str, ttl: float) -> None:
        self._shared_pending[name] = (plugin_id, ttl)
        if len(self._shared_pending) > self.SHARED_BACKLOG:
            del self._shared_pending[next(iter(self._shared_pending))]
        if self._shared_task is None or self._shared_task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a synchronous caller): the next remember on the loop starts the writer
            self._shared_wake = asyncio.Event()
            self._shared_task = loop.create_task(self._share_loop(), name="maidcore-owners-shared")
        if len(self._shared_pending) >= self.FLUSH_BATCH and self._shared_wake is not None:
            self._shared_wake.set()

    async def _share_loop(self) -> None:
        assert self._shared_wake is not None
        while not self._shared_stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.SHARED_FLUSH_SECONDS):  # not wait_for: 3.11's can swallow a cancel
                    await self._shared_wake.wait()
            self._shared_wake.clear()
            try:
                await self.flush_shared()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the cluster state is unreachable: the batch waits for the next round
                log.warning("interaction owners not shared yet (%d waiting): %r", len(self._shared_pending), exc)
                await asyncio.sleep(1.0)

    async def flush_shared(self) -> None:
        """Write every record not yet in the cluster's shared state (one batch per lifetime)."""
        if not self._shared_pending or self.shared is None:
            return
        batch, self._shared_pending = self._shared_pending, {}
        by_ttl: dict[float, dict[str, str]] = {}
        for name, (plugin_id, ttl) in batch.items():
            by_ttl.setdefault(ttl, {})[name] = plugin_id
        try:
            for ttl, values in by_ttl.items():
                await self.shared.put_many(values, ttl)
        except BaseException:
            self._shared_pending = {**batch, **self._shared_pending}  # newer records win
            raise

    async def close_shared(self) -> None:
        """Write what waits for the shared state and stop its writer (before the coordinator closes)."""
        task, self._shared_task = self._shared_task, None
        if task is not None and self._shared_wake is not None:
            self._shared_stopping = True
            self._shared_wake.set()
            try:
                await asyncio.wait({task}, timeout=5.0)
            finally:
                task.cancel()
                self._shared_stopping = False
        try:
            await asyncio.wait_for(self.flush_shared(), 5.0)
        except Exception as exc:
            log.warning("%d interaction owners were not shared before closing: %r", len(self._shared_pending), exc)

    # --- the node's file -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process crash
            self._db.execute("CREATE TABLE IF NOT EXISTS owners (message_id INTEGER PRIMARY KEY, plugin_id TEXT)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS expiring (name TEXT PRIMARY KEY, plugin_id TEXT, expires REAL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS expiring_by_time ON expiring (expires)")
        return self._db

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
            if not self._pending and not self._pending_expiring:
                return
            db = self._connect()
            if db is None:
                return
            rows = list(self._pending.items())
            expiring = [(name, plugin, until) for name, (plugin, until) in self._pending_expiring.items()]
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO owners VALUES (?, ?)", rows)
                if expiring:
                    db.executemany("INSERT OR REPLACE INTO expiring VALUES (?, ?, ?)", expiring)
                    db.execute("DELETE FROM expiring WHERE expires < ?", (time.time(),))
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
            self._pending_expiring.clear()

    def _read(self, sql: str, args: tuple[Any, ...]) -> str | None:
        """One value from the node's file (what this or a sibling process committed), or None."""
        if self.path is None or not self.path.exists():
            return None
        with self._read_lock:
            try:
                if self._reader is None:
                    self._reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=1)
                row = self._reader.execute(sql, args).fetchone()
            except sqlite3.Error as exc:  # no table yet (nothing written), a busy file: unknown for now
                log.debug("message owners not readable: %s", exc)
                return None
        return row[0] if row else None

    # --- reading -----------------------------------------------------------------------------------

    def get(self, message_id: str) -> str | None:
        """The sender of ``message_id`` known to this node without the cluster: memory, then the node's file."""
        owner = self._recent.get(message_id)
        if owner is None and message_id.isdigit():
            with self._lock:
                owner = self._pending.get(int(message_id))
            if owner is None:
                owner = self._read("SELECT plugin_id FROM owners WHERE message_id = ?", (int(message_id),))
        return owner

    def __getitem__(self, message_id: str) -> str:
        owner = self.get(message_id)
        if owner is None:
            raise KeyError(message_id)
        return owner

    async def sender(self, message_id: str) -> str | None:
        """The plugin that sent ``message_id``, from whichever process or node it was sent on."""
        if not self.clustered:
            return self.get(message_id)
        owner = self._recent.get(message_id)
        if owner is None:
            owner = await self._shared_get(f"{MESSAGE}:{message_id}")
            if owner is not None:
                self._recent[message_id] = owner
                while len(self._recent) > MEMORY:
                    self._recent.popitem(last=False)
        return owner

    async def find(self, kind: str, key: str) -> str | None:
        """The plugin that owns ``kind`` record ``key`` (noted by any process or node), if it has not expired."""
        name = f"{kind}:{key}"
        held = self._expiring.get(name)
        if held is not None and held[0] > time.time():
            return held[1]
        if self.clustered:
            return await self._shared_get(name)
        with self._lock:
            pending = self._pending_expiring.get(name)
        if pending is not None:
            return pending[0]
        return self._read("SELECT plugin_id FROM expiring WHERE name = ? AND expires > ?", (name, time.time()))

    async def _shared_get(self, name: str) -> str | None:
        pending = self._shared_pending.get(name)
        if pending is not None:
            return pending[0]
        assert self.shared is not None
        try:
            owner = await self.shared.get(name)
        except Exception as exc:  # the cluster state is unreachable: route as if unknown (custom_id prefix)
            log.warning("interaction owner %s not readable from the cluster: %s", name, exc)
            return None
        return owner if isinstance(owner, str) else None

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
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
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
            owner = await self.messages.sender(origin.message_id) if origin.message_id else None
            if owner is None and origin.message_interaction_id:  # a message an interaction response created
                owner = await self.messages.find(INTERACTION, origin.message_interaction_id)
            if owner is not None:
                return owner
        if kind == MODAL_SUBMIT:
            owner = await self.messages.find(MODAL, _modal_key(server_id, str(event.get("user_id") or ""), custom_id))
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
            # a component on the message its response creates may be clicked on another process or node
            self.messages.note(INTERACTION, interaction_id, plugin_id, ANSWER_WINDOW_SECONDS)

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
        key = _modal_key(delivered.server_id, delivered.user_id, custom_id)
        # the submit may arrive on another process or node; a modal lives as long as the interaction's token
        self.messages.note(MODAL, key, delivered.plugin_id, ANSWER_WINDOW_SECONDS)

    def message_created(self, scope: Scope, message_id: str) -> None:
        """The event source created a message for ``scope``: components on it route to that plugin."""
        if message_id:
            self.messages.remember(str(message_id), scope.plugin_id)

    async def close_shared(self) -> None:
        """Share what is still pending with the cluster (before the coordinator closes)."""
        await self.messages.close_shared()

    def close(self) -> None:
        self.messages.close()


def _modal_key(server_id: str, user_id: str, custom_id: str) -> str:
    return f"{server_id}:{user_id}:{custom_id}"
