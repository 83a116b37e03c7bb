"""ctx.ephemeral (§4.6) in process memory, in Redis and in PostgreSQL: the same behaviour, isolation and expiry."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from maidcore_sqlmodel.ephemeral import MemoryEphemeral, RedisEphemeral, make_ephemeral
from maidcore_sqlmodel.pg_ephemeral import PostgresEphemeral

from maidcore.errors import InvalidArgument, QuotaExceeded
from maidcore.scope import Scope
from tests.extensions.maidcore_sqlmodel.conftest import EPHEMERAL_ENGINES, SHARED_EPHEMERAL, ephemeral_pair, pg_query


@pytest.fixture(params=EPHEMERAL_ENGINES)
async def ephemeral(request):
    async with ephemeral_pair(request, request.param) as nodes:
        yield nodes[0]


SCOPE = Scope("100", "plugin-a")


async def test_sliding_window_counter(ephemeral):
    assert [await ephemeral.counter(SCOPE, "msgs", 1) for _ in range(3)] == [1, 2, 3]
    assert await ephemeral.counter(SCOPE, "other", 60) == 1
    await asyncio.sleep(0.6)
    assert await ephemeral.counter(SCOPE, "msgs", 1) == 4
    await asyncio.sleep(0.55)  # the first three hits left the 1 s window, the fourth did not
    assert await ephemeral.counter(SCOPE, "msgs", 1) == 2


async def test_concurrent_counter_hits_are_all_counted(ephemeral):
    counts = await asyncio.gather(*(ephemeral.counter(SCOPE, "burst", 60) for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))


async def test_cooldown(ephemeral):
    assert await ephemeral.cooldown_check(SCOPE, "cd") == (False, 0.0)
    await ephemeral.cooldown_set(SCOPE, "cd", 30)
    active, remaining = await ephemeral.cooldown_check(SCOPE, "cd")
    assert active and 29 < remaining <= 30


async def test_dedup_and_flags(ephemeral):
    assert await ephemeral.dedup(SCOPE, "event-1", 60) is True
    assert await ephemeral.dedup(SCOPE, "event-1", 60) is False
    assert await ephemeral.dedup(SCOPE, "event-2", 60) is True
    assert await ephemeral.flag_check(SCOPE, "maintenance") is False
    await ephemeral.flag_set(SCOPE, "maintenance", 60)
    assert await ephemeral.flag_check(SCOPE, "maintenance") is True


async def test_everything_expires(ephemeral):
    await ephemeral.cooldown_set(SCOPE, "x", 1)
    await ephemeral.flag_set(SCOPE, "x", 1)
    assert await ephemeral.dedup(SCOPE, "x", 1)
    await asyncio.sleep(1.1)
    assert await ephemeral.cooldown_check(SCOPE, "x") == (False, 0.0)
    assert await ephemeral.flag_check(SCOPE, "x") is False
    assert await ephemeral.dedup(SCOPE, "x", 1) is True


async def test_each_primitive_and_scope_has_its_own_key_space(ephemeral):
    await ephemeral.flag_set(SCOPE, "k", 60)
    assert await ephemeral.cooldown_check(SCOPE, "k") == (False, 0.0)
    assert await ephemeral.dedup(SCOPE, "k", 60) is True
    for other in (Scope("101", "plugin-a"), Scope("100", "plugin-b"), Scope("10", "0:plugin-a")):
        assert await ephemeral.flag_check(other, "k") is False
        assert await ephemeral.dedup(other, "k", 60) is True
        assert await ephemeral.counter(other, "k", 60) == 1


async def test_ttls_are_clamped_and_keys_checked(ephemeral):
    await ephemeral.flag_set(SCOPE, "big", 10**9)  # clamped to 86400
    assert await ephemeral.flag_check(SCOPE, "big")
    await ephemeral.cooldown_set(SCOPE, "zero", 0)  # clamped up to 1 s
    assert (await ephemeral.cooldown_check(SCOPE, "zero"))[0] is True
    for bad in ("", "x" * 257, None):
        with pytest.raises(InvalidArgument, match="key"):
            await ephemeral.flag_set(SCOPE, bad, 10)
    with pytest.raises(InvalidArgument, match="ttl_seconds"):
        await ephemeral.flag_set(SCOPE, "k", "10")


@pytest.mark.parametrize("engine", SHARED_EPHEMERAL)
async def test_two_nodes_share_state(request, engine):
    async with ephemeral_pair(request, engine) as (a, b):
        assert await a.counter(SCOPE, "c", 60) == 1
        assert await b.counter(SCOPE, "c", 60) == 2
        assert await a.dedup(SCOPE, "d", 60) is True
        assert await b.dedup(SCOPE, "d", 60) is False
        await a.cooldown_set(SCOPE, "cd", 60)
        assert (await b.cooldown_check(SCOPE, "cd"))[0] is True
        await b.flag_set(SCOPE, "f", 60)
        assert await a.flag_check(SCOPE, "f") is True


@pytest.mark.parametrize("engine", SHARED_EPHEMERAL)
async def test_two_nodes_racing_take_a_dedup_key_once_and_count_every_hit(request, engine):
    """Many calls at once, half through each node: one dedup wins, and the counts are 1..n exactly."""
    async with ephemeral_pair(request, engine) as nodes:
        taken = await asyncio.gather(*(nodes[i % 2].dedup(SCOPE, "race", 60) for i in range(100)))
        assert taken.count(True) == 1
        counts = await asyncio.gather(*(nodes[i % 2].counter(SCOPE, "race", 60) for i in range(200)))
        assert sorted(counts) == list(range(1, 201))


@pytest.fixture(params=EPHEMERAL_ENGINES)
async def two_nodes(request):
    """Two nodes' stores with 10 slots per counter: one shared engine, or (memory) one store used twice."""
    async with ephemeral_pair(request, request.param, counter_slots=10) as nodes:
        yield nodes


