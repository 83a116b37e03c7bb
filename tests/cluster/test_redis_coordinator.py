"""The Redis coordinator and shard leases against a real Redis (unique key prefixes per test)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from maidcore.cluster import DurableSink, Handout, LeaseLost, ShardLeases, preferred_node, redis_coordinator, shard_of
from maidcore.cluster.redis_coordinator import RedisCoordinator
from maidcore.settings import ClusterSettings


@pytest.fixture
async def coordinator(redis_url):
    prefix = f"maidcore-test-{uuid.uuid4().hex[:8]}"
    coord = RedisCoordinator(redis_url, prefix)
    await coord.start()
    yield coord
    keys = [k async for k in coord.r.scan_iter(f"{prefix}:*")]
    if keys:
        await coord.r.delete(*keys)
    await coord.close()


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
    monkeypatch.setattr(redis_coordinator, "SEEN_KEPT", 3)
    lease = await coordinator.acquire(0, "a", ttl=5)
    for n in range(5):
        assert await coordinator.append(lease, {"event": {"n": n}}, source_key=f"s:{n}:x") is not None
    assert await coordinator.r.zcard(coordinator.key("seen", 0)) == 3
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
    assert await coordinator.r.xlen(coordinator.key("events", 3)) == 0  # acked events leave the log


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
    # a dies without a word: its leases run out, b takes them
    for task in a._tasks:
        task.cancel()
    a.held.clear()
    serving["a"].clear()
    started = time.monotonic()
    await settle(lambda: serving["b"] == {0, 1, 2, 3})
    assert time.monotonic() - started < 3 * settings.lease_seconds
    await b.close()
    assert overlaps == []


async def test_a_node_that_cannot_renew_stops_before_its_lease_expires(coordinator):
    settings = ClusterSettings(lease_seconds=1.0, renew_seconds=0.1)
    stopped_at: dict[int, float] = {}

    async def serve(lease):
        return None

    async def stop(shard):
        stopped_at[shard] = time.monotonic()

    leases = ShardLeases(coordinator, "a", settings, serve=serve, stop=stop)
    leases.start(1)
    deadline = time.monotonic() + 5
    while 0 not in leases.held:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)

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
    from maidcore.cluster.redis_coordinator import PUT_CHUNK

    values = {f"owners:{i}": {"plugin": f"p{i}"} for i in range(PUT_CHUNK * 2 + 7)}
    await coordinator.state_put_many(values, ttl=30)
    assert await coordinator.state_get("owners:0") == {"plugin": "p0"}
    assert await coordinator.state_get(f"owners:{PUT_CHUNK * 2 + 6}") == {"plugin": f"p{PUT_CHUNK * 2 + 6}"}
    assert len([k async for k in coordinator.r.scan_iter(coordinator.key("state", "owners:*"), count=1000)]) == len(
        values
    )
    assert 25_000 < await coordinator.r.pttl(coordinator.key("state", f"owners:{PUT_CHUNK + 1}")) <= 30_000
