"""The coordinator contract and shard leases, against each engine (real Redis, real PostgreSQL).

Every test taking ``coordinator`` or ``coordinators`` runs once per engine
(``tests.cluster.engines``), each under a key prefix of its own; the races are
two coordinator instances (two nodes' connections) calling at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from maidcore.cluster import DurableSink, Handout, LeaseLost, ShardLeases, preferred_node, shard_of
from maidcore.cluster.node import build_coordinator
from maidcore.cluster.pg_coordinator import SCHEMA_VERSION, PostgresCoordinator
from maidcore.cluster.redis_coordinator import RedisCoordinator
from maidcore.settings import ClusterSettings
from tests.cluster import engines


@pytest.fixture
def coordinator(coordinators):
    return coordinators[0]


async def test_a_lease_is_exclusive_renewable_and_fenced(coordinator):
    first = await coordinator.acquire(0, "a", ttl=5)
    assert first is not None and first.token == 1
    assert await coordinator.acquire(0, "b", ttl=5) is None  # held
    assert await coordinator.renew(first, ttl=5)
    await coordinator.release(first)
    second = await coordinator.acquire(0, "b", ttl=5)
    assert second is not None and second.token == 2  # tokens only grow
    assert not await coordinator.renew(first, ttl=5)  # the old holder cannot extend the new lease
    await coordinator.release(first)  # nor drop it
    assert (await coordinator.holders(2))[0] == second
    assert 1 not in await coordinator.holders(2)


async def test_an_event_with_a_source_key_is_appended_once_whoever_holds_the_shard(coordinator):
    first = await coordinator.acquire(0, "a", ttl=5)
    assert await coordinator.append(first, {"event": {"n": 1}}, source_key="s1:7:message_create") is not None
    assert await coordinator.append(first, {"event": {"n": 1}}, source_key="s1:7:message_create") is None
    await coordinator.release(first)
    second = await coordinator.acquire(0, "b", ttl=5)
    assert await coordinator.append(second, {"event": {"n": 1}}, source_key="s1:7:message_create") is None  # a replay
    assert await coordinator.append(second, {"event": {"n": 2}}, source_key="s1:8:message_create") is not None
    assert await coordinator.append(second, {"event": {"n": 3}}) is not None  # no key: always appended
    assert await coordinator.append(second, {"event": {"n": 3}}) is not None
    with pytest.raises(LeaseLost):  # the fence comes first: a fenced node's key is not remembered
        await coordinator.append(first, {"event": {"n": 4}}, source_key="s1:9:message_create")
    assert await coordinator.append(second, {"event": {"n": 4}}, source_key="s1:9:message_create") is not None
    logged = await coordinator.read_new(second, "b", 10, block=0.1)
    assert [e.record["event"]["n"] for e in logged] == [1, 2, 3, 3, 4]


async def test_only_the_newest_source_keys_are_kept(coordinator, monkeypatch):
    engines.set_seen_kept(monkeypatch, coordinator, 3)
    lease = await coordinator.acquire(0, "a", ttl=5)
    for n in range(5):
        assert await coordinator.append(lease, {"event": {"n": n}}, source_key=f"s:{n}:x") is not None
    assert await engines.seen_keys(coordinator, 0) == 3
    assert await coordinator.append(lease, {"event": {"n": 4}}, source_key="s:4:x") is None
    assert await coordinator.append(lease, {"event": {"n": 0}}, source_key="s:0:x") is not None  # forgotten


async def test_a_lease_expires_when_not_renewed(coordinator):
    assert await coordinator.acquire(1, "a", ttl=0.2) is not None
    await asyncio.sleep(0.35)
    taken = await coordinator.acquire(1, "b", ttl=5)
    assert taken is not None and taken.node == "b"


async def test_the_log_refuses_a_node_whose_lease_moved(coordinator):
    old = await coordinator.acquire(0, "a", ttl=0.2)
    entry = await coordinator.append(old, {"event": {"n": 1}})
    await asyncio.sleep(0.35)
    new = await coordinator.acquire(0, "b", ttl=5)
    with pytest.raises(LeaseLost):
        await coordinator.append(old, {"event": {"n": 2}})
    # b claims what a recorded and never acked; a second claim finds nothing new to deliver twice
    claimed = await coordinator.claim_pending(new, "b", 10)
    assert claimed == []  # never read by anyone yet: it is new, not pending
    fresh = await coordinator.read_new(new, "b", 10, block=0.1)
    assert [e.entry_id for e in fresh] == [entry] and fresh[0].record == {"event": {"n": 1}}
    assert await coordinator.pending(0) == 1


async def test_events_a_dead_reader_left_unacked_are_claimed_with_their_delivery_count(coordinator):
    lease_a = await coordinator.acquire(3, "a", ttl=0.2)
    ids = [await coordinator.append(lease_a, {"event": {"n": n}}) for n in range(5)]
    read = await coordinator.read_new(lease_a, "a", 10, block=0.1)
    assert [e.deliveries for e in read] == [1] * 5
    await coordinator.ack(3, ids[:2])  # a handled two, then died
    await asyncio.sleep(0.35)
    lease_b = await coordinator.acquire(3, "b", ttl=5)
    claimed = await coordinator.claim_pending(lease_b, "b", 2)  # a small page: it pages on
    assert [e.entry_id for e in claimed] == ids[2:]
    assert all(e.deliveries == 2 for e in claimed)
    await coordinator.ack(3, [e.entry_id for e in claimed])
    assert await coordinator.pending(3) == 0
    assert await engines.log_length(coordinator, 3) == 0  # acked events leave the log


async def test_once_is_true_for_one_caller(coordinator):
    results = await asyncio.gather(*(coordinator.once("schedule:1:p:tick:60:7", 5) for _ in range(10)))
    assert results.count(True) == 1
    assert await coordinator.once("schedule:1:p:tick:60:8", 5)


async def test_identify_slots_are_spaced_per_bucket(coordinator):
    waits = [await coordinator.identify_slot("0", 0.5) for _ in range(3)]
    assert waits[0] == 0
    assert waits[1] == pytest.approx(0.5, abs=0.1) and waits[2] == pytest.approx(1.0, abs=0.1)
    assert await coordinator.identify_slot("1", 0.5) == 0  # another bucket identifies at once


async def test_live_nodes_drop_out_when_their_heartbeat_expires(coordinator):
    await coordinator.heartbeat("a", 5)
    await coordinator.heartbeat("b", 0.2)
    assert await coordinator.live_nodes() == ["a", "b"]
    await asyncio.sleep(0.35)
    assert await coordinator.live_nodes() == ["a"]


def test_shares_are_dealt_round_the_live_nodes():
    nodes = ["b", "a", "c"]
    owners = [preferred_node(s, nodes) for s in range(6)]
    assert owners == ["a", "b", "c", "a", "b", "c"]
    assert preferred_node(0, []) is None
    assert shard_of(str((300_000_000_000 + 3) << 22), 2) == 1


async def test_two_nodes_split_shards_fail_over_and_hand_back(coordinator):
    settings = ClusterSettings(lease_seconds=1.0, renew_seconds=0.1, takeover_grace_seconds=0.2)
    serving: dict[str, set[int]] = {"a": set(), "b": set()}
    overlaps: list[int] = []

    def node(name: str) -> ShardLeases:
        async def serve(lease):
            others = [n for n in serving if n != name and lease.shard in serving[n]]
            overlaps.extend([lease.shard] * len(others))
            serving[name].add(lease.shard)

        async def stop(shard):
            serving[name].discard(shard)

        return ShardLeases(coordinator, name, settings, serve=serve, stop=stop)

    async def settle(predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, serving
            await asyncio.sleep(0.05)

    a, b = node("a"), node("b")
    a.start(4)
    await settle(lambda: serving["a"] == {0, 1, 2, 3})
    b.start(4)
    await settle(lambda: serving["a"] == {0, 2} and serving["b"] == {1, 3})  # b got its share handed over
    # a dies without a word (its loops end, nothing is released): its leases run out, b takes them
    await a._stop_loops()
    a.held.clear()
    serving["a"].clear()
    started = time.monotonic()
    await settle(lambda: serving["b"] == {0, 1, 2, 3})
    assert time.monotonic() - started < 3 * settings.lease_seconds
    await b.close()
    assert overlaps == []


async def holding_shard_0(coordinator, settings: ClusterSettings, stop) -> ShardLeases:
    """Node "a"'s leases, started on one shard and holding it (serving it does nothing)."""

    async def serve(lease):
        return None

    leases = ShardLeases(coordinator, "a", settings, serve=serve, stop=stop)
    leases.start(1)
    deadline = time.monotonic() + 5
    while 0 not in leases.held:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    return leases


