"""Blobs no version names are deleted after the grace period; named, recent and re-published ones never are."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.bundles import Bundles
from maidcore.records import VersionRecord, VersionStatus
from tests.extensions.maidcore_sqlmodel.conftest import admin_connect

GRACE = 3600.0


@pytest.fixture
async def storage(request, backend, tmp_path):
    """A database of its own: a sweep deletes what no version names, in the whole database."""
    if backend == "postgres":
        server = request.getfixturevalue("postgres_server")
        url = server.create_database()
    else:
        url = f"sqlite:///{tmp_path / 'gc.sqlite'}"
    store = SqlModelStorage(StorageSettings(database_url=url, blob_grace_seconds=GRACE), tmp_path / "data")
    await store.start()
    yield store
    await store.close()
    if backend == "postgres":
        server.drop_database(url)


async def put(storage, tmp_path, content: bytes) -> str:
    digest = uuid.uuid4().hex * 2
    source = tmp_path / f"{digest[:8]}.bin"
    source.write_bytes(content)
    await storage.blobs.put(digest, source)
    return digest


async def name_it(storage, digest: str, version: str = "1.0.0", plugin: str = "gcplug") -> None:
    record = VersionRecord(plugin, version, VersionStatus.PUBLISHED, {}, "/nowhere", bundle_digest=digest)
    await storage.records.add_version(record)


async def chunks(storage, digest: str) -> int:
    def count(conn):
        sql = storage.db.sql("SELECT count(*) FROM blob_chunks WHERE digest = ?")
        return conn.execute(sql, (digest,)).fetchone()[0]

    return await storage.db.run(count)


async def test_an_unnamed_blob_goes_after_the_grace_period_named_and_recent_ones_stay(storage, tmp_path):
    old = await put(storage, tmp_path, b"o" * 100)
    named = await put(storage, tmp_path, b"n" * 100)
    site = await put(storage, tmp_path, b"s" * 100)
    await name_it(storage, named)
    await storage.records.add_version(
        VersionRecord("gcplug", "2.0.0", VersionStatus.PUBLISHED, {}, "/x", bundle_digest=named, site_digest=site)
    )
    now = time.time()
    assert await storage.blobs.sweep(GRACE, now) == []  # first seen unnamed now: marked, not deleted
    recent = await put(storage, tmp_path, b"r" * 100)  # stored after that sweep
    assert await storage.blobs.sweep(GRACE, now + GRACE - 1) == []  # not yet past the grace
    assert await storage.blobs.sweep(GRACE, now + GRACE + 1) == [old]
    assert not await storage.blobs.has(old) and await chunks(storage, old) == 0
    assert await storage.blobs.has(named) and await storage.blobs.has(site) and await storage.blobs.has(recent)
    assert await storage.blobs.fetch(named, tmp_path / "named.out")  # still whole

    assert await storage.blobs.sweep(GRACE, now + 2 * GRACE + 2) == [recent]  # its own grace ran from its mark


async def test_a_blob_named_again_or_touched_before_the_delete_is_kept(storage, tmp_path):
    renamed = await put(storage, tmp_path, b"a" * 100)
    touched = await put(storage, tmp_path, b"b" * 100)
    now = time.time()
    await storage.blobs.sweep(GRACE, now)  # both marked
    await name_it(storage, renamed)
    assert await storage.blobs.touch(touched) is True  # a publish reusing it: counts as stored just now
    assert await storage.blobs.touch(uuid.uuid4().hex * 2) is False
    assert await storage.blobs.sweep(GRACE, now + GRACE + 1) == []
    assert await storage.blobs.sweep(GRACE, now + 2 * GRACE + 2) == [touched]  # still unnamed a grace later


async def test_the_storage_sweep_collects_with_the_configured_grace(storage, tmp_path):
    digest = await put(storage, tmp_path, b"z" * 100)

    def backdate(conn):
        with storage.db.write(conn):
            conn.execute(storage.db.sql("UPDATE blobs SET unreferenced_since = ?"), (time.time() - GRACE - 5,))

    await storage.sweep()  # marks it
    await storage.db.run(backdate)
    await storage.sweep()
    assert not await storage.blobs.has(digest)


async def test_a_blob_published_again_during_sweeps_is_never_lost(storage, tmp_path):
    """Many rounds of a sweep racing a publish that reuses an old unnamed blob: the version always finds it."""
    bundles = Bundles(tmp_path / "node", lambda: storage)
    for round_ in range(12):
        root = tmp_path / f"bundle{round_}"
        root.mkdir()
        (root / "__main__.py").write_text(f"print({round_})\n")
        digest = await bundles.store(root)  # an earlier upload nobody named
        await storage.blobs.sweep(GRACE, time.time() - 2 * GRACE)  # marked long ago: due for deletion

        async def publish(root=root, round_=round_):
            await asyncio.sleep(0.001 * (round_ % 4))
            got = await Bundles(tmp_path / "other", lambda: storage).store(root)
            await name_it(storage, got, version=f"{round_}.0.0")

        deleted, _ = await asyncio.gather(storage.blobs.sweep(GRACE), publish())
        assert await storage.blobs.has(digest), f"round {round_}: the published blob was lost ({deleted})"
        assert await storage.blobs.fetch(digest, tmp_path / f"out{round_}.tar.gz")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_publish_waiting_on_a_sweeps_delete_stores_the_blob_again(storage, tmp_path, backend):
    """The exact interleaving on PostgreSQL: the sweep deleted the row but has not committed when a publish arrives."""
    digest = await put(storage, tmp_path, b"q" * 100)
    await storage.blobs.sweep(GRACE, time.time() - 2 * GRACE)  # marked long ago
    source = tmp_path / "again.bin"
    source.write_bytes(b"q" * 100)
    url = storage.db.url.url if hasattr(storage.db.url, "url") else str(storage.settings.database_url)
    with admin_connect(url) as sweeper:
        sweeper.execute("BEGIN")
        gone = sweeper.execute(
            "DELETE FROM blobs WHERE digest = %s AND unreferenced_since < %s RETURNING digest", (digest, time.time())
        ).fetchall()
        assert gone == [(digest,)]
        publishing = asyncio.ensure_future(storage.blobs.put(digest, source))  # waits for the sweep's row lock
        await asyncio.sleep(0.3)
        assert not publishing.done()
        sweeper.execute("DELETE FROM blob_chunks WHERE digest = %s", (digest,))
        sweeper.execute("COMMIT")
    await asyncio.wait_for(publishing, 10)
    await name_it(storage, digest)
    assert await storage.blobs.fetch(digest, tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"q" * 100
