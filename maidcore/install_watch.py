"""The one place a running platform learns that installs changed: in this process, or in another one.

``InstallWatcher`` keeps the state of every install it has announced and
hands each real change (install, grant, upgrade, enable/disable, uninstall) to
its consumers — the runner and the command sync — once, as a batch. Changes
made in this process (``maidcore.installs`` through ``Platform.install_changed``)
are announced at once; changes made elsewhere (the CLI, another node) come
from an ``InstallFeed``. A feed only says *which* installs may have changed;
the watcher re-reads exactly those and drops what it already announced, so the
work after a change is proportional to the change, never to the number of
installs or servers. The default feed polls (one query per interval); a push
feed (PostgreSQL ``LISTEN/NOTIFY``, Redis pub/sub) replaces it without touching
the consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from maidcore.layers.storage import RecordStore
from maidcore.records import InstallRecord

log = logging.getLogger(__name__)

InstallKey = tuple[str, str]  # (server_id, plugin_id)
InstallState = tuple[Any, ...]


def install_state(record: InstallRecord) -> InstallState:
    """What makes two readings of one install different (its install time does not)."""
    return (record.version, tuple(sorted(record.granted)), record.enabled, record.pending_version)


@dataclass(frozen=True)
class InstallChange:
    """One install that changed; ``record`` is how it is now (``None``: uninstalled)."""

    server_id: str
    plugin_id: str
    record: InstallRecord | None


InstallConsumer = Callable[[Sequence[InstallChange]], Awaitable[None]]


class InstallFeed(Protocol):
    """Where the watcher hears about installs changed by other processes."""

    async def start(self, records: RecordStore, known: Mapping[InstallKey, InstallState]) -> None:
        """Begin watching; ``known`` is every install's state now (a polling feed diffs against it)."""
        ...

    async def changes(self, *, wait: bool = True) -> Collection[InstallKey]:
        """The installs that may have changed since the last call; with ``wait``, block until there is one."""
        ...

    async def close(self) -> None: ...


class PollingFeed:
    """Re-reads every install each ``interval`` seconds (one query) and reports those that differ; 0 = never."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._records: RecordStore | None = None
        self._snapshot: dict[InstallKey, InstallState] = {}

    async def start(self, records: RecordStore, known: Mapping[InstallKey, InstallState]) -> None:
        self._records = records
        self._snapshot = dict(known)

    async def changes(self, *, wait: bool = True) -> Collection[InstallKey]:
        if wait:
            if self.interval <= 0:
                await asyncio.Event().wait()  # polling is off: nothing ever comes from elsewhere
            await asyncio.sleep(self.interval)
        assert self._records is not None, "PollingFeed.start() was not called"
        current = {(r.server_id, r.plugin_id): install_state(r) for r in await self._records.list_installs()}
        previous, self._snapshot = self._snapshot, current
        return {key for key in previous.keys() | current.keys() if previous.get(key) != current.get(key)}

    async def close(self) -> None:
        self._records = None


class InstallWatcher:
    """Announces each install change once to every consumer, whichever process made it."""

    def __init__(self, records: Callable[[], RecordStore], feed: InstallFeed) -> None:
        self._records = records
        self.feed = feed
        self._consumers: list[InstallConsumer] = []
        self._announced: dict[InstallKey, InstallState] = {}
        self._lock = asyncio.Lock()
        self._primed = False
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, consumer: InstallConsumer) -> None:
        """``consumer(changes)`` is awaited after every batch of real changes, in subscription order."""
        self._consumers.append(consumer)

    async def start(self) -> None:
        """Note every install's state now, and start following the feed."""
        await self._prime()
        self._task = asyncio.create_task(self._follow(), name="maidcore-install-watcher")

    async def _prime(self) -> None:
        if not self._primed:
            records = self._records()
            self._announced = {(r.server_id, r.plugin_id): install_state(r) for r in await records.list_installs()}
            await self.feed.start(records, self._announced)
            self._primed = True

    async def changed(self, server_id: str, plugin_id: str) -> list[InstallKey]:
        """An install changed in this process: announce it now (the feed will not announce it again)."""
        return await self._announce({(server_id, plugin_id)})

    async def check(self) -> list[InstallKey]:
        """Ask the feed now instead of waiting for it; returns the installs announced as changed.

        On a watcher that was never started, the first call only notes the current state.
        """
        if not self._primed:
            await self._prime()
            return []
        return await self._announce(await self.feed.changes(wait=False))

    async def _follow(self) -> None:
        while True:
            try:
                keys = await self.feed.changes()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the install feed failed; retrying in 5s")
                await asyncio.sleep(5.0)
                continue
            try:
                for server_id, plugin_id in await self._announce(keys):
                    log.info("install changed elsewhere", extra={"server_id": server_id, "plugin_id": plugin_id})
            except Exception:
                log.exception("announcing install changes failed")

    async def _announce(self, keys: Collection[InstallKey]) -> list[InstallKey]:
        if not keys:
            return []
        async with self._lock:
            records = self._records()
            changes = []
            for server_id, plugin_id in sorted(keys):
                record = await records.get_install(server_id, plugin_id)
                state = install_state(record) if record is not None else None
                if self._announced.get((server_id, plugin_id)) == state:
                    continue
                if state is None:
                    self._announced.pop((server_id, plugin_id), None)
                else:
                    self._announced[(server_id, plugin_id)] = state
                changes.append(InstallChange(server_id, plugin_id, record))
            if not changes:
                return []
            for consumer in list(self._consumers):
                try:
                    await consumer(changes)
                except Exception:
                    log.exception("an install-change consumer failed")
            return [(c.server_id, c.plugin_id) for c in changes]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.feed.close()
        self._primed = False
