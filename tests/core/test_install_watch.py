"""One install watcher: each change reaches every consumer once, whichever process made it and however it is heard."""

from __future__ import annotations

import asyncio

from maidcore.install_watch import InstallWatcher, PollingFeed
from maidcore.records import InstallRecord
from maidcore.testing.records import MemoryRecords


class CountingRecords(MemoryRecords):
    """Counts the reads the watcher makes, to show its work follows the changes."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.full_reads = 0

    async def get_install(self, server_id, plugin_id):
        self.reads += 1
        return await super().get_install(server_id, plugin_id)

    async def list_installs(self, **filters):
        self.full_reads += 1
        return await super().list_installs(**filters)


class PushFeed:
    """Stands in for LISTEN/NOTIFY: another node pushes the keys it changed."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    async def start(self, records, known):
        self.known = dict(known)

    async def changes(self, *, wait=True):
        keys = set()
        if wait:
            keys.add(await self.queue.get())
        while not self.queue.empty():
            keys.add(self.queue.get_nowait())
        return None if None in keys else keys  # None: the feed may have missed changes

    async def close(self):
        pass


async def started(records, feed):
    seen: list[list[tuple[str, str, str | None]]] = []

    async def consumer(changes):
        seen.append([(c.server_id, c.plugin_id, c.record.version if c.record else None) for c in changes])

    watcher = InstallWatcher(lambda: records, feed)
    watcher.subscribe(consumer)
    await watcher.start()
    return watcher, seen


async def test_changes_made_elsewhere_are_polled_and_announced_once():
    records = CountingRecords()
    for server in range(200):
        await records.put_install(InstallRecord(str(server), "dice", "1.0.0", frozenset()))
    watcher, seen = await started(records, PollingFeed(0))
    try:
        await records.put_install(InstallRecord("7", "dice", "1.1.0", frozenset()))
        await records.delete_install("9", "dice")
        reads = records.reads
        assert await watcher.check() == [("7", "dice"), ("9", "dice")]
        assert seen == [[("7", "dice", "1.1.0"), ("9", "dice", None)]]
        assert records.reads - reads == 2  # only the changed installs are re-read, not the 200
        assert await watcher.check() == [] and len(seen) == 1
    finally:
        await watcher.close()


async def test_a_change_made_in_this_process_is_announced_at_once_and_not_again_by_the_feed():
    records = MemoryRecords()
    watcher, seen = await started(records, PollingFeed(0))
    try:
        await records.put_install(InstallRecord("1", "dice", "1.0.0", frozenset({"storage:kv"})))
        assert await watcher.changed("1", "dice") == [("1", "dice")]
        assert await watcher.check() == []  # the poll sees it too, but it was announced already
        assert await watcher.changed("1", "dice") == []  # nothing new
        assert seen == [[("1", "dice", "1.0.0")]]
    finally:
        await watcher.close()


async def test_a_push_feed_replaces_polling_without_touching_the_consumers():
    records = MemoryRecords()
    feed = PushFeed()
    watcher, seen = await started(records, feed)
    try:
        await records.put_install(InstallRecord("5", "dice", "2.0.0", frozenset()))
        feed.queue.put_nowait(("5", "dice"))
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert seen == [[("5", "dice", "2.0.0")]]
    finally:
        await watcher.close()


async def test_the_polling_feed_follows_by_itself():
    records = MemoryRecords()
    watcher, seen = await started(records, PollingFeed(0.02))
    try:
        await records.put_install(InstallRecord("3", "dice", "1.0.0", frozenset()))
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert seen == [[("3", "dice", "1.0.0")]]
    finally:
        await watcher.close()


async def test_a_feed_that_may_have_missed_changes_gets_one_full_read_and_only_real_changes_announced():
    records = CountingRecords()
    for server in range(50):
        await records.put_install(InstallRecord(str(server), "dice", "1.0.0", frozenset()))
    feed = PushFeed()
    watcher, seen = await started(records, feed)
    try:
        # while the feed's connection was down: one upgrade, one uninstall, one new install
        await records.put_install(InstallRecord("4", "dice", "1.1.0", frozenset()))
        await records.delete_install("8", "dice")
        await records.put_install(InstallRecord("99", "dice", "1.0.0", frozenset()))
        reads, full_reads = records.reads, records.full_reads
        feed.queue.put_nowait(None)  # reconnected: "anything may have changed"
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert seen == [[("4", "dice", "1.1.0"), ("8", "dice", None), ("99", "dice", "1.0.0")]]
        assert records.full_reads - full_reads == 1 and records.reads == reads  # one read of all, none per key
        assert watcher.resyncs == 1
    finally:
        await watcher.close()