async def test_a_node_that_cannot_renew_stops_before_its_lease_expires(coordinator):
    settings = ClusterSettings(lease_seconds=1.0, renew_seconds=0.1)
    stopped_at: dict[int, float] = {}

    async def stop(shard):
        stopped_at[shard] = time.monotonic()

    leases = await holding_shard_0(coordinator, settings, stop)

    async def unreachable(*args, **kwargs):
        raise ConnectionError("partitioned")

    cut = time.monotonic()
    coordinator.renew = unreachable  # type: ignore[method-assign]
    coordinator.heartbeat = unreachable  # type: ignore[method-assign]
    while 0 not in stopped_at:
        assert time.monotonic() - cut < 3
        await asyncio.sleep(0.02)
    assert stopped_at[0] - cut < settings.lease_seconds  # stopped before anyone else could take it
    await leases.close()


async def test_a_node_without_a_storage_check_keeps_its_shards_past_the_check_interval(coordinator):
    # no ``healthy`` callback: nothing ever checks the storage, so it must never count as unreachable
    settings = ClusterSettings(lease_seconds=1.0, renew_seconds=0.1, storage_check_seconds=0.3)
    stopped: list[int] = []

    async def stop(shard):
        stopped.append(shard)

    leases = await holding_shard_0(coordinator, settings, stop)
    await asyncio.sleep(3 * settings.storage_check_seconds)  # several rounds past the interval
    assert 0 in leases.held and stopped == []
    assert await coordinator.live_nodes() == ["a"]  # still heartbeating
    await leases.close()


