"""The spawn queue: a burst of first starts waits its turn (never a timeout); spares never go before them."""

from __future__ import annotations

import asyncio

import pytest

from maidcore.layers.spawnqueue import SpawnQueue


async def test_a_burst_of_first_starts_all_start_in_order_a_few_at_a_time_and_spares_wait_for_them():
    queue = SpawnQueue(3)
    running, peak, order = 0, 0, []

    async def start(kind: str, n: int) -> None:
        nonlocal running, peak
        async with queue.first_start() if kind == "first" else queue.spare():
            running += 1
            peak = max(peak, running)
            order.append((kind, n, queue.waiting))
            await asyncio.sleep(0.002)  # a container start
            running -= 1

    tasks = []
    for n in range(200):
        tasks.append(asyncio.create_task(start("first", n)))
        if n % 20 == 0:  # every spawn asks for a spare refill: they must not go ahead of waiting first starts
            tasks.append(asyncio.create_task(start("spare", n)))
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    assert peak == 3 and queue.running == 0
    firsts = [n for kind, n, _ in order if kind == "first"]
    assert firsts == list(range(200))  # in the order they asked
    spares = [(i, waiting) for i, (kind, _, waiting) in enumerate(order) if kind == "spare"]
    assert len(spares) == 10 and all(waiting == 0 for _, waiting in spares)  # never while a first start waited
    assert sum(1 for i, _ in spares if i >= 200 - 3) >= 9  # so all but one (a free slot, nobody waiting) came last
    assert queue.peak_waiting >= 190


async def test_a_cancelled_waiter_gives_its_turn_to_the_next():
    queue = SpawnQueue(1)
    async with queue.first_start():
        gone = asyncio.create_task(queue.first_start().__aenter__())
        await asyncio.sleep(0)
        nxt_entered = asyncio.Event()

        async def nxt() -> None:
            async with queue.first_start():
                nxt_entered.set()

        task = asyncio.create_task(nxt())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
    await asyncio.wait_for(nxt_entered.wait(), 2)
    await task
    assert queue.running == 0 and queue.waiting == 0


def test_concurrent_spawns_must_be_positive():
    with pytest.raises(ValueError, match="concurrent_spawns must be 1 or more, not 0"):
        SpawnQueue(0)


async def test_a_turn_released_twice_frees_one_slot():
    queue = SpawnQueue(1)
    turn = await queue.turn()
    waiting = asyncio.create_task(queue.turn())
    await asyncio.sleep(0)
    turn.release()
    turn.release()  # a backend may release on the first line and again when the worker ends
    second = await asyncio.wait_for(waiting, 2)
    assert queue.running == 1 and queue.peak_running == 1
    second.release()
    assert queue.running == 0


async def test_spares_leave_one_slot_free_for_a_first_start():
    """Four slots, six spares refilling: three boot at once, and a first start arriving meanwhile enters at once."""
    queue = SpawnQueue(4)
    spares = [asyncio.create_task(queue.turn(spare=True)) for _ in range(6)]
    await asyncio.sleep(0)
    turns = [t.result() for t in spares if t.done()]
    assert len(turns) == 3 and queue.running == 3 and queue.running_spares == 3
    first = await asyncio.wait_for(queue.turn(), 1)  # no spare has to finish first
    assert queue.running == 4 and not first.spare
    first.release()  # the freed slot does not go to a fourth spare
    await asyncio.sleep(0)
    assert sum(t.done() for t in spares) == 3 and queue.running == 3
    turns[0].release()  # a spare's slot goes to the next spare
    await asyncio.sleep(0)
    assert sum(t.done() for t in spares) == 4 and queue.running_spares == 3
    for task in spares:  # each release (idempotent) hands its slot to the next waiting spare
        (await asyncio.wait_for(task, 1)).release()
    assert queue.running == 0 and queue.running_spares == 0


async def test_with_one_slot_a_spare_may_still_use_it():
    queue = SpawnQueue(1)
    spare = await asyncio.wait_for(queue.turn(spare=True), 1)
    assert queue.spare_slots == 1 and spare.spare
    spare.release()
    assert queue.running == 0 and queue.running_spares == 0
