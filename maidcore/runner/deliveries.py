"""Deliveries: event ids, the bounded window of one worker, acks, redelivery bookkeeping.

A worker has at most ``capacity`` deliveries in flight (sent, not acked) and
at most ``queue_size`` waiting behind them; a producer that finds the waiting
line full awaits (back-pressure), so nothing is dropped and nothing grows
without bound. The window also knows which servers have a delivery in flight,
which is what host-call attribution checks (contract §10.4).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maidcore.scope import Scope

_RUN = os.urandom(3).hex()
_COUNTER = itertools.count(1)


def new_event_id() -> str:
    """A non-empty string id, unique across this host's lifetime (0.5.x SDKs skip acks for falsy ids)."""
    return f"{_RUN}-{next(_COUNTER)}"


@dataclass(slots=True, eq=False)
class Delivery:
    """One message for one worker: an event (redelivered until acked) or a tick (at most once)."""

    event_id: str
    scope: Scope
    version: str
    method: str  # "event.<type>", "schedule.tick", "event.cron"
    params: dict[str, Any]  # everything sent, tenant fields included; "attempt" updated on redelivery
    event: dict[str, Any] | None = None  # the SDK payload; None for ticks
    attempt: int = 1
    redeliver: bool = True
    sent_at: float = 0.0
    published_at: float = field(default_factory=time.monotonic)
    failure: str = ""  # the last event.fail error or crash reason
    handout: Any = None  # a cluster's logged event this delivers (``maidcore.cluster.Handout``): told when it ends


class Window:
    """In-flight and waiting deliveries of one worker slot."""

    def __init__(
        self,
        capacity: int,
        queue_size: int,
        send: Callable[[Delivery], bool],
        admits: Callable[[Delivery], bool] | None = None,
    ) -> None:
        self.capacity = capacity
        self.queue_size = queue_size
        self._send = send  # returns False when no worker can take it now
        self.admits = admits  # False: the head must wait (it keeps its place; nothing overtakes it)
        self.in_flight: dict[str, Delivery] = {}
        self.waiting: deque[Delivery] = deque()
        self.servers: Counter[str] = Counter()  # server id -> deliveries in flight (attribution)
        # Producers waiting for room, first come first served; each freed place wakes one of them
        # (an Event woke every waiter on every ack: with thousands queued, O(waiters) per ack).
        self._room_waiters: deque[asyncio.Future[None]] = deque()
        self._granted = 0  # waiters woken for a free place that have not taken it yet
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self.in_flight) + len(self.waiting)

    def set_capacity(self, capacity: int) -> None:
        self.capacity = capacity
        self.pump()

    async def submit(self, delivery: Delivery) -> None:
        """Queue a delivery; waits while the waiting line is full (back-pressure), in order of arrival."""
        if self._room_waiters or len(self.waiting) + self._granted >= self.queue_size:
            await self._wait_for_room()
        self.waiting.append(delivery)
        self._idle.clear()
        self.pump()

    async def _wait_for_room(self, front: bool = False) -> None:
        fut = asyncio.get_running_loop().create_future()
        if front:
            self._room_waiters.appendleft(fut)
        else:
            self._room_waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():  # woken, then cancelled: the place goes to the next one
                self._granted -= 1
                self._wake()
            elif fut in self._room_waiters:  # (a cancelled waiter _wake already dropped is not)
                self._room_waiters.remove(fut)
            raise
        self._granted -= 1
        if len(self.waiting) >= self.queue_size:  # an offer() or a redelivery took the place meanwhile
            await self._wait_for_room(front=True)

    def _wake(self) -> None:
        """Wake as many waiting producers as there are free places not promised yet."""
        room = self.queue_size - len(self.waiting) - self._granted
        waiters = self._room_waiters
        while room > 0 and waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                self._granted += 1
                room -= 1

    def offer(self, delivery: Delivery) -> bool:
        """Queue without waiting; ``False`` when the waiting line is full (ticks are skipped, never held).

        Producers already waiting for room count as full: nothing overtakes them.
        """
        if self._room_waiters or len(self.waiting) + self._granted >= self.queue_size:
            return False
        self.waiting.append(delivery)
        self._idle.clear()
        self.pump()
        return True

    def requeue_front(self, deliveries: list[Delivery]) -> None:
        """Put redeliveries before everything waiting (they were admitted already; never blocks)."""
        for delivery in reversed(deliveries):
            self.waiting.appendleft(delivery)
        if deliveries:
            self._idle.clear()
        self.pump()

    def pump(self) -> None:
        """Send waiting deliveries while there is room in flight."""
        in_flight, waiting = self.in_flight, self.waiting
        admits = self.admits
        while waiting and len(in_flight) < self.capacity:
            delivery = waiting[0]
            if admits is not None and not admits(delivery):
                break
            if not self._send(delivery):
                break
            waiting.popleft()
            delivery.sent_at = time.monotonic()
            in_flight[delivery.event_id] = delivery
            self.servers[delivery.scope.server_id] += 1
        if self._room_waiters:
            self._wake()

    def settle(self, event_id: str) -> Delivery | None:
        """Remove an acked (or abandoned) delivery from flight; ``None`` for an unknown id."""
        delivery = self.in_flight.pop(event_id, None)
        if delivery is None:
            return None
        server = delivery.scope.server_id
        left = self.servers[server] - 1
        if left:
            self.servers[server] = left
        else:
            del self.servers[server]
        self.pump()
        if not self.in_flight and not self.waiting:
            self._idle.set()
        return delivery

    def take_in_flight(self) -> list[Delivery]:
        """Everything in flight, oldest first, removed (the worker died)."""
        taken = sorted(self.in_flight.values(), key=lambda d: d.sent_at)
        self.in_flight.clear()
        self.servers.clear()
        if not self.waiting:
            self._idle.set()
        return taken

    def take_waiting(self) -> list[Delivery]:
        taken = list(self.waiting)
        self.waiting.clear()
        self._wake()
        if not self.in_flight:
            self._idle.set()
        return taken

    def overdue(self, now: float, timeout: float) -> list[Delivery]:
        return [d for d in self.in_flight.values() if now - d.sent_at > timeout]

    async def wait_idle(self) -> None:
        await self._idle.wait()
