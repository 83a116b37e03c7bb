"""Quotas are exact under concurrency: many calls at once from two nodes admit exactly the quota.

Two storage instances on one database (one SQLite file, or one PostgreSQL
database) stand for two nodes; two ``RedisEphemeral`` on one Redis, or two
``PostgresEphemeral`` on one database, likewise.
Metrics on SQLite run on one instance: SQLite is a one-node setup, and its
series are counted in that process's memory.
Each test fires 50 new secrets / metric series (100 new ephemeral keys) at once,
half through each node, with the quota at 10, and counts what was admitted, what
was refused with ``QUOTA_EXCEEDED``, and what is really stored.
"""

from __future__ import annotations

import asyncio

import pytest
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.errors import QuotaExceeded
from tests.extensions.maidcore_sqlmodel.conftest import EPHEMERAL_ENGINES, ephemeral_pair, outcomes, storage_settings

QUOTA = 10
CALLS = 50


@pytest.fixture
async def two_nodes(request, backend, tmp_path):
    """Two storage layers on the same database, the quotas at ``QUOTA``."""
    limits = {"secrets_max_count": QUOTA, "metrics_max_series": QUOTA, "metrics_points_per_minute": 10 * CALLS}
    if backend == "sqlite":
        settings = storage_settings(request, backend, **limits).model_copy(
            update={"database_url": f"sqlite:///{tmp_path / 'shared.db'}"}
        )
    else:
        settings = storage_settings(request, backend, **limits)
    nodes = [SqlModelStorage(settings, tmp_path / "data") for _ in range(2)]  # one data dir: one secrets key
    for node in nodes:
        await node.start()
    yield nodes
    for node in nodes:
        await node.close()


async def test_concurrent_new_secrets_admit_exactly_the_quota(two_nodes, scope):
    calls = [two_nodes[i % 2].secrets.set(scope, f"k{i}", f"v{i}") for i in range(CALLS)]
    assert await outcomes(calls) == (QUOTA, CALLS - QUOTA)
    stored = [key for i in range(CALLS) if await two_nodes[0].secrets.get(scope, key := f"k{i}") is not None]
    assert len(stored) == QUOTA
    # replacing a stored one is still fine at the quota, from either node
    await two_nodes[1].secrets.set(scope, stored[0], "again")
    assert await two_nodes[0].secrets.get(scope, stored[0]) == "again"


def metric_nodes(two_nodes, backend):
    """SQLite is one node (one process writes the file): there, both "nodes" are one storage layer."""
    return two_nodes if backend == "postgres" else two_nodes[:1] * 2


async def test_concurrent_new_metric_series_admit_exactly_the_quota(two_nodes, backend, scope):
    two_nodes = metric_nodes(two_nodes, backend)
    calls = [two_nodes[i % 2].metrics.record(scope, f"m{i}", 1) for i in range(CALLS)]
    assert await outcomes(calls) == (QUOTA, CALLS - QUOTA)
    names = await two_nodes[0].metrics.names(scope.plugin_id, scope.server_id)
    assert len(names) == QUOTA
    # the admitted series keep recording on both nodes; a new one is still refused on both
    for node in two_nodes:
        await node.metrics.record(scope, names[0], 1)
        with pytest.raises(QuotaExceeded):
            await node.metrics.record(scope, "one_more", 1)
    assert await two_nodes[1].metrics.total(scope, names[0], "1h") == 3.0


async def test_concurrent_new_tagged_series_count_every_tag_value(two_nodes, backend, scope):
    """A point with tags adds the whole-metric series and one per tag: partly new points are checked too."""
    two_nodes = metric_nodes(two_nodes, backend)
    calls = [two_nodes[i % 2].metrics.record(scope, "games", 1, {"mode": f"m{i}"}) for i in range(CALLS)]
    admitted, refused = await outcomes(calls)
    assert (admitted, refused) == (QUOTA - 1, CALLS - QUOTA + 1)  # "games" itself is one series
    assert await two_nodes[0].metrics.total(scope, "games", "1h") == QUOTA - 1


@pytest.fixture(params=EPHEMERAL_ENGINES)
async def ephemeral_nodes(request):
    """Two nodes' ephemeral stores: one shared Redis or PostgreSQL, or (memory) one process's store used twice."""
    async with ephemeral_pair(request, request.param, max_keys=QUOTA) as nodes:
        yield nodes


async def test_concurrent_new_ephemeral_keys_admit_exactly_the_quota(ephemeral_nodes, scope):
    kinds = [
        lambda node, i: node.flag_set(scope, f"k{i}", 60),
        lambda node, i: node.cooldown_set(scope, f"k{i}", 60),
        lambda node, i: node.dedup(scope, f"k{i}", 60),
        lambda node, i: node.counter(scope, f"k{i}", 60),
    ]
    calls = [kinds[i % 4](ephemeral_nodes[i % 2], i) for i in range(2 * CALLS)]  # 100 new keys at once
    results = await asyncio.gather(*calls, return_exceptions=True)
    admitted = [i for i, r in enumerate(results) if not isinstance(r, BaseException)]
    assert len(admitted) == QUOTA
    assert all(isinstance(r, QuotaExceeded) for r in results if isinstance(r, BaseException))
    node = ephemeral_nodes[1]
    for i in admitted:  # each admitted key is really there
        if i % 4 == 0:
            assert await node.flag_check(scope, f"k{i}")
        elif i % 4 == 1:
            assert (await node.cooldown_check(scope, f"k{i}"))[0]
        elif i % 4 == 2:
            assert await node.dedup(scope, f"k{i}", 60) is False
        else:
            assert await node.counter(scope, f"k{i}", 60) == 2
    for node in ephemeral_nodes:  # and the quota is full on both nodes
        with pytest.raises(QuotaExceeded):
            await node.flag_set(scope, "one-more", 60)
