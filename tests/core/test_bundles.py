"""Version files reach every node through the database: stored by digest, fetched, verified, imported on upgrade."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace

import pytest

from maidcore import installs
from maidcore.bundles import Bundles, BundleUnavailable, tree_digest
from maidcore.platform import Platform
from maidcore.records import VersionRecord, VersionStatus
from maidcore.settings import load_settings
from tests.core.plugins import write_plugin


@pytest.fixture
async def nodes(tmp_path, pg_fresh_url):
    """Two nodes on one PostgreSQL database with data directories of their own (no shared disk)."""
    pair = [Platform(load_settings(data_dir=tmp_path / n, storage={"database_url": pg_fresh_url})) for n in "ab"]
    for node in pair:
        await node.open_storage()
    yield pair
    for node in pair:
        await node.close()


@pytest.mark.postgres
async def test_a_bundle_stored_by_one_node_is_fetched_and_verified_by_another(nodes, tmp_path):
    node_a, node_b = nodes
    source = write_plugin(tmp_path / "src", plugin_id="shared")
    (source / "data").mkdir()
    (source / "data" / "words.txt").write_text("alpha\nbeta\n")
    await installs.install(node_a, source, "777", installs.ALL)
    shutil.rmtree(source)  # nothing of it is left on any disk but node A's data directory

    record = await node_b.records.get_version("shared", "1.0.0")
    assert record.bundle_digest == tree_digest(node_a.data_dir / "bundles" / "shared" / "1.0.0")
    assert str(node_a.data_dir) in record.bundle_path  # where A put it: B never reads that path

    local = await node_b.bundles.bundle_dir(record)
    assert local == node_b.data_dir / "bundles" / "shared" / "1.0.0"
    assert (local / "data" / "words.txt").read_text() == "alpha\nbeta\n" and (local / "__main__.py").is_file()
    assert tree_digest(local) == record.bundle_digest and node_b.bundles.fetched == 1
    assert await node_b.bundles.bundle_dir(record) == local and node_b.bundles.fetched == 1  # cached

    # a copy that no longer matches its digest is never used: the next process fetches it again
    (local / "__main__.py").write_text("import os; os.system('echo tampered')\n")
    fresh = Bundles(node_b.data_dir, lambda: node_b.storage)
    assert await fresh.bundle_dir(record) == local and fresh.fetched == 1
    assert "tampered" not in (local / "__main__.py").read_text()
    assert not [p for p in local.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


@pytest.mark.postgres
async def test_a_missing_or_damaged_blob_says_what_to_do(nodes, tmp_path):
    node_a, node_b = nodes
    await installs.install(node_a, write_plugin(tmp_path / "src", plugin_id="lost"), "777")
    record = await node_b.records.get_version("lost", "1.0.0")

    def delete(conn):
        conn.execute("DELETE FROM blob_chunks WHERE digest = %s", (record.bundle_digest,))
        conn.execute("DELETE FROM blobs WHERE digest = %s", (record.bundle_digest,))

    await node_b.storage.db.run(delete)
    with pytest.raises(BundleUnavailable, match=r"bundle of lost 1.0.0 \(sha256 \w+\) is not in the database; install"):
        await node_b.bundles.bundle_dir(record)

    # a blob whose files are not what the record names (say, written by hand) is refused
    other = write_plugin(tmp_path / "other", plugin_id="lost", description="something else")
    await node_a.bundles.store(other)
    forged = replace(record, bundle_digest=tree_digest(other))

    def forge(conn):
        for table in ("blobs", "blob_chunks"):
            conn.execute(f"UPDATE {table} SET digest = %s WHERE digest = %s", (record.bundle_digest, other_digest))

    other_digest = forged.bundle_digest
    await node_b.storage.db.run(forge)
    with pytest.raises(BundleUnavailable, match=r"does not match its digest .* the stored blob is damaged"):
        await node_b.bundles.bundle_dir(record)
    assert not (node_b.data_dir / "bundles" / "lost" / "1.0.0").exists()


@pytest.mark.postgres
async def test_sites_travel_like_bundles(nodes, tmp_path):
    node_a, node_b = nodes
    await installs.install(node_a, write_plugin(tmp_path / "src", plugin_id="deps"), "777")
    site = node_a.data_dir / "sites" / "deps" / "1.0.0"
    (site / "somelib").mkdir(parents=True)
    (site / "somelib" / "__init__.py").write_text("VALUE = 42\n")
    (site / "somelib" / "__pycache__").mkdir()
    (site / "somelib" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0" * 10)  # never part of a digest
    record = await node_a.records.get_version("deps", "1.0.0")
    await node_a.records.update_version(
        replace(record, site_path=str(site), site_digest=await node_a.bundles.store(site))
    )

    record = await node_b.records.get_version("deps", "1.0.0")
    local = await node_b.bundles.site_dir(record)
    assert (local / "somelib" / "__init__.py").read_text() == "VALUE = 42\n"
    assert not (local / "somelib" / "__pycache__").exists()
    assert await node_b.bundles.site_dir(replace(record, site_path=None, site_digest=None)) is None


@pytest.mark.postgres
async def test_a_data_directory_from_before_digests_is_imported_when_its_node_starts(nodes, tmp_path):
    node_a, node_b = nodes
    await installs.install(node_a, write_plugin(tmp_path / "src", plugin_id="legacy"), "777")
    record = await node_a.records.get_version("legacy", "1.0.0")
    await node_a.records.update_version(replace(record, bundle_digest=None))  # as an older maidcore recorded it

    old = await node_b.records.get_version("legacy", "1.0.0")
    away = node_a.data_dir.rename(tmp_path / "a-away")  # as seen from B, whose disk does not hold A's files
    try:
        with pytest.raises(BundleUnavailable, match=r"not in the database yet and not on this node .* start the node"):
            await node_b.bundles.bundle_dir(old)
        assert await node_b.bundles.import_local(node_b.records) == 0  # B does not hold the files: nothing to import
    finally:
        away.rename(node_a.data_dir)

    assert await node_a.bundles.import_local(node_a.records) == 1
    assert await node_a.bundles.import_local(node_a.records) == 0  # once
    imported = await node_b.records.get_version("legacy", "1.0.0")
    assert imported.bundle_digest == record.bundle_digest
    assert (await node_b.bundles.bundle_dir(imported) / "__main__.py").is_file()


async def test_a_storage_layer_without_blobs_keeps_files_on_the_node_that_stored_them(tmp_path):
    class NoBlobs:
        name = "noblobs"

    bundles = Bundles(tmp_path / "data", lambda: NoBlobs())
    root = write_plugin(tmp_path / "data" / "bundles" / "p" / "1.0.0", plugin_id="p")
    record = VersionRecord(
        plugin_id="p",
        version="1.0.0",
        status=VersionStatus.PUBLISHED,
        manifest={},
        bundle_path=str(root),
        bundle_digest=await bundles.store(root),
    )
    assert await bundles.bundle_dir(record) == root
    elsewhere = Bundles(tmp_path / "other", lambda: NoBlobs())
    with pytest.raises(BundleUnavailable, match=r"storage layer 'noblobs' keeps no blobs"):
        await elsewhere.bundle_dir(replace(record, bundle_path=str(tmp_path / "gone")))


@pytest.mark.postgres
async def test_prune_removes_copies_no_record_names_and_keeps_the_rest(nodes, tmp_path):
    node_a, node_b = nodes
    await installs.install(node_a, write_plugin(tmp_path / "v1", plugin_id="kept"), "777")
    await installs.install(node_a, write_plugin(tmp_path / "v2", plugin_id="replaced"), "777")
    kept = await node_b.bundles.bundle_dir(await node_b.records.get_version("kept", "1.0.0"))
    replaced = await node_b.bundles.bundle_dir(await node_b.records.get_version("replaced", "1.0.0"))
    orphan = write_plugin(node_b.data_dir / "bundles" / "ghost" / "1.0.0", plugin_id="ghost")  # no record
    stale = node_b.data_dir / "bundles" / "kept" / ".1.0.0.fetch-dead"  # a fetch cut short long ago
    stale.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    running = node_b.data_dir / "bundles" / "kept" / ".1.0.0.fetch-live"  # a fetch going on now
    running.mkdir()

    # the version's bundle was stored again with other files: B's copy is of a digest nobody names now
    other = write_plugin(tmp_path / "v3", plugin_id="replaced", description="rebuilt")
    record = await node_a.records.get_version("replaced", "1.0.0")
    await node_a.records.update_version(replace(record, bundle_digest=await node_a.bundles.store(other)))

    assert await node_b.bundles.prune(node_b.records) == 2
    assert kept.is_dir() and running.is_dir()
    assert not replaced.exists() and not orphan.exists() and not stale.exists()
    assert await node_a.bundles.prune(node_a.records) == 0  # A's own copies (stored, never fetched) are all named
    fresh = await node_b.bundles.bundle_dir(await node_b.records.get_version("replaced", "1.0.0"))
    assert "rebuilt" in (fresh / "manifest.json").read_text()
