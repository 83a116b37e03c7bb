"""Two nodes on one database and one coordinator (Redis, then PostgreSQL): a new command set is sent once."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time

import pytest
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.command_sync import CommandSync
from maidcore.install_watch import InstallChange
from maidcore.layers.shared import Shared
from maidcore.records import InstallRecord, VersionRecord, VersionStatus
from tests.cluster import engines

KEY = base64.b64encode(b"k" * 32).decode()
PING = {"name": "ping", "description": "Ping"}


class Source:
    """One node's event source: records what it sends; ``down`` makes its syncs fail."""

    name = "discord"
    application_id = "555"

    def __init__(self, sent: list[tuple[str, str]], node: str) -> None:
        self.sent, self.node, self.down = sent, node, False

    async def sync_commands(self, server_id, commands):
        await asyncio.sleep(0.05)  # a round trip to Discord: both nodes are at it at once
        if self.down:
            raise ConnectionError(f"node {self.node} cannot reach discord")
        self.sent.append((self.node, server_id))


@pytest.fixture(params=engines.ENGINES)
async def nodes(request, tmp_path, pg_fresh_url):
    async with (
        engines.open_coordinators(request, request.param) as coordinators,
        _nodes(tmp_path, pg_fresh_url, coordinators) as built,
    ):
        yield built


@contextlib.asynccontextmanager
async def _nodes(tmp_path, pg_fresh_url, coordinators):
    sent: list[tuple[str, str]] = []
    built = []
    for name, coordinator in zip("ab", coordinators, strict=True):
        shared = Shared()
        shared.attach(coordinator)
        storage = SqlModelStorage(StorageSettings(database_url=pg_fresh_url, secrets_key=KEY), tmp_path / name)
        await storage.start()
        source = Source(sent, name)
        sync = CommandSync(
            lambda s=storage: s.records,
            lambda s=source: s,
            store=lambda s=storage: s.command_syncs,
            shared=shared.scoped("command_sync"),
            retry_seconds=0.1,
            claim_seconds=1.0,
        )
        built.append((sync, storage, source, coordinator))
    try:
        yield built, sent
    finally:
        for sync, storage, _source, _coordinator in built:
            await sync.close()
            await storage.close()


async def test_an_install_change_heard_by_both_nodes_is_synced_by_one(nodes):
    built, sent = nodes
    records = built[0][1].records
    await records.add_version(
        VersionRecord("pingpong", "1.0.0", VersionStatus.PUBLISHED, {"slash_commands": [PING]}, "")
    )
    for sync, *_ in built:
        await sync.load()
    # after a failover both nodes have had server 7 available; each hears every install change
    await asyncio.gather(*(sync.server_available("7") for sync, *_ in built))
    await asyncio.gather(*(sync.settled() for sync, *_ in built))
    assert len(sent) == 1  # the empty set, sent once

    await records.put_install(InstallRecord("7", "pingpong", "1.0.0", frozenset()))
    change = [InstallChange("7", "pingpong", await records.get_install("7", "pingpong"))]
    await asyncio.gather(*(sync.installs_changed(change) for sync, *_ in built))
    assert len(sent) == 2 and sent[1][1] == "7"
    # past the claim (1 s) the node that lost it checks, finds the set recorded, sends nothing
    deadline = time.monotonic() + 10
    while any(sync.pending() for sync, *_ in built):
        assert time.monotonic() < deadline, "the node that lost the claim never checked it"
        await asyncio.sleep(0.05)
    assert len(sent) == 2


async def test_when_the_node_that_claimed_a_sync_fails_the_other_sends_it(nodes):
    built, sent = nodes
    records = built[0][1].records
    await records.add_version(
        VersionRecord("pingpong", "1.0.0", VersionStatus.PUBLISHED, {"slash_commands": [PING]}, "")
    )
    await records.put_install(InstallRecord("8", "pingpong", "1.0.0", frozenset()))
    (sync_a, _, source_a, _), (sync_b, *_) = built
    source_a.down = True  # a claims first and fails (and keeps failing)
    await sync_a.load()
    await sync_b.load()
    await sync_a.server_available("8")
    await sync_a.settled()
    await sync_b.server_available("8")  # a's claim holds: b waits to check
    await sync_b.settled()
    assert sent == [] and sync_b.pending() == {"8"}
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.05)
    assert sent == [("b", "8")]
    await sync_b.flush()
    assert await built[1][1].command_syncs.digest("555", "8") is not None
