"""Bounded worker starts for sandbox backends: first starts queue (in order) instead of timing out.

Starting hundreds of workers at once overloads the machine: at 200 plugin versions
45–90 Docker starts hit the engine's API timeout, and 1,000 process workers starting
together (2,000 interpreters on 2 cores) held a node's start for a minute. So at most
``concurrent`` starts run at a time and the rest wait their turn, however long the
queue is. A warm spare is a guess about the future: it starts only when a slot is free
and no first start is waiting, and spares hold at most ``concurrent - 1`` slots at once
(all of them when ``concurrent`` is 1), so a first start arriving while a grown warm
pool refills finds a slot free instead of waiting for a spare to boot.

Any backend may use it: Docker holds a turn around its container start, the process
backend from ``exec`` until the worker's first output line (its interpreter has booted).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turn:
    """One start's place among the running ones; ``release()`` (idempotent) hands it to the next."""

    __slots__ = ("_queue", "released", "spare")

    def __init__(self, queue: SpawnQueue, spare: bool = False) -> None:
        self._queue = queue
        self.spare = spare
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._queue._release(self.spare)


class SpawnQueue:
    """``async with queue.first_start():`` / ``async with queue.spare():``, or ``turn = await queue.turn()``."""

    def __init__(self, concurrent: int) -> None:
        if concurrent < 1:
            raise ValueError(f"concurrent_spawns must be 1 or more, not {concurrent}")
        self.concurrent = concurrent
        self.spare_slots = max(1, concurrent - 1)  # one slot always left to first starts (unless there is one)
        self.running = 0
        self.running_spares = 0
        self._first: collections.deque[asyncio.Future[None]] = collections.deque()
        self._spares: collections.deque[asyncio.Future[None]] = collections.deque()
        self.peak_running = 0  # most starts ever running at once (statistics)
        self.peak_waiting = 0  # most first starts ever waiting at once (statistics)

    @property
    def waiting(self) -> int:
        """First starts waiting for a slot."""
        return sum(1 for f in self._first if not f.done())

    async def turn(self, *, spare: bool = False) -> Turn:
        """Wait for a slot (no timeout); the caller releases the returned ``Turn`` once its start is done."""
        await self._acquire(self._spares if spare else self._first)
        self.peak_running = max(self.peak_running, self.running)
        return Turn(self, spare)

    @asynccontextmanager
    async def first_start(self) -> AsyncIterator[None]:
        turn = await self.turn()
        try:
            yield
        finally:
            turn.release()

    @asynccontextmanager
    async def spare(self) -> AsyncIterator[None]:
        turn = await self.turn(spare=True)
        try:
            yield
        finally:
            turn.release()

    async def _acquire(self, line: collections.deque[asyncio.Future[None]]) -> None:
        spare = line is self._spares
        if (
            self.running < self.concurrent
            and not self._first
            and (not spare or (not self._spares and self.running_spares < self.spare_slots))
        ):
            self.running += 1
            self.running_spares += spare
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line.append(turn)
        self.peak_waiting = max(self.peak_waiting, self.waiting)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # the slot was handed over just now: pass it on
                self._release(spare)
            else:
                line.remove(turn)
            raise

    def _release(self, spare: bool) -> None:
        """Hand the slot to the next first start, else the next spare (if spares may hold one more), else free it."""
        self.running_spares -= spare
        if self._hand_over(self._first):
            return
        if self.running_spares < self.spare_slots and self._hand_over(self._spares):
            self.running_spares += 1
            return
        self.running -= 1

    @staticmethod
    def _hand_over(line: collections.deque[asyncio.Future[None]]) -> bool:
        while line:
            turn = line.popleft()
            if not turn.done():
                turn.set_result(None)
                return True
        return False
