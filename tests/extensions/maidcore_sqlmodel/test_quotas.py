"""Per-(server, plugin) quotas of ephemeral keys, metric series and points, and secrets (docs/bounds.md).

Each quota is reached by one tenant while a neighbour (another server, and
another plugin on the same server) keeps every call working and its data whole.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from maidcore_sqlmodel.ephemeral import MemoryEphemeral

from maidcore.errors import QuotaExceeded
from maidcore.scope import Scope
from tests.extensions.maidcore_sqlmodel.conftest import EPHEMERAL_ENGINES, ephemeral_pair


def neighbours(scope: Scope) -> list[Scope]:
    """Another server with the same plugin, and another plugin on the same server."""
    return [Scope(str(uuid.uuid4().int)[:18], scope.plugin_id), Scope(scope.server_id, scope.plugin_id + "-n")]


@pytest.fixture(params=EPHEMERAL_ENGINES)
async def ephemeral(request):
    async with ephemeral_pair(request, request.param, max_keys=5) as nodes:
        yield nodes[0]


async def test_ephemeral_keys_are_bounded_per_tenant_and_neighbours_keep_theirs(ephemeral, scope):
    await ephemeral.flag_set(scope, "f0", 1)
    await ephemeral.cooldown_set(scope, "c0", 60)
    assert await ephemeral.dedup(scope, "d0", 60) is True
    assert await ephemeral.counter(scope, "n0", 60) == 1
    await ephemeral.flag_set(scope, "f1", 60)
    with pytest.raises(QuotaExceeded) as refused:
        await ephemeral.flag_set(scope, "f2", 60)
    assert refused.value.to_rpc()["data"] == {"code": "QUOTA_EXCEEDED", "quota": "ephemeral keys", "limit": 5}
    assert "quota exceeded" in refused.value.message  # what 0.5.x SDKs match
    for attempt in (ephemeral.counter(scope, "n1", 60), ephemeral.dedup(scope, "d1", 60)):
        with pytest.raises(QuotaExceeded):
            await attempt
    # keys it has stay usable: refreshing, counting, checking
    await ephemeral.cooldown_set(scope, "c0", 30)
    assert await ephemeral.counter(scope, "n0", 60) == 2
    assert await ephemeral.dedup(scope, "d0", 60) is False
    for other in neighbours(scope):
        for i in range(5):
            await ephemeral.flag_set(other, f"f{i}", 60)
        assert all([await ephemeral.flag_check(other, f"f{i}") for i in range(5)])
    await asyncio.sleep(1.1)  # f0 expired: room for one more
    await ephemeral.flag_set(scope, "f2", 60)
    assert await ephemeral.flag_check(scope, "f2")


async def test_a_tenants_ephemeral_calls_never_touch_a_neighbours_keys(scope):
    store = MemoryEphemeral(max_keys=100_000)
    crowd = Scope(scope.server_id, "crowded")
    for i in range(20_000):
        await store.dedup(crowd, f"k{i}", 3600)
        await store.counter(crowd, f"w{i}", 3600)
    await store.flag_set(scope, "mine", 60)
    assert await store.counter(scope, "mine", 60) == 1
    mine = store._scopes[(scope.server_id, scope.plugin_id)]
    assert mine.keys() == 2 and len(mine.heap) == 1  # what a call of ours sweeps or counts is ours only


async def test_metric_series_and_points_per_minute_are_bounded(storage, scope):
    metrics = storage.metrics
    metrics.max_series, metrics.points_per_minute = 4, 12
    mid_minute = time.time() // 60 * 60 + 30
    metrics.clock = lambda: mid_minute  # the whole test within one minute
    await metrics.record(scope, "games", 1, {"mode": "a"})  # series: games, games/mode=a
    await metrics.record(scope, "games", 1, {"mode": "b"})  # + games/mode=b
    await metrics.record(scope, "wins", 1)  # + wins: 4
    with pytest.raises(QuotaExceeded) as refused:
        await metrics.record(scope, "games", 1, {"mode": "c"})
    assert refused.value.data["quota"] == "metric series"
    await metrics.record(scope, "games", 2, {"mode": "a"})  # known series keep recording
    await metrics.record(scope, "maidcore.events_dropped", 1)  # the runner's own counters are not bounded
    for _ in range(7):
        await metrics.record(scope, "wins", 1)
    await metrics.record(scope, "wins", 1)  # the 12th point of this minute (the refused one did not count)
    with pytest.raises(QuotaExceeded) as refused:
        await metrics.record(scope, "wins", 1)
    assert refused.value.data["quota"] == "metric points per minute"
    assert refused.value.retry_after == 30
    assert await metrics.total(scope, "wins", "1h") == 9.0
    assert await metrics.total(scope, "games", "1h") == 4.0
    for other in neighbours(scope):
        for i in range(4):
            await metrics.record(other, f"m{i}", 1)
        assert [await metrics.total(other, f"m{i}", "1h") for i in range(4)] == [1.0] * 4


async def test_the_series_quota_counts_what_is_stored_after_a_restart(storage, scope, tmp_path, request, backend):
    from maidcore_sqlmodel.metrics import SqlMetricStore

    await storage.metrics.record(scope, "a", 1)
    await storage.metrics.record(scope, "b", 1)
    fresh = SqlMetricStore(storage.db, max_series=2)  # a new process: nothing cached
    await fresh.record(scope, "a", 1)
    with pytest.raises(QuotaExceeded):
        await fresh.record(scope, "c", 1)


async def test_secrets_count_and_bytes_are_bounded(storage, scope):
    secrets = storage.secrets
    secrets.max_count, secrets.max_bytes = 3, 100
    await secrets.set(scope, "a", "x" * 40)
    await secrets.set(scope, "b", "é" * 20)  # 40 bytes of UTF-8
    with pytest.raises(QuotaExceeded) as refused:
        await secrets.set(scope, "c", "x" * 21)  # 101 bytes together
    assert refused.value.data["quota"] == "secret bytes"
    await secrets.set(scope, "c", "x" * 20)
    with pytest.raises(QuotaExceeded) as refused:
        await secrets.set(scope, "d", "x")
    assert refused.value.data["quota"] == "secrets"
    await secrets.set(scope, "a", "y" * 40)  # replacing one is not a new one
    assert await secrets.get(scope, "a") == "y" * 40
    assert await secrets.get(scope, "d") is None
    await secrets.delete(scope, "c")
    await secrets.set(scope, "d", "z")
    for other in neighbours(scope):
        for key in "abc":
            await secrets.set(other, key, key * 30)
        assert [await secrets.get(other, key) for key in "abc"] == [k * 30 for k in "abc"]
