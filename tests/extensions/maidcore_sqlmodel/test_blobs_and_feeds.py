"""Blobs by digest and install feeds: what lets nodes share nothing but the database."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from maidcore_sqlmodel import blobs as blobs_module
from maidcore_sqlmodel.feeds import PostgresInstallFeed, SqliteInstallFeed
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.records import InstallRecord
from tests.extensions.maidcore_sqlmodel.conftest import admin_connect, storage_settings


def server_id() -> str:
    return str(uuid.uuid4().int)[:18]


def install(server: str, plugin: str = "feedplug", **fields) -> InstallRecord:
    return InstallRecord(server_id=server, plugin_id=plugin, version="1.0.0", granted=frozenset(), **fields)


async def test_a_blob_is_stored_in_chunks_and_read_back_whole(storage, tmp_path, monkeypatch):
    monkeypatch.setattr(blobs_module, "CHUNK_BYTES", 1000)
    data = os.urandom(4500)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    digest = uuid.uuid4().hex * 2
    assert not await storage.blobs.has(digest)
    assert await storage.blobs.fetch(digest, tmp_path / "missing.bin") is False
    assert not (tmp_path / "missing.bin").exists()

    await asyncio.gather(storage.blobs.put(digest, source), storage.blobs.put(digest, source))  # both succeed
    assert await storage.blobs.has(digest)
    assert await storage.blobs.fetch(digest, tmp_path / "out.bin") is True
    assert (tmp_path / "out.bin").read_bytes() == data

    source.write_bytes(b"other content")  # a digest already stored keeps its first copy
    await storage.blobs.put(digest, source)
    await storage.blobs.fetch(digest, tmp_path / "again.bin")
    assert (tmp_path / "again.bin").read_bytes() == data


async def test_a_damaged_blob_is_reported_not_returned_short(storage, tmp_path):
    source = tmp_path / "in.bin"
    source.write_bytes(b"x" * 100)
    digest = uuid.uuid4().hex * 2
    await storage.blobs.put(digest, source)

    def cut(conn):
        with storage.db.write(conn):
            conn.execute(storage.db.sql("DELETE FROM blob_chunks WHERE digest = ?"), (digest,))

    await storage.db.run(cut)
    with pytest.raises(OSError, match=rf"blob {digest} is missing chunk 0 of 1"):
        await storage.blobs.fetch(digest, tmp_path / "out.bin")


@pytest.mark.postgres
async def test_postgres_pushes_another_nodes_install_changes_and_resyncs_after_reconnect(request, tmp_path):
    settings = storage_settings(request, "postgres")
    node_a, node_b = SqlModelStorage(settings, tmp_path / "a"), SqlModelStorage(settings, tmp_path / "b")
    await node_a.start()
    await node_b.start()
    feed = node_b.install_feed(0)
    assert isinstance(feed, PostgresInstallFeed)
    feed.reconnect_seconds = 1.0
    try:
        await feed.start(node_b.records, {})
        assert feed.connected and await feed.changes(wait=False) is None  # the first connection: resync once
        assert await feed.changes(wait=False) == set()

        server = server_id()
        await node_a.records.put_install(install(server))
        keys = await asyncio.wait_for(feed.changes(), 5)  # pushed: no polling interval to wait out
        assert keys == {(server, "feedplug")}
        await node_a.records.put_install(install(server, enabled=False))
        await node_a.records.delete_install(server, "feedplug")
        assert await feed.changes(wait=False) == {(server, "feedplug")}  # barrier: both already arrived

        # the node loses its connection; a change made meanwhile is never notified to it
        _admin, url = request.getfixturevalue("pg_database")
        with admin_connect(url) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (feed.backend_pid,))
        await node_a.records.put_install(install(server_id()))
        assert await asyncio.wait_for(feed.changes(), 10) is None  # reconnected: re-read everything once
        assert feed.connections == 2 and feed.connected
    finally:
        await feed.close()
        await node_a.close()
        await node_b.close()


async def test_sqlite_feed_sees_this_process_at_once_and_other_processes_from_the_log(tmp_path):
    settings = storage_settings(None, "sqlite")
    serving, cli = SqlModelStorage(settings, tmp_path / "data"), SqlModelStorage(settings, tmp_path / "data")
    await serving.start()
    await cli.start()
    feed = serving.install_feed(3600)  # the log is only read on demand in this test
    assert isinstance(feed, SqliteInstallFeed)
    try:
        await cli.records.put_install(install("111"))  # before start: not reported
        await feed.start(serving.records, {})
        await serving.records.put_install(install("222"))
        assert await asyncio.wait_for(feed.changes(), 1) == {("222", "feedplug")}  # same process: no wait
        await cli.records.put_install(install("333"))  # another process (the CLI) on the same file
        await cli.records.delete_install("111", "feedplug")
        assert await feed.changes(wait=False) == {("333", "feedplug"), ("111", "feedplug")}
        assert await feed.changes(wait=False) == set()

        # a log pruned past what the feed read: it asks for one full re-read
        await cli.records.put_install(install("444"))
        await cli.records.put_install(install("555"))
        await serving.db.run(lambda conn: conn.execute("DELETE FROM install_changes WHERE server_id = '444'"))
        assert await feed.changes(wait=False) is None
        assert await feed.changes(wait=False) == set()
    finally:
        await feed.close()
        await cli.close()
        await serving.close()
