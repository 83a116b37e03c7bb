"""The core keeps each server's slash commands equal to its enabled installs, and knows who owns each name."""

from __future__ import annotations

import asyncio

import pytest

from maidcore.command_sync import CommandSync
from maidcore.install_watch import InstallChange
from maidcore.records import InstallRecord, VersionRecord, VersionStatus
from maidcore.slash_commands import CommandClash, check_clash, clashes, owners
from maidcore.testing.records import MemoryRecords

PING = {"name": "ping", "description": "Ping"}
ROLL = {"name": "roll", "description": "Roll"}


class Source:
    """Records every sync_commands call, as an event source would perform it."""

    def __init__(self) -> None:
        self.synced: list[tuple[str, dict]] = []

    async def sync_commands(self, server_id, commands):
        self.synced.append((server_id, {p: [c["name"] for c in cmds] for p, cmds in commands.items()}))


async def add(records: MemoryRecords, server: str, plugin: str, commands: list[dict], enabled: bool = True) -> None:
    if await records.get_version(plugin, "1.0.0") is None:
        manifest = {"slash_commands": commands}
        await records.add_version(VersionRecord(plugin, "1.0.0", VersionStatus.PUBLISHED, manifest, ""))
    await records.put_install(InstallRecord(server, plugin, "1.0.0", frozenset(), enabled=enabled))


def test_owners_and_clashes():
    assert owners({"dice": [ROLL], "pingpong": [PING]}) == {"roll": "dice", "ping": "pingpong"}
    assert owners({"b": [PING], "a": [PING]}) == {"ping": "a"}  # the id sorting first keeps a clashing name
    found = clashes({"a": [PING], "b": [PING, ROLL], "c": [ROLL]})
    assert [(c.name, c.plugin_id, c.owner) for c in found] == [("ping", "b", "a"), ("roll", "c", "b")]


def test_a_clash_is_refused_with_a_message_naming_both_plugins():
    with pytest.raises(CommandClash, match=r"/ping of plugin 'copycat' clashes with /ping of plugin 'pingpong'"):
        check_clash({"pingpong": [PING]}, "copycat", [PING])
    check_clash({"pingpong": [PING], "dice": [ROLL]}, "pingpong", [PING])  # an upgrade does not clash with itself


async def test_commands_sync_when_the_server_is_available_and_follow_only_the_servers_that_change():
    records, source = MemoryRecords(), Source()
    sync = CommandSync(lambda: records, lambda: source)
    await add(records, "1", "pingpong", [PING])
    await add(records, "2", "dice", [ROLL])
    await add(records, "2", "muted", [{"name": "mute", "description": "Mute"}], enabled=False)
    await sync.load()
    assert sync.owner("1", "ping") == "pingpong" and sync.owner("2", "mute") is None  # disabled: not routed
    assert source.synced == []  # nothing is sent before the source says it can act in a server

    await sync.server_available("1")
    await sync.server_available("2")
    await sync.server_available("3")  # a server with no installs gets an empty set (stale commands go)
    await sync.settled()  # sent in the background: the source is not held up
    assert source.synced == [("1", {"pingpong": ["ping"]}), ("2", {"dice": ["roll"]}), ("3", {})]
    await sync.server_available("1")  # unchanged: not sent again
    await sync.settled()
    assert len(source.synced) == 3

    await add(records, "2", "pingpong", [PING])
    await sync.installs_changed([InstallChange("2", "pingpong", await records.get_install("2", "pingpong"))])
    assert source.synced[3:] == [("2", {"dice": ["roll"], "pingpong": ["ping"]})]  # only server 2 is re-read
    await records.delete_install("1", "pingpong")
    await sync.installs_changed([InstallChange("1", "pingpong", None)])
    assert source.synced[4:] == [("1", {})] and sync.owner("1", "ping") is None


