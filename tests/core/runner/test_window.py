"""The delivery window's back-pressure: producers waiting for room are served one freed place each, in order."""

from __future__ import annotations

import asyncio

from maidcore.runner.deliveries import Delivery, Window, new_event_id
from maidcore.scope import Scope


def delivery(n: int) -> Delivery:
    return Delivery(new_event_id(), Scope("111", "p"), "1.0.0", "event.message_create", {"n": n})


class Worker:
    """Takes what the window sends, in order."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, d: Delivery) -> bool:
        self.sent.append(d.params["n"])
        return True


async def settle_one(window: Window) -> None:
    window.settle(next(iter(window.in_flight)))
    for _ in range(5):  # let woken producers run
        await asyncio.sleep(0)


async def test_producers_waiting_for_room_enter_in_arrival_order() -> None:
    worker = Worker()
    window = Window(capacity=1, queue_size=2, send=worker.send)
    producers = []
    for n in range(40):
        producers.append(asyncio.create_task(window.submit(delivery(n))))
        await asyncio.sleep(0)  # each one arrives after the previous
    while len(worker.sent) < 40:
        await settle_one(window)
    await asyncio.gather(*producers)
    assert worker.sent == list(range(40))


async def test_a_freed_place_wakes_one_waiting_producer_not_all() -> None:
    worker = Worker()
    window = Window(capacity=1, queue_size=1, send=worker.send)
    resumed = 0

    async def produce(n: int) -> None:
        nonlocal resumed
        await window.submit(delivery(n))
        resumed += 1

    tasks = [asyncio.create_task(produce(n)) for n in range(500)]
    await asyncio.sleep(0)
    assert resumed == 2  # one in flight, one waiting; 498 wait for room
    steps = []
    for _ in range(3):
        await settle_one(window)
        steps.append(resumed)
    assert steps == [3, 4, 5]  # each ack lets exactly one more in
    assert len(window._room_waiters) == 495  # the others were not woken (an Event would have woken all 498)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert not window._room_waiters


async def test_a_woken_producer_cancelled_before_it_runs_hands_its_place_on() -> None:
    worker = Worker()
    window = Window(capacity=1, queue_size=1, send=worker.send)
    await window.submit(delivery(0))  # in flight
    await window.submit(delivery(1))  # waiting
    first = asyncio.create_task(window.submit(delivery(2)))
    second = asyncio.create_task(window.submit(delivery(3)))
    await asyncio.sleep(0)
    window.settle(next(iter(window.in_flight)))  # 1 goes out, one place is free: `first` is woken
    first.cancel()  # ... and cancelled before it ran
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.sleep(0)
    assert second.done()
    assert [d.params["n"] for d in window.waiting] == [3]


async def test_a_place_taken_by_offer_meanwhile_keeps_the_woken_producer_first_in_line() -> None:
    worker = Worker()
    window = Window(capacity=1, queue_size=1, send=worker.send)
    await window.submit(delivery(0))
    await window.submit(delivery(1))
    first = asyncio.create_task(window.submit(delivery(2)))
    await asyncio.sleep(0)
    second = asyncio.create_task(window.submit(delivery(3)))
    await asyncio.sleep(0)
    window.settle(next(iter(window.in_flight)))  # wakes `first` ...
    assert window.offer(delivery(99)) is False  # ... whose place is promised: offer() must not take it
    await asyncio.sleep(0)
    assert first.done() and not second.done()
    assert [d.params["n"] for d in window.waiting] == [2]
    await settle_one(window)
    assert second.done()
    assert worker.sent == [0, 1, 2]


async def test_taking_the_waiting_line_lets_every_producer_through() -> None:
    worker = Worker()
    window = Window(capacity=1, queue_size=2, send=lambda d: False)  # no worker can take anything
    tasks = [asyncio.create_task(window.submit(delivery(n))) for n in range(10)]
    await asyncio.sleep(0)
    assert len(window.waiting) == 2
    taken = []
    while len(taken) < 10:  # as a stopping slot does: take what waits, producers refill it
        taken += [d.params["n"] for d in window.take_waiting()]
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert taken == list(range(10))
    assert worker.sent == []
