"""Singletons across a cluster: storage sweeps through ``LayerContext.shared`` run on one node per interval."""

from __future__ import annotations

import asyncio
import base64
import itertools
import time

from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.layers.shared import Shared
from maidcore.platform import Platform
from maidcore.settings import Settings

INTERVAL = 0.5
KEY = base64.b64encode(b"k" * 32).decode()


def node_storage(tmp_path, name: str, database_url: str, shared: Shared, swept: list[tuple[str, float]]):
    settings = StorageSettings(database_url=database_url, sweep_interval_seconds=INTERVAL, secrets_key=KEY)
    storage = SqlModelStorage(settings, tmp_path / name, shared=shared.scoped("storage_backend.sqlmodel"))
    real_sweep = storage.sweep

    async def sweep() -> None:
        swept.append((name, time.time()))
        await real_sweep()

    storage.sweep = sweep  # type: ignore[method-assign]
    return storage


async def test_two_nodes_sweep_on_one_node_per_interval(tmp_path, pg_fresh_url, coordinators):
    swept: list[tuple[str, float]] = []
    storages = []
    for name, coord in zip("ab", coordinators, strict=True):
        shared = Shared()
        shared.attach(coord)
        storages.append(node_storage(tmp_path, name, pg_fresh_url, shared, swept))
    started = time.time()
    try:
        for storage in storages:
            await storage.start()
        await asyncio.sleep(3.2)
    finally:
        for storage in storages:
            await storage.close()
    elapsed = time.time() - started
    windows = [int(at // INTERVAL) for _, at in swept]
    assert len(windows) == len(set(windows)), f"two sweeps in one interval: {swept}"
    # every interval swept by someone (the first and last may fall outside the run)
    assert len(swept) >= int(elapsed / INTERVAL) - 2, swept
    assert len(swept) <= int(elapsed / INTERVAL) + 2, swept
    assert sum(s.sweeps for s in storages) == len(swept)


async def test_a_single_node_sweeps_every_interval(tmp_path, pg_fresh_url):
    swept: list[tuple[str, float]] = []
    storage = node_storage(tmp_path, "solo", pg_fresh_url, Shared(), swept)
    await storage.start()
    try:
        deadline = time.monotonic() + 15  # a loaded machine may run the sweeps late, never early
        while len(swept) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await storage.close()
    assert len(swept) >= 3, swept  # at start, then again every interval
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(swept)]
    assert all(gap >= INTERVAL * 0.9 for gap in gaps), gaps  # one sweep per interval, not more often


async def test_each_layer_gets_its_own_keys_and_follows_the_cluster(tmp_path, coordinators):
    platform = Platform(Settings(data_dir=str(tmp_path)))
    storage_view = platform.layer_context("storage_backend", "sqlmodel", "storage").shared
    source_view = platform.layer_context("event_source", "discord", "discord").shared
    assert not storage_view.clustered
    assert await storage_view.once("x", 10) and await storage_view.once("x", 10)  # one node: always granted
    platform.shared.attach(coordinators[0])  # what joining a cluster does, before any layer starts
    assert storage_view.clustered and source_view.clustered
    assert await storage_view.once("x", 10)
    assert not await storage_view.once("x", 10)
    assert await source_view.once("x", 10)  # another layer's key of the same name
    await source_view.put("ticket", {"a": 1}, 10)
    assert await source_view.get("ticket") == {"a": 1}
    assert await storage_view.get("ticket") is None
    other = Shared()
    other.attach(coordinators[1])  # another node reads what this one wrote
    assert await other.scoped("event_source.discord").get("ticket") == {"a": 1}
    now = time.time()
    await source_view.due_add("q", "m1", now - 1)
    await source_view.due_add("q", "m2", now + 60)
    assert await other.scoped("event_source.discord").due_take("q") == ["m1"]
    assert await source_view.due_take("q") == []  # each due member goes to one node
