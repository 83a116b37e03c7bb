"""Bounded container starts: first starts queue (in order) instead of timing out; spares wait for them.

Starting hundreds of containers at once overloads the engine until its API calls
hit the client timeout (at 200 plugin versions 45–90 of them failed). So at most
``concurrent_spawns`` starts run at a time and the rest wait their turn, however
long the queue is. A warm spare is a guess about the future: it starts only when a
slot is free and no first start is waiting, so it never delays a worker an event
is waiting for.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class SpawnQueue:
    """``async with queue.first_start():`` / ``async with queue.spare():`` around one container start."""

    def __init__(self, concurrent: int) -> None:
        if concurrent < 1:
            raise ValueError(f"concurrent_spawns must be 1 or more, not {concurrent}")
        self.concurrent = concurrent
        self.running = 0
        self._first: collections.deque[asyncio.Future[None]] = collections.deque()
        self._spares: collections.deque[asyncio.Future[None]] = collections.deque()
        self.peak_waiting = 0  # most first starts ever waiting at once (statistics)

    @property
    def waiting(self) -> int:
        """First starts waiting for a slot."""
        return sum(1 for f in self._first if not f.done())

    @asynccontextmanager
    async def first_start(self) -> AsyncIterator[None]:
        await self._acquire(self._first)
        try:
            yield
        finally:
            self._release()

    @asynccontextmanager
    async def spare(self) -> AsyncIterator[None]:
        await self._acquire(self._spares)
        try:
            yield
        finally:
            self._release()

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