async def test_closing_ends_the_lease_loops_even_when_a_cancel_is_lost(coordinator):
    # Python 3.11's wait_for (redis-py wraps every command in one) drops a cancel that lands as the reply arrives
    settings = ClusterSettings(lease_seconds=1.0, renew_seconds=0.1)
    inside = asyncio.Event()
    real_heartbeat = coordinator.heartbeat

    async def heartbeat(node, ttl):
        inside.set()
        with contextlib.suppress(asyncio.CancelledError):  # the lost cancel
            await asyncio.sleep(0.2)
        await real_heartbeat(node, ttl)

    async def nothing(_):
        return None

    coordinator.heartbeat = heartbeat  # type: ignore[method-assign]
    leases = ShardLeases(coordinator, "a", settings, serve=nothing, stop=nothing)
    leases.start(1)
    await asyncio.wait_for(inside.wait(), 5)
    await asyncio.sleep(0.05)  # mid-heartbeat: the cancel lands where it is lost
    loops = list(leases._tasks)
    closing = asyncio.ensure_future(leases.close())
    await asyncio.wait({closing}, timeout=5)
    assert closing.done(), "close() waits on a lease loop that never ends"  # the loops need their own stop signal
    assert leases.held == {} and loops and all(task.done() for task in loops)


async def test_a_logged_event_is_acked_when_its_last_delivery_ends():
    acked: list[tuple[int, str]] = []
    handout = Handout(2, "5-0", 1, lambda shard, entry: acked.append((shard, entry)))
    assert handout.delivery_id == "2:5-0"
    handout.hold()
    handout.hold()
    handout.done()  # the routing finished
    handout.done()
    assert acked == []
    handout.done()
    assert acked == [(2, "5-0")]
    abandoned = Handout(2, "6-0", 1, lambda shard, entry: acked.append((shard, entry)))
    abandoned.abandon()
    abandoned.done()
    assert acked == [(2, "5-0")]  # left in the log for the next holder


