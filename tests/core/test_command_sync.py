"""The core keeps each server's slash commands equal to its enabled installs, and knows who owns each name."""

from __future__ import annotations

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
    assert source.synced == [("1", {"pingpong": ["ping"]}), ("2", {"dice": ["roll"]}), ("3", {})]
    await sync.server_available("1")  # unchanged: not sent again
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