async def entries(store, key: str) -> int:
    """How many entries the counter keeps (the memory it costs)."""
    if isinstance(store, MemoryEphemeral):
        return len(store._scopes[(SCOPE.server_id, SCOPE.plugin_id)].windows[key])
    if isinstance(store, PostgresEphemeral):
        rows = await pg_query(
            store,
            "SELECT coalesce(array_length(starts, 1), 0) FROM eph_keys"
            " WHERE prefix = %s AND plugin = %s AND server = %s AND kind = 'counter' AND key = %s",
            (store.prefix, SCOPE.plugin_id, SCOPE.server_id, key),
        )
        return rows[0][0] if rows else 0
    return await store._redis.zcard(store._name("counter", SCOPE, key))


async def tenant_entries(store) -> int:
    """The entries of all the tenant's counters, as the shared store counts them for the budget."""
    if isinstance(store, PostgresEphemeral):
        rows = await pg_query(
            store,
            "SELECT entries FROM eph_tenants WHERE prefix = %s AND plugin = %s AND server = %s",
            (store.prefix, SCOPE.plugin_id, SCOPE.server_id),
        )
        return rows[0][0] if rows else 0
    return int(await store._redis.hget(store._tenant_keys(SCOPE)[1], "") or 0)


async def test_a_hammered_counter_counts_every_hit_in_bounded_entries(two_nodes):
    """Thousands of hits from two nodes at once: each answer is an exact count, the entries stay within the slots."""
    counts = []
    for _ in range(10):
        counts += await asyncio.gather(*(two_nodes[i % 2].counter(SCOPE, "busy", 10) for i in range(200)))
        assert 1 <= await entries(two_nodes[0], "busy") <= 10
        await asyncio.sleep(0.25)  # the bursts span a few of the 1 s slots of the 10 s window
    assert sorted(counts) == list(range(1, 2001))
    assert await entries(two_nodes[0], "busy") >= 2
    assert await two_nodes[1].counter(SCOPE, "busy", 10) == 2001


def clocked(store):
    """``(now, hit)``: counter hits at the time in ``now[0]`` (Redis, PostgreSQL: passed instead of their clock)."""
    now = [1000.0]
    if isinstance(store, MemoryEphemeral):
        store._clock = lambda: now[0]

        async def hit(key: str, window: int) -> int:
            return await store.counter(SCOPE, key, window)
    else:

        async def hit(key: str, window: int) -> int:
            return await store.counter(SCOPE, key, window, _now=now[0])

    return now, hit


async def test_a_tenants_counters_share_a_budget_of_entries(two_nodes):
    """Past ``counter_entries`` hits join their counter's newest entry (counts stay exact); expired counters free
    their entries."""
    store = two_nodes[0]
    store.counter_entries = 30
    now, hit = clocked(store)
    for step in range(10):  # 6 counters, hits a slot apart: each would keep 10 entries
        now[0] = 1000 + step * 0.1001
        assert [await hit(f"c{c}", 1) for c in range(6)] == [step + 1] * 6
    assert sum([await entries(store, f"c{c}") for c in range(6)]) == 30
    if isinstance(store, MemoryEphemeral):
        now[0] += 2
    else:
        await asyncio.sleep(1.2)  # the shared store drops the counters by its server's clock
        await store.flag_set(SCOPE, "sweep", 60)
        assert await tenant_entries(store) == 0
    start = now[0]
    for step in range(10):
        now[0] = start + step * 0.1001
        assert await hit("fresh", 1) == step + 1
    assert await entries(store, "fresh") == 10


async def test_a_bounded_counter_is_within_one_slot_of_an_exact_sliding_window(two_nodes):
    """Against an exact sliding window (the official testing kit's): never more, never fewer than the hits of the
    window shortened by one slot (window / slots); hits at one instant or a slot apart are exact."""
    import random

    store = two_nodes[0]
    now, hit = clocked(store)
    window, slot = 60, 6.0
    rng = random.Random(7)
    hits: list[float] = []
    for _ in range(400):
        now[0] += rng.choice([0.0, 0.001, 0.5, 2.0, 7.0, 30.0])
        got = await hit("k", window)
        hits.append(now[0])
        exact = sum(1 for t in hits if t > now[0] - window)
        assert sum(1 for t in hits if t > now[0] - window + slot) <= got <= exact
        assert await entries(store, "k") <= 10
    start = now[0] + window
    for step in range(25):
        now[0] = start + step * slot
        got = [await hit("spaced", window) for _ in range(3)][-1]
        assert got == 3 * min(step + 1, 10)


