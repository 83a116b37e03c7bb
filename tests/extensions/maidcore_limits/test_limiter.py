"""Moving-window semantics, on memory:// and on the real Redis (each test runs on both)."""

from __future__ import annotations

import asyncio
import time

import limits
import limits.storage
import limits.strategies
import pytest

from maidcore.errors import InvalidArgument
from maidcore.layers import Bucket, RateLimiter
from maidcore.scope import Scope

A = Scope("100", "alpha")
B = Scope("200", "alpha")  # another server, same plugin
A_OTHER_PLUGIN = Scope("100", "beta")  # same server, another plugin


async def hits(limiter, bucket, scope, n, cost=1) -> list[bool]:
    return [(await limiter.hit(bucket, scope, cost)).allowed for _ in range(n)]


async def test_is_a_rate_limiter_with_the_contract_defaults(make_limiter):
    limiter = make_limiter()
    assert isinstance(limiter, RateLimiter)
    assert limiter.name == "limits"
    assert {b: (i.amount, i.get_expiry()) for b, i in limiter.items.items()} == {
        Bucket.EVENTS: (50, 1),
        Bucket.DISCORD: (60, 60),
        Bucket.PROXY: (30, 60),
    }


async def test_each_bucket_server_and_plugin_has_its_own_window(make_limiter):
    limiter = make_limiter()
    assert await hits(limiter, Bucket.PROXY, A, 31) == [True] * 30 + [False]
    assert (await limiter.hit(Bucket.PROXY, B)).allowed
    assert (await limiter.hit(Bucket.PROXY, A_OTHER_PLUGIN)).allowed
    assert (await limiter.hit(Bucket.DISCORD, A)).allowed
    assert await hits(limiter, Bucket.EVENTS, A, 51) == [True] * 50 + [False]


async def test_retry_after_is_the_time_until_the_oldest_entry_leaves_the_window(make_limiter):
    limiter = make_limiter()
    first = time.time()
    assert (await limiter.hit(Bucket.PROXY, A)).allowed
    first_end = time.time()  # the oldest entry was stamped in [first, first_end]; it leaves 60 s later
    assert await hits(limiter, Bucket.PROXY, A, 29) == [True] * 29
    before = time.time()
    decision = await limiter.hit(Bucket.PROXY, A)
    after = time.time()
    assert not decision.allowed and decision.remaining == 0
    assert first + 60 - after <= decision.retry_after <= first_end + 60 - before + 0.001


async def test_waiting_retry_after_is_enough_and_needed(make_limiter):
    limiter = make_limiter(events_per_second=5)
    assert await hits(limiter, Bucket.EVENTS, A, 5) == [True] * 5
    decision = await limiter.hit(Bucket.EVENTS, A)
    assert not decision.allowed and 0.9 < decision.retry_after <= 1.01
    await asyncio.sleep(decision.retry_after - 0.3)
    assert not (await limiter.hit(Bucket.EVENTS, A)).allowed
    await asyncio.sleep(0.3 + 0.01)
    assert (await limiter.hit(Bucket.EVENTS, A)).allowed


async def test_no_double_burst_across_a_window_edge(make_limiter):
    """A fixed window admits a full window's worth just before its edge and again just after."""
    fixed = limits.strategies.FixedWindowRateLimiter(limits.storage.MemoryStorage())
    five = limits.RateLimitItemPerSecond(5)
    limiter = make_limiter(events_per_second=5)
    assert fixed.hit(five, "edge") and (await limiter.hit(Bucket.EVENTS, A)).allowed  # t0 opens the fixed window
    await asyncio.sleep(0.8)
    assert [fixed.hit(five, "edge") for _ in range(4)] == [True] * 4
    assert await hits(limiter, Bucket.EVENTS, A, 4) == [True] * 4
    await asyncio.sleep(0.25)  # t0 + 1.05: a new fixed window
    assert [fixed.hit(five, "edge") for _ in range(5)] == [True] * 5  # 9 in 0.15 s: the burst guarded against
    assert await hits(limiter, Bucket.EVENTS, A, 5) == [True, False, False, False, False]  # only t0's unit left


async def test_no_interval_of_one_window_ever_admits_more_than_the_limit(make_limiter):
    limiter = make_limiter(events_per_second=5)
    admitted: list[tuple[float, float]] = []  # each admitted unit was stamped between these two instants
    end = time.monotonic() + 2.5
    while time.monotonic() < end:
        before = time.time()
        if (await limiter.hit(Bucket.EVENTS, A)).allowed:
            admitted.append((before, time.time()))
        await asyncio.sleep(0.013)
    for i, (start, _) in enumerate(admitted):
        surely_within = [after for _, after in admitted[i:] if after - start < 1.0]
        assert len(surely_within) <= 5, admitted
    assert len(admitted) >= 10  # and it is not stricter than the limit: two full windows passed


async def test_a_costly_call_is_taken_whole_or_not_at_all(make_limiter):
    limiter = make_limiter()
    first = await limiter.hit(Bucket.DISCORD, A, 50)
    assert first.allowed
    assert first.remaining in (10, -1)  # exact on memory, not measured on async storages
    refused = await limiter.hit(Bucket.DISCORD, A, 11)
    assert not refused.allowed and refused.retry_after > 59
    assert (await limiter.hit(Bucket.DISCORD, A, 10)).allowed  # the refused call took nothing
    assert not (await limiter.hit(Bucket.DISCORD, A, 1)).allowed