async def test_the_durable_sink_records_only_for_shards_it_holds(coordinator):
    class Router:
        closing = False

        async def publish(self, *args, **kwargs):
            raise AssertionError("a held shard's event goes to the log first")

    sink = DurableSink(Router(), coordinator, "a")  # type: ignore[arg-type]
    sink.shard_count = 2
    guild = str((300_000_000_000 + 2) << 22)  # shard 0
    assert await sink.publish({"guild_id": guild, "type": "message_create"}, event_type="message_create") == 0
    assert sink.counters["not_held"] == 1
    sink.leases[0] = await coordinator.acquire(0, "a", ttl=5)
    assert await sink.publish({"guild_id": guild, "type": "message_create"}, event_type="message_create") == 1
    logged = await coordinator.read_new(sink.leases[0], "a", 10, block=0.1)
    assert logged[0].record["event"]["guild_id"] == guild and logged[0].record["type"] == "message_create"


async def test_state_put_many_writes_every_key_with_its_ttl_in_chunks(coordinator):
    chunk = 1000 if isinstance(coordinator, RedisCoordinator) else 5000
    values = {f"owners:{i}": {"plugin": f"p{i}"} for i in range(chunk * 2 + 7)}
    await coordinator.state_put_many(values, ttl=30)
    assert await coordinator.state_get("owners:0") == {"plugin": "p0"}
    assert await coordinator.state_get(f"owners:{chunk * 2 + 6}") == {"plugin": f"p{chunk * 2 + 6}"}
    assert await engines.stored(coordinator, "state") == len(values)
    assert 25 < await engines.ttl(coordinator, "state", f"owners:{chunk + 1}") <= 30


# --- races between two nodes' coordinators (each engine) -----------------------------------------


async def test_two_nodes_racing_for_a_free_shard_get_one_lease(coordinators):
    for shard in range(5):
        won = await asyncio.gather(*(coordinators[i % 2].acquire(shard, f"n{i}", ttl=5) for i in range(20)))
        leases = [lease for lease in won if lease is not None]
        assert len(leases) == 1, leases
        assert (await coordinators[1].holders(5))[shard] == leases[0]


async def test_a_fenced_renewal_or_release_racing_a_takeover_never_undoes_it(coordinators):
    old = await coordinators[0].acquire(0, "a", ttl=0.2)
    await asyncio.sleep(0.35)
    new, renewed, _ = await asyncio.gather(
        coordinators[1].acquire(0, "b", ttl=5), coordinators[0].renew(old, ttl=5), coordinators[0].release(old)
    )
    assert new is not None and new.token > old.token and not renewed
    assert (await coordinators[0].holders(1))[0] == new


async def test_each_due_member_goes_to_exactly_one_of_two_racing_nodes(coordinators):
    members = [f"interaction:{n}" for n in range(60)]
    now = time.time()
    for n, member in enumerate(members):
        await coordinators[n % 2].due_add("rescue", member, now - 1 + n / 1000)
    await coordinators[0].due_add("rescue", "later", now + 3600)
    taken = await asyncio.gather(*(coordinators[i % 2].due_take("rescue", now, 7) for i in range(20)))
    flat = [member for batch in taken for member in batch]
    assert sorted(flat) == sorted(members)  # each once: none lost, none twice
    assert all(batch == sorted(batch, key=members.index) for batch in taken)  # by due time
    assert await coordinators[1].due_take("rescue", now, 100) == []
    assert await coordinators[1].due_take("rescue", now + 7200, 100) == ["later"]


async def test_once_racing_on_two_nodes_is_granted_once_until_it_expires(coordinators):
    granted = await asyncio.gather(*(coordinators[i % 2].once("cron:1:p:t:29000000", 30) for i in range(20)))
    assert granted.count(True) == 1
    assert await coordinators[0].once("tick:1", 1.0)
    assert not await coordinators[1].once("tick:1", 1.0)  # (the ttl is far longer than a round trip)
    await asyncio.sleep(1.2)
    assert await coordinators[1].once("tick:1", 1.0)  # expired: a new period


async def test_spend_racing_on_two_nodes_admits_exactly_the_limit(coordinators):
    spent = await asyncio.gather(*(coordinators[i % 2].spend("points", 1, 25, 30) for i in range(60)))
    admitted = [n for n in spent if n is not None]
    assert len(admitted) == 25 and sorted(admitted) == list(range(1, 26))  # every count handed out once
    assert await engines.budgets(coordinators[0]) == {"points": 25}
    assert await coordinators[1].spend("points", 5, 25, 30) is None  # refused: counts nothing
    assert await coordinators[1].spend("points", -4, 25, 30) == 21  # a give-back is never refused
    assert await coordinators[0].spend("points", 4, 25, 30) == 25
    assert await coordinators[0].spend("never", -1, 25, 30) == 0  # giving back to nothing creates nothing
    assert "never" not in await engines.budgets(coordinators[0])
    assert await coordinators[0].spend("huge", 26, 25, 30) is None
    assert 25 < await engines.ttl(coordinators[0], "budget", "points") <= 30  # from the first spend


