"""Metric points per minute are one budget across a cluster, spent through ``LayerContext.shared``.

Two storage layers on one PostgreSQL database, each with its own coordinator
(once on Redis, once on PostgreSQL, under a prefix of this test's own), stand
for two nodes. A burst split across both admits exactly the budget, the rest
is refused with ``QUOTA_EXCEEDED``, and nothing past it is stored. Without a
cluster the same bound is counted in process (``test_quotas.py``).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.errors import QuotaExceeded
from maidcore.layers.shared import Shared
from tests.cluster import engines
from tests.extensions.maidcore_sqlmodel.conftest import outcomes, storage_settings

pytestmark = pytest.mark.postgres

BUDGET = 40
CALLS = 100


@pytest.fixture
async def nodes(request, tmp_path, coordinators):
    """Two clustered storage layers on one PostgreSQL database, their clocks fixed inside one minute."""
    settings = storage_settings(request, "postgres", metrics_points_per_minute=BUDGET, metrics_max_series=3)
    now = (int(time.time() // 60) * 60) + 30.0
    layers = []
    for coord in coordinators:
        shared = Shared()
        shared.attach(coord)
        layer = SqlModelStorage(settings, tmp_path / "data", shared=shared.scoped("storage_backend.sqlmodel"))
        layer.metrics.clock = lambda: now
        layers.append(layer)
    for layer in layers:
        await layer.start()
    yield layers
    for layer in layers:
        await layer.close()


async def budget_left(coord) -> dict[str, int]:
    return await engines.budgets(coord)


async def test_a_burst_split_across_two_nodes_admits_exactly_the_budget(nodes, coordinators, scope):
    calls = [nodes[i % 2].metrics.record(scope, "hits", 1.0, {"kind": "a"}) for i in range(CALLS)]
    assert await outcomes(calls) == (BUDGET, CALLS - BUDGET)
    for layer in nodes:  # nothing stored past the budget, as either node reads it
        assert await layer.metrics.total(scope, "hits", "1h") == BUDGET
        assert (await layer.metrics.query(scope, "hits", "1h", "count", group_by="kind"))["total"] == BUDGET
    # one key per (server, plugin, minute), expiring: the budget of this minute is spent, no more
    held = await budget_left(coordinators[0])
    assert list(held.values()) == [BUDGET]
    assert 0 < await engines.ttl(coordinators[0], "budget", next(iter(held))) <= 120
    # each node now refuses from memory for the rest of the minute, and another tenant is untouched
    with pytest.raises(QuotaExceeded) as refused:
        await nodes[1].metrics.record(scope, "hits", 1.0)
    assert 0 < refused.value.retry_after <= 60
    other = type(scope)(server_id=scope.server_id, plugin_id=scope.plugin_id + "-other")
    await nodes[0].metrics.record(other, "hits", 1.0)
    assert await nodes[1].metrics.total(other, "hits", "1h") == 1


async def test_a_point_refused_after_its_spend_is_given_back(nodes, coordinators, scope):
    """A point the database refuses (its series past the quota) does not use up the cluster's budget."""
    await nodes[1].metrics.record(scope, "m", 1.0)  # node 1 knows one series stored: the metric
    for tag in ("x", "y"):  # node 0 fills the other two: the quota of 3 is full
        await nodes[0].metrics.record(scope, "m", 1.0, {"t": tag})
    with pytest.raises(QuotaExceeded, match="series"):
        await nodes[1].metrics.record(scope, "m", 1.0, {"t": "z"})  # passes memory, refused by the database
    assert list((await budget_left(coordinators[0])).values()) == [3]  # the three points stored, not four
    assert await nodes[0].metrics.total(scope, "m", "1h") == 3


async def test_shared_spend_in_a_cluster_and_on_one_node(coordinators):
    shared = Shared()
    single = await shared.spend("b", 2, 3, 60), await shared.spend("b", 2, 3, 60), await shared.spend("b", 1, 3, 60)
    assert single == (2, None, 3)  # the refused spend counted nothing
    assert await shared.spend("b", -1, 3, 60) == 2
    shared.attach(coordinators[0])
    assert shared.clustered
    other = Shared()
    other.attach(coordinators[1])
    assert await shared.spend("b", 2, 3, 0.5) == 2
    assert await other.spend("b", 2, 3, 0.5) is None
    assert await other.spend("b", 1, 3, 0.5) == 3
    assert await other.spend("fresh", -1, 3, 0.5) == 0  # giving back to nothing creates nothing
    assert "fresh" not in await engines.budgets(coordinators[0])
    await asyncio.sleep(0.6)  # expired with its window
    assert await shared.spend("b", 3, 3, 0.5) == 3


async def test_a_single_node_counts_in_process_and_exactly(request, tmp_path, scope):
    """No cluster: no Redis, the node's own count; a burst arriving at once (its first call reads the stored
    series) still admits exactly the budget."""
    settings = storage_settings(request, "postgres", metrics_points_per_minute=BUDGET)
    layer = SqlModelStorage(settings, tmp_path / "solo")
    now = (int(time.time() // 60) * 60) + 30.0
    layer.metrics.clock = lambda: now
    await layer.start()
    try:
        assert not layer.shared.clustered
        calls = [layer.metrics.record(scope, "hits", 1.0) for _ in range(CALLS)]
        assert await outcomes(calls) == (BUDGET, CALLS - BUDGET)
        assert await layer.metrics.total(scope, "hits", "1h") == BUDGET
    finally:
        await layer.close()