async def test_retry_after_for_a_cost_waits_for_enough_entries_to_leave(make_limiter):
    async def stamped(cost):
        """The decision, and the instants before and after it (its entries are stamped in between)."""
        before = time.time()
        decision = await limiter.hit(Bucket.EVENTS, A, cost)
        return decision, before, time.time()

    limiter = make_limiter(events_per_second=10)
    first, first_start, first_end = await stamped(4)
    await asyncio.sleep(0.3)
    second, second_start, second_end = await stamped(6)
    assert first.allowed and second.allowed
    five, start, end = await stamped(5)  # the first 4 leaving is not enough: it waits for the second batch
    assert not five.allowed
    assert second_start + 1 - end <= five.retry_after <= second_end + 1 - start + 0.001
    four, start, end = await stamped(4)  # the first batch leaving is enough
    assert not four.allowed
    assert first_start + 1 - end <= four.retry_after <= first_end + 1 - start + 0.001
    assert five.retry_after - four.retry_after > 0.25
    await asyncio.sleep(four.retry_after)
    assert (await limiter.hit(Bucket.EVENTS, A, 4)).allowed


async def test_a_cost_above_the_limit_is_invalid_not_a_wait(make_limiter):
    limiter = make_limiter()
    with pytest.raises(InvalidArgument) as info:
        await limiter.hit(Bucket.DISCORD, A, 61)
    assert info.value.message == (
        "invalid targets: targets is required and must be at most 60 per call (discord actions: 60 per minute; got 61)"
    )
    assert (await limiter.hit(Bucket.DISCORD, A, 60)).allowed
    with pytest.raises(ValueError, match="at least 1"):
        await limiter.hit(Bucket.DISCORD, A, 0)


async def test_hit_nowait_decides_on_memory_and_defers_otherwise(make_limiter, storage_uri):
    limiter = make_limiter()
    decision = limiter.hit_nowait(Bucket.EVENTS, A)
    if storage_uri.startswith("memory"):
        assert decision is not None and decision.allowed and decision.remaining == 49
    else:
        assert decision is None


async def test_denied_hits_are_counted_per_bucket_and_scope(make_limiter):
    limiter = make_limiter(events_per_second=2)
    await hits(limiter, Bucket.EVENTS, A, 5)
    await hits(limiter, Bucket.PROXY, B, 33)
    assert limiter.denied == {(Bucket.EVENTS, A): 3, (Bucket.PROXY, B): 3}


async def test_a_flooding_scope_does_not_slow_or_block_another(make_limiter, storage_uri):
    """Neighbours are admitted and a flood's cost follows its admissions, not its calls.

    (Latency figures with and without a flood: benchmarks/limits_decisions.py.)
    """
    limiter = make_limiter()
    assert await hits(limiter, Bucket.EVENTS, A, 50) == [True] * 50

    async def decisions(scope, n) -> list[bool]:
        return [(await limiter.hit(Bucket.EVENTS, scope)).allowed for _ in range(n)]

    stop = asyncio.Event()
    flooded: list[bool] = []

    async def flood() -> None:
        while not stop.is_set():
            flooded.append((await limiter.hit(Bucket.EVENTS, A)).allowed)
            await asyncio.sleep(0)  # as if each call were a message from the worker

    storage_calls_before = limiter.storage_calls[A]
    started = time.monotonic()
    flooders = [asyncio.create_task(flood()) for _ in range(20)]
    await asyncio.sleep(0.02)
    other_server = await decisions(B, 40)
    other_plugin = await decisions(A_OTHER_PLUGIN, 40)
    stop.set()
    await asyncio.gather(*flooders)
    windows = time.monotonic() - started + 1
    admitted = sum(flooded)
    assert other_server == [True] * 40 and other_plugin == [True] * 40
    assert len(flooded) > 200 and admitted <= 50 * windows  # the flooder still gets exactly its rate
    assert limiter.denied[Bucket.EVENTS, A] == len(flooded) - admitted
    if not storage_uri.startswith("memory"):
        # Redis work follows the flooder's admissions (each then one refusal, remembered until the window
        # reopens), never the number of calls it makes
        calls = limiter.storage_calls[A] - storage_calls_before
        assert calls <= 2 * admitted + 2, (calls, admitted, len(flooded))


async def test_memory_hits_start_no_thread_and_expired_entries_are_still_swept(monkeypatch):
    from maidcore_limits import LimitsRateLimiter
    from maidcore_limits.limiter import SweptMemoryStorage
    from maidcore_limits.settings import RateLimitSettings

    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri="memory://", events_per_second=1000))
    storage = limiter._storage
    assert isinstance(storage, SweptMemoryStorage)
    started = []
    monkeypatch.setattr("threading.Thread.start", lambda thread: started.append(thread))
    for _ in range(3):  # hits further apart than the library's 10 ms timer
        assert limiter.hit_nowait(Bucket.EVENTS, A).allowed
        await asyncio.sleep(0.02)
    assert started == []  # the library would have started a timer thread for each
    key = limiter._keys[Bucket.EVENTS, A]
    assert len(storage.events[key]) == 3
    await asyncio.sleep(1.05)  # the window (1 s) has passed: the next hit after SWEEP_SECONDS sweeps
    storage._next_sweep = 0.0
    assert limiter.hit_nowait(Bucket.EVENTS, B).allowed
    assert storage.events.get(key) in (None, [])
    await limiter.close()