def test_the_url_scheme_picks_the_engine_and_others_are_refused():
    assert isinstance(make_ephemeral(None), MemoryEphemeral)
    assert isinstance(make_ephemeral("redis://127.0.0.1:6379/0"), RedisEphemeral)
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        store = make_ephemeral(url, max_keys=7)
        assert isinstance(store, PostgresEphemeral) and store.max_keys == 7
        assert store.url.startswith("postgresql://") or store.url.startswith("postgres://")
    with pytest.raises(ValueError, match=r"storage.ephemeral_url.*'mysql://'.*postgresql://"):
        make_ephemeral("mysql://u@h/db")


@pytest.mark.postgres
async def test_postgres_expired_keys_are_swept_and_the_schema_is_created_once(request):
    """Rows of a tenant that never calls again are deleted by the sweep (bounded tables); a second start and a
    third store on the database find the schema's version and create nothing."""
    async with ephemeral_pair(request, "postgres") as (a, b):
        quiet = Scope("200", "quiet")
        for i in range(20):
            await a.flag_set(quiet, f"f{i}", 1)
        await a.counter(quiet, "c", 1)
        await asyncio.sleep(1.2)
        assert await b.sweep() >= 1
        tenant = (a.prefix, quiet.plugin_id, quiet.server_id)
        where = "prefix = %s AND plugin = %s AND server = %s"
        assert await pg_query(a, f"SELECT count(*) FROM eph_keys WHERE {where}", tenant) == [(0,)]
        assert await pg_query(a, f"SELECT count(*) FROM eph_tenants WHERE {where}", tenant) == [(0,)]
        assert await pg_query(a, "SELECT relpersistence FROM pg_class WHERE relname = 'eph_keys'", ()) == [("u",)]
        # and it comes back as new afterwards, under the quota as before
        await b.flag_set(quiet, "f0", 60)
        assert await a.flag_check(quiet, "f0")
        assert await pg_query(a, "SELECT count(*) FROM eph_schema", ()) == [(1,)]


@pytest.mark.postgres
async def test_postgres_a_call_purges_its_own_tenant_only_and_a_shortened_ttl_frees_the_quota(request):
    """A call deletes its own tenant's expired keys, never a neighbour's (what it costs is its tenant's); a key
    refreshed with a shorter TTL leaves the quota when that TTL ends, not the first one."""
    async with ephemeral_pair(request, "postgres", max_keys=2) as (a, b):
        crowd, mine = Scope("300", "crowd"), Scope("300", "mine")
        for i in range(2):
            await a.dedup(crowd, f"d{i}", 1)
        await a.cooldown_set(mine, "cd", 60)
        await b.cooldown_set(mine, "cd", 1)  # shortened
        await b.flag_set(mine, "f", 60)
        with pytest.raises(QuotaExceeded):
            await a.flag_set(mine, "g", 60)
        await asyncio.sleep(1.2)
        await a.flag_set(mine, "g", 60)  # "cd" expired: room again
        where = "prefix = %s AND plugin = %s AND server = %s"
        crowd_rows = await pg_query(a, f"SELECT count(*) FROM eph_keys WHERE {where}", (a.prefix, "crowd", "300"))
        assert crowd_rows == [(2,)]  # expired, but not ours to delete: left for the crowd's next call or the sweep
        assert await a.dedup(crowd, "d0", 60) is True
        assert await pg_query(a, f"SELECT count(*) FROM eph_keys WHERE {where}", (a.prefix, "crowd", "300")) == [(1,)]


@pytest.mark.postgres
async def test_storage_with_a_postgresql_ephemeral_url_shares_ephemeral_state(request, tmp_path):
    """``storage.ephemeral_url = "postgresql://…"`` (here the storage database itself): two storage layers share it."""
    from maidcore_sqlmodel.settings import StorageSettings
    from maidcore_sqlmodel.storage import SqlModelStorage

    url = request.getfixturevalue("ephemeral_database")  # migrated by the storage layer here
    settings = StorageSettings(database_url=url, ephemeral_url=url, ephemeral_prefix=f"t{uuid.uuid4().hex}:")
    nodes = [SqlModelStorage(settings, tmp_path / "data") for _ in range(2)]
    for node in nodes:
        await node.start()
    try:
        assert isinstance(nodes[0].ephemeral, PostgresEphemeral)
        assert await nodes[0].ephemeral.dedup(SCOPE, "once", 60) is True
        assert await nodes[1].ephemeral.dedup(SCOPE, "once", 60) is False
    finally:
        for node in nodes:
            await node.close()
    with pytest.raises(ValueError, match=r"storage\.ephemeral_url"):
        SqlModelStorage(StorageSettings(database_url="sqlite://", ephemeral_url="memcached://h"), tmp_path / "x")
