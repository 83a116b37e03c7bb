"""Bounded worker starts for sandbox backends: first starts queue (in order) instead of timing out.

Starting hundreds of workers at once overloads the machine: at 200 plugin versions
45–90 Docker starts hit the engine's API timeout, and 1,000 process workers starting
together (2,000 interpreters on 2 cores) held a node's start for a minute. So at most
``concurrent`` starts run at a time and the rest wait their turn, however long the
queue is. A warm spare is a guess about the future: it starts only when a slot is free
and no first start is waiting, so it never delays a worker an event is waiting for.

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

    __slots__ = ("_queue", "released")

    def __init__(self, queue: SpawnQueue) -> None:
        self._queue = queue
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._queue._release()


class SpawnQueue:
    """``async with queue.first_start():`` / ``async with queue.spare():``, or ``turn = await queue.turn()``."""

    def __init__(self, concurrent: int) -> None:
        if concurrent < 1:
            raise ValueError(f"concurrent_spawns must be 1 or more, not {concurrent}")
        self.concurrent = concurrent
        self.running = 0
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
        return Turn(self)

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
        if self.running < self.concurrent and not self._first and (line is self._first or not self._spares):
            self.running += 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line.append(turn)
        self.peak_waiting = max(self.peak_waiting, self.waiting)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # the slot was handed over just now: pass it on
                self._release()
            else:
                line.remove(turn)
            raise

    def _release(self) -> None:
        """Hand the slot to the next first start, else the next spare, else free it."""
        for line in (self._first, self._spares):
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self.running -= 1
