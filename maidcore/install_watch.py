"""The one place a running platform learns that installs changed: in this process, or in another one.

``InstallWatcher`` keeps the state of every install it has announced and
hands each real change (install, grant, upgrade, enable/disable, uninstall) to
its consumers — the runner and the command sync — once, as a batch. Changes
made in this process (``maidcore.installs`` through ``Platform.install_changed``)
are announced at once; changes made elsewhere (the CLI, another node) come
from an ``InstallFeed``. A feed only says *which* installs may have changed;
the watcher re-reads exactly those and drops what it already announced, so the
work after a change is proportional to the change, never to the number of
installs or servers. The storage layer provides the feed
(``Storage.install_feed``: PostgreSQL ``LISTEN/NOTIFY``, or SQLite's change
log); ``PollingFeed`` (every install re-read each interval) is the fallback for
a storage layer that has none. A feed that may have missed changes (it lost
its connection) answers ``None``: the watcher then re-reads every install once
and announces what differs from what it announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maidcore.layers.storage import InstallFeed, InstallKey, RecordStore
from maidcore.records import InstallRecord

log = logging.getLogger(__name__)

__all__ = ["InstallChange", "InstallFeed", "InstallKey", "InstallWatcher", "PollingFeed", "install_feed"]

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


def install_feed(storage: Any, poll_seconds: float, *, push: bool = True) -> InstallFeed:
    """The storage layer's own feed when it offers one (and ``push``), else a ``PollingFeed`` every ``poll_seconds``."""
    offer = getattr(storage, "install_feed", None) if push else None
    feed = offer(poll_seconds) if callable(offer) else None
    return feed if feed is not None else PollingFeed(poll_seconds)


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

    def __init__(self, records: Callable[[], RecordStore], feed: InstallFeed | Callable[[], InstallFeed]) -> None:
        """``feed``: the feed, or a function that builds it once the storage layer is open."""
        self._records = records
        self._feed_factory = feed if callable(feed) and not hasattr(feed, "changes") else None
        self.feed: InstallFeed = None if self._feed_factory is not None else feed  # type: ignore[assignment]
        #: Times every install was re-read because the feed may have missed changes (its connection came back).
        self.resyncs = 0
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
            if self.feed is None:
                assert self._feed_factory is not None
                self.feed = self._feed_factory()
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

    async def _announce(self, keys: Collection[InstallKey] | None) -> list[InstallKey]:
        if keys is not None and not keys:
            return []
        async with self._lock:
            records = self._records()
            if keys is None:  # the feed may have missed changes: one read of every install
                self.resyncs += 1
                current = {(r.server_id, r.plugin_id): r for r in await records.list_installs()}
                keys = self._announced.keys() | current.keys()
                read = current.get
            else:
                read = None
            changes = []
            for server_id, plugin_id in sorted(keys):
                if read is not None:
                    record = read((server_id, plugin_id))
                else:
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
        if self.feed is not None:
            await self.feed.close()
            if self._feed_factory is not None:
                self.feed = None  # type: ignore[assignment]
        self._primed = False