async def test_a_spend_window_starts_again_after_it_expires(coordinator):
    assert await coordinator.spend("w", 3, 3, 1.0) == 3
    assert await coordinator.spend("w", 1, 3, 1.0) is None
    await asyncio.sleep(1.2)
    assert await coordinator.spend("w", 2, 3, 1.0) == 2


async def test_two_readers_of_one_shard_never_get_the_same_event(coordinators):
    lease = await coordinators[0].acquire(2, "a", ttl=10)
    ids = [await coordinators[0].append(lease, {"event": {"n": n}}) for n in range(80)]

    async def drain(coord, name):
        got = []
        while batch := await coord.read_new(lease, name, 7, block=0.05):
            got.extend(e.entry_id for e in batch)
        return got

    first, second = await asyncio.gather(drain(coordinators[0], "a"), drain(coordinators[1], "b"))
    assert sorted(first + second, key=ids.index) == ids and not set(first) & set(second)
    assert await coordinators[1].pending(2) == 80


async def test_a_blocked_read_returns_what_another_node_appends_meanwhile(coordinators):
    lease = await coordinators[1].acquire(4, "b", ttl=10)
    reader = asyncio.create_task(coordinators[0].read_new(lease, "a", 10, block=5.0))
    await asyncio.sleep(0.3)
    assert not reader.done()  # nothing yet: it waits
    entry = await coordinators[1].append(lease, {"event": {"n": 1}})
    got = await asyncio.wait_for(reader, 5.0)
    assert [e.entry_id for e in got] == [entry]


async def test_the_state_of_one_node_is_read_by_the_other_until_it_expires(coordinators):
    await coordinators[0].state_put("ticket:1", {"token": "t", "n": [1, 2]}, ttl=30)
    assert await coordinators[1].state_get("ticket:1") == {"token": "t", "n": [1, 2]}
    await coordinators[1].state_put("ticket:1", {"token": "u"}, ttl=5)  # a later put replaces it
    assert await coordinators[0].state_get("ticket:1") == {"token": "u"}
    await coordinators[0].state_put("ticket:2", "x", ttl=0.2)
    await asyncio.sleep(0.35)
    assert await coordinators[1].state_get("ticket:2") is None
    assert await coordinators[1].state_get("never") is None


# --- PostgreSQL only: its own schema, the server's clock, bounded tables -----------------------------


@pytest.fixture
async def pg_pair(request):
    async with engines.open_coordinators(request, "postgresql") as coords:
        yield coords


async def test_postgres_expiry_follows_the_servers_clock_not_the_nodes(pg_pair, monkeypatch):
    """A node whose clock is an hour off still agrees with the others on every expiry."""
    lease = await pg_pair[0].acquire(0, "a", ttl=5)
    assert await pg_pair[0].once("k", 5)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    assert await pg_pair[1].acquire(0, "b", ttl=5) is None
    assert await pg_pair[1].renew(lease, ttl=5)
    assert not await pg_pair[1].once("k", 5)
    assert await pg_pair[1].identify_slot("0", 0.5) == 0
    assert await pg_pair[1].identify_slot("0", 0.5) == pytest.approx(0.5, abs=0.1)


async def test_postgres_sweep_deletes_what_expired_and_keeps_what_lives(pg_pair):
    coord = pg_pair[0]
    for n in range(30):
        await coord.once(f"gone:{n}", 0.1)
        await coord.state_put(f"gone:{n}", n, 0.1)
        await coord.spend(f"gone:{n}", 1, 5, 0.1)
    await coord.once("kept", 60)
    await coord.state_put("kept", 1, 60)
    await coord.spend("kept", 1, 5, 60)
    await asyncio.sleep(0.2)
    assert await engines.stored(coord, "state") == 31  # expired rows are invisible, not yet deleted
    assert await coord.sweep() == 90
    for kind in ("once", "state", "budget"):
        assert await engines.stored(coord, kind) == 1
    assert await coord.state_get("kept") == 1
    assert not await coord.once("kept", 60)