async def test_a_server_the_source_is_not_in_is_followed_but_never_synced():
    records, source = MemoryRecords(), Source()
    sync = CommandSync(lambda: records, lambda: source)
    await add(records, "9", "pingpong", [PING])
    await sync.installs_changed([InstallChange("9", "pingpong", await records.get_install("9", "pingpong"))])
    assert sync.owner("9", "ping") == "pingpong" and source.synced == []  # another node's shard


class FlakySource(Source):
    """An event source whose first ``failures`` syncs fail (Discord down, a 5xx)."""

    name = "flaky"
    application_id = "4242"

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures

    async def sync_commands(self, server_id, commands):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("discord is down")
        await super().sync_commands(server_id, commands)


@pytest.fixture
async def sql_storage(tmp_path):
    from maidcore_sqlmodel.settings import StorageSettings
    from maidcore_sqlmodel.storage import SqlModelStorage

    storage = SqlModelStorage(StorageSettings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"), tmp_path / "data")
    await storage.start()
    yield storage
    await storage.close()


def node(storage, source) -> CommandSync:
    """A node's command sync on ``storage`` (what a restart builds afresh)."""
    return CommandSync(lambda: storage.records, lambda: source, store=lambda: storage.command_syncs, retry_seconds=0.05)


async def test_a_restart_syncs_only_the_servers_whose_commands_changed_or_were_never_synced(sql_storage):
    records = sql_storage.records
    for server in ("1", "2", "3"):
        await add(records, server, "pingpong", [PING])
    source = FlakySource()
    first = node(sql_storage, source)
    await first.load()
    for server in ("1", "2", "3"):
        await first.server_available(server)
    await first.settled()
    assert [s for s, _ in source.synced] == ["1", "2", "3"] and first.sent == 3
    await first.close()

    source = FlakySource()  # the node restarts: nothing changed
    again = node(sql_storage, source)
    await again.load()
    for server in ("1", "2", "3"):
        await again.server_available(server)
    await again.settled()
    assert source.synced == [] and again.owner("2", "ping") == "pingpong"
    await again.close()

    await add(records, "2", "dice", [ROLL])  # changed while the node was down
    source = FlakySource()
    later = node(sql_storage, source)
    await later.load()
    for server in ("1", "2", "3", "4"):  # "4": the bot joined a server never synced
        await later.server_available(server)
    await later.settled()
    assert source.synced == [("2", {"dice": ["roll"], "pingpong": ["ping"]}), ("4", {})]
    await later.close()

    source = FlakySource()  # another application (another bot token) has its own digests
    source.application_id = "777"
    other = node(sql_storage, source)
    await other.load()
    await other.server_available("1")
    await other.settled()
    assert source.synced == [("1", {"pingpong": ["ping"]})]
    await other.close()


async def test_a_failed_sync_is_retried_and_recorded_only_once_it_succeeded(sql_storage):
    await add(sql_storage.records, "1", "pingpong", [PING])
    source = FlakySource(failures=2)
    sync = node(sql_storage, source)
    await sync.load()
    await sync.server_available("1")  # fails; retried in the background (0.05 s, then 0.1 s)
    await sync.settled()
    assert source.synced == [] and sync.pending() == {"1"}
    assert await sql_storage.command_syncs.digest("4242", "1") is None  # not recorded: a restart would sync it
    for _ in range(100):
        if source.synced:
            break
        await asyncio.sleep(0.02)
    assert source.synced == [("1", {"pingpong": ["ping"]})] and sync.pending() == frozenset()
    await sync.flush()  # digests are written in batches
    assert await sql_storage.command_syncs.digest("4242", "1") is not None
    await sync.close()


async def test_a_sync_still_failing_at_shutdown_is_sent_at_the_next_start(sql_storage):
    await add(sql_storage.records, "1", "pingpong", [PING])
    sync = node(sql_storage, FlakySource(failures=1000))
    await sync.load()
    await sync.server_available("1")
    await sync.settled()
    await sync.close()
    source = FlakySource()
    again = node(sql_storage, source)
    await again.load()
    await again.server_available("1")
    await again.settled()
    assert source.synced == [("1", {"pingpong": ["ping"]})]
    await again.close()
