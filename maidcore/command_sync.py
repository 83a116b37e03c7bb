"""Slash commands follow installs: the core decides each server's command set and who owns each name.

``CommandSync`` keeps, per server, the ``slash_commands`` of its enabled
installs (read once at start, then updated only for the servers whose installs
changed) and calls ``EventSource.sync_commands`` for a server when its set
changed and the source said it can act there (``EventSink.server_available``).
The owner of a name (``maidcore.slash_commands.owners``) is where a command
interaction is routed.

Each successful sync is recorded as a digest per (application, server) in the
storage layer's ``CommandSyncStore``, so a node that restarts syncs only the
servers whose set differs from what was last sent (or was never sent), not all
of them. A failed sync is retried with backoff; in a cluster a node claims
(``Shared.once``) a (server, digest) before sending it, so two nodes do not send
the same set, and the one that lost the claim checks later that it was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from maidcore import __version__
from maidcore.install_watch import InstallChange
from maidcore.layers.events import EventSource
from maidcore.layers.shared import Shared
from maidcore.layers.storage import CommandSyncStore, RecordStore
from maidcore.records import InstallRecord
from maidcore.slash_commands import clashes, owners

log = logging.getLogger(__name__)

Commands = dict[str, list[dict[str, Any]]]  # plugin id -> its manifest's slash_commands

#: A failing server is retried after ``retry_seconds``, doubling each time up to this.
MAX_RETRY_SECONDS = 300.0
#: Syncs queued by ``server_available`` are sent by this many tasks at once.
SENDERS = 4
#: Digests of sent sets are written to the store this many at once, or this long after the first of a batch.
RECORD_BATCH = 500
RECORD_DELAY_SECONDS = 0.2


class CommandSync:
    """Each server's slash commands, kept equal to what its enabled installs declare."""

    def __init__(
        self,
        records: Callable[[], RecordStore],
        events: Callable[[], EventSource | None],
        *,
        store: Callable[[], CommandSyncStore | None] = lambda: None,
        shared: Shared | None = None,
        retry_seconds: float = 5.0,
        claim_seconds: float = 30.0,
    ) -> None:
        self._records = records
        self._events = events
        self._store = store  # where synced digests outlive this process (None: remembered in memory only)
        self._shared = shared if shared is not None else Shared()
        self.retry_seconds = retry_seconds
        self.claim_seconds = claim_seconds  # how long a node's claim on syncing one (server, digest) holds
        #: ``sync_commands`` calls that succeeded in this process.
        self.sent = 0
        self._commands: dict[str, Commands] = {}  # server -> its enabled installs' commands
        self._owners: dict[str, dict[str, str]] = {}  # server -> command name -> plugin
        self._declared: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (plugin, version) -> commands
        self._synced: dict[str, str] = {}  # server -> digest of the set it has (of ``_application``)
        self._application: str | None = None  # whose digests ``_synced`` holds
        self._remembered_at = 0.0
        self._remembering = asyncio.Lock()
        self._available: set[str] = set()  # servers the event source can act in
        self._due: dict[str, float] = {}  # server -> when to try its sync again (monotonic)
        self._failures: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._retrier: asyncio.Task[None] | None = None
        self._queue: dict[str, None] = {}  # servers waiting for a sender, in arrival order
        self._senders: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._settled.set()
        self._sending: dict[str, asyncio.Lock] = {}  # one sync of a server at a time
        self._verify: set[str] = set()  # servers another node claimed: re-read their digest before trying
        self._unrecorded: dict[str, dict[str, str]] = {}  # application -> server -> digest sent, not yet stored
        self._flusher: asyncio.Task[None] | None = None

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
        """The source can act in ``server_id`` now (connected, or the bot joined): make its commands current.

        Returns at once when the server's set is current; otherwise queues the sync for the
        background senders (``settled()`` waits for them), so a source taking in thousands of
        servers at connect is never held up by thousands of HTTP calls.
        """
        self._available.add(server_id)
        try:
            if not self.known(server_id):
                await self.refresh(server_id)
            if await self._current(server_id):
                return
        except Exception:  # the records could not be read: try again later rather than leave the server stale
            log.exception("syncing the slash commands of server %s failed; retrying", server_id)
            self._later(server_id, self.retry_seconds)
            return
        self._queue[server_id] = None
        self._settled.clear()
        while len(self._senders) < min(SENDERS, len(self._queue)):
            task = asyncio.get_running_loop().create_task(self._send_queued(), name="maidcore-command-sync-send")
            self._senders.add(task)
            task.add_done_callback(self._sender_done)

    async def _current(self, server_id: str) -> bool:
        """Whether the set last synced to ``server_id`` (as this node knows it) is the one it should have."""
        events = self._events()
        if events is None:
            return True
        await self._remember(str(getattr(events, "application_id", None) or ""))
        return self._synced.get(server_id) == command_digest(
            getattr(events, "name", ""), self._commands.get(server_id, {})
        )

    async def _send_queued(self) -> None:
        while self._queue:
            server_id = next(iter(self._queue))
            del self._queue[server_id]
            try:
                await self._sync(server_id)
            except Exception:
                log.exception("syncing the slash commands of server %s failed; retrying", server_id)
                self._later(server_id, self.retry_seconds)

    def _sender_done(self, task: asyncio.Task[None]) -> None:
        self._senders.discard(task)
        if not self._senders:
            self._settled.set()

    async def settled(self) -> None:
        """Wait until every queued sync was tried (a failed one then waits for its retry: see ``pending``)."""
        await self._settled.wait()

    async def _sync(self, server_id: str) -> None:
        """Sync ``server_id`` unless the set it has (as far as anyone recorded) is already the one it should have."""
        async with self._sending.setdefault(server_id, asyncio.Lock()):
            await self._sync_now(server_id)

    async def _sync_now(self, server_id: str) -> None:
        events = self._events()
        if events is None or server_id not in self._available:
            return
        commands = self._commands.get(server_id, {})
        application = str(getattr(events, "application_id", None) or "")
        digest = command_digest(getattr(events, "name", ""), commands)
        await self._remember(application)
        store = self._store()
        if server_id in self._verify and store is not None:  # another node claimed it: did it record the set?
            self._verify.discard(server_id)
            stored = await store.digest(application, server_id)
            if stored is not None:
                self._synced[server_id] = stored
        elif self._synced.get(server_id) != digest and time.monotonic() - self._remembered_at > self.claim_seconds:
            await self._remember(application, again=True)  # another node may have synced it since we read
        if self._synced.get(server_id) == digest:
            self._due.pop(server_id, None)
            return
        if not await self._shared.once(f"{application}:{server_id}:{digest}", self.claim_seconds):
            # another node of the cluster is syncing this very set; check it did once its claim has run out
            self._verify.add(server_id)
            self._later(server_id, self.claim_seconds)
            return
        try:
            await events.sync_commands(server_id, commands)
        except Exception:
            failures = self._failures.get(server_id, 0) + 1
            self._failures[server_id] = failures
            delay = min(self.retry_seconds * 2 ** (failures - 1), MAX_RETRY_SECONDS)
            log.exception("syncing the slash commands of server %s failed; retrying in %.0f s", server_id, delay)
            self._later(server_id, delay)
            return
        self._synced[server_id] = digest
        self._due.pop(server_id, None)
        self._failures.pop(server_id, None)
        self.sent += 1
        log.info("slash commands synced", extra={"server_id": server_id, "commands": ",".join(self._owners[server_id])})
        await self._record(application, server_id, digest)

    async def _remember(self, application: str, *, again: bool = False) -> None:
        """What every server's commands were last synced to (by any node, before a restart): read once per
        application, and ``again`` (at most once per ``claim_seconds``) when a server looks out of date."""
        if application == self._application and not again:
            return
        async with self._remembering:
            if application == self._application and (
                not again or time.monotonic() - self._remembered_at <= self.claim_seconds
            ):
                return
            store = self._store()
            if store is None:
                if application != self._application:
                    self._synced = {}
            else:
                await self.flush()  # what this node sent is in the store before it reads the store back
                self._synced = dict(await store.digests(application))
            self._remembered_at = time.monotonic()
            self._application = application

    # --- recording what was sent ------------------------------------------------------------

    async def _record(self, application: str, server_id: str, digest: str) -> None:
        """Queue the digest for the store; written in batches (a first start sends thousands of sets)."""
        if self._store() is None:
            return
        self._unrecorded.setdefault(application, {})[server_id] = digest
        if sum(len(d) for d in self._unrecorded.values()) >= RECORD_BATCH:
            await self.flush()
        elif self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon(), name="maidcore-command-digests")

    async def _flush_soon(self) -> None:
        await asyncio.sleep(RECORD_DELAY_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Write the digests of the sets sent so far to the store (a failure only costs a re-sync at the next start)."""
        store = self._store()
        while self._unrecorded and store is not None:
            application, digests = self._unrecorded.popitem()
            try:
                await store.put(application, digests)
            except Exception:
                log.exception("recording %d slash command digests failed", len(digests))
                return

    # --- retries -------------------------------------------------------------------------------

    def _later(self, server_id: str, delay: float) -> None:
        self._due[server_id] = time.monotonic() + delay
        if self._retrier is None or self._retrier.done():
            self._retrier = asyncio.get_running_loop().create_task(self._retry_forever(), name="maidcore-command-sync")
        self._wake.set()

    async def _retry_forever(self) -> None:
        while True:
            self._wake.clear()
            now = time.monotonic()
            for server_id in [s for s, at in self._due.items() if at <= now]:
                self._due.pop(server_id, None)
                try:
                    await self._sync(server_id)
                except Exception:  # reading the digests failed: try again later
                    log.exception("re-trying the slash commands of server %s failed", server_id)
                    self._later(server_id, self.retry_seconds)
            wait = min(self._due.values(), default=now + 3600) - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.05))

    def pending(self) -> frozenset[str]:
        """Servers whose commands are not known to be current yet (a failed sync waiting for its retry)."""
        return frozenset(self._due)

    async def close(self) -> None:
        """Stop retrying and record what was sent (what is still due is synced at the next start)."""
        self._queue.clear()
        for task in (self._retrier, self._flusher, *self._senders):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._retrier = self._flusher = None
        await self.flush()


def command_digest(source: str, commands: Commands) -> str:
    """sha256 of a server's desired commands as the source ``source`` syncs them (and of this maidcore version)."""
    text = json.dumps({"maidcore": __version__, "source": source, "commands": commands}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