async def test_postgres_schema_is_created_once_by_racing_nodes(request, postgres_server):
    url = postgres_server.create_database(migrated=False)
    try:
        coords = [PostgresCoordinator(url, "race") for _ in range(4)]
        await asyncio.gather(*(c.start() for c in coords))  # CREATE … IF NOT EXISTS under one advisory lock
        lease = await coords[3].acquire(0, "a", ttl=5)
        assert await coords[0].append(lease, {"n": 1}) is not None
        assert await coords[1]._rows("SELECT version FROM coord_schema", ()) == [(SCHEMA_VERSION,)]
        for coord in coords:
            await coord.close()
    finally:
        postgres_server.drop_database(url)


async def test_postgres_coordinator_that_cannot_connect_says_so():
    coord = PostgresCoordinator("postgresql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(ConnectionError, match=r"PostgreSQL coordinator 127\.0\.0\.1:1/none .*refused") as refused:
        await coord.start()
    assert "secret" not in str(refused.value)


def test_the_coordinator_url_chooses_the_engine():
    assert isinstance(build_coordinator(ClusterSettings(coordinator_url="postgresql://u@h/db")), PostgresCoordinator)
    assert isinstance(build_coordinator(ClusterSettings(coordinator_url="redis://h:6379/0")), RedisCoordinator)
    legacy = ClusterSettings(redis_url="redis://h:6379/0")
    assert legacy.url == "redis://h:6379/0" and isinstance(build_coordinator(legacy), RedisCoordinator)
    assert ClusterSettings().url is None and ClusterSettings().engine is None
    pg = build_coordinator(
        ClusterSettings(coordinator_url="postgresql+psycopg://u@h/db", key_prefix="c1", coordinator_pool_size=3)
    )
    assert pg.url == "postgresql://u@h/db" and pg.prefix == "c1" and pg.pool_size == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"coordinator_url": "mysql://h/db"}, "names no coordination engine maidcore has"),
        ({"coordinator_url": "h:6379"}, "must start with one of redis://"),
        ({"redis_url": "postgresql://h/db"}, "cluster.redis_url must be a Redis URL"),
        ({"redis_url": "redis://a/0", "coordinator_url": "postgresql://h/db"}, "set only cluster.coordinator_url"),
    ],
)
def test_a_coordinator_url_of_no_known_engine_is_refused_clearly(values, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        ClusterSettings(**values)


def test_cluster_demo_needs_a_coordinator_and_takes_postgres_alone(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from maidcore.cli import cluster_demo

    for name in ("MAIDCORE_CLUSTER__REDIS_URL", "MAIDCORE_CLUSTER__COORDINATOR_URL"):
        monkeypatch.delenv(name, raising=False)
    db = ["--database-url", "postgresql://u@h/db", "--dir", str(tmp_path)]
    refused = CliRunner().invoke(cluster_demo.cluster_demo_command, db)
    assert refused.exit_code == 2 and "--redis-url redis://… or --coordinator-url postgresql://…" in refused.output
    started: list[dict] = []

    class Recorder(cluster_demo.LocalCluster):
        def start_emulator(self, *, demo: bool = True) -> None:
            started.append({"redis": self.redis_url, "env": self.node_env("node1")})
            raise KeyboardInterrupt  # stop before anything runs

    monkeypatch.setattr(cluster_demo, "LocalCluster", Recorder)
    monkeypatch.setattr(cluster_demo, "ensure_database", lambda url: None)  # no server at h
    ran = CliRunner().invoke(cluster_demo.cluster_demo_command, [*db, "--coordinator-url", "postgresql://u@h/db"])
    assert ran.exit_code == 0, ran.output
    (seen,) = started
    assert seen["redis"] is None and seen["env"]["MAIDCORE_CLUSTER__COORDINATOR_URL"] == "postgresql://u@h/db"
    assert "MAIDCORE_CLUSTER__REDIS_URL" not in seen["env"]
    assert seen["env"]["MAIDCORE_LIMITS__STORAGE_URI"] == "postgresql://u@h/db"
