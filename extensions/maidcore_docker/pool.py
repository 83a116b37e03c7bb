"""Warm spares: containers of a plugin version started ahead, handed out by ``spawn``.

A spare is an ordinary worker container (same mounts, same limits) whose plugin
has started and waits for ``host.boot`` on stdin; claiming it costs no engine call.
Spares are per version because the code arrives by read-only volume mounts fixed at
create time: a generic spare would need the code sent over stdin into a writable
place, or every bundle mounted into every container. The pool holds at most
``PoolSize.target`` spares across all versions (oldest evicted first): ``warm_pool_size``
at rest, grown up to ``warm_pool_max`` when starts find no spare of their version (a
burst of K versions then keeps K spares, one each), back to ``warm_pool_size`` when no
spare was taken for ``warm_pool_idle_reap_seconds`` (``maidcore.layers.poolsize``). Each
spare idle for ``warm_pool_idle_reap_seconds`` is also reaped on its own. A spare is a
running worker container: 6.1 MiB of cgroup memory each (5.5 MiB anonymous; a plugin
that imported the SDK and waits for ``host.boot``, read from the engine's stats), so the
default ceiling of 8 holds about 50 MiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from maidcore.layers.poolsize import PoolSize
from maidcore.layers.sandbox import WorkerSpec
from maidcore_docker.worker import DockerWorker

log = logging.getLogger(__name__)

PoolKey = tuple[str, str, str, str]


def pool_key(spec: WorkerSpec) -> PoolKey:
    site = str(Path(spec.site_dir).resolve()) if spec.site_dir is not None else ""
    return (spec.plugin_id, spec.version, str(Path(spec.bundle_dir).resolve()), site)


@dataclass
class Spare:
    worker: DockerWorker
    key: PoolKey
    since: float


class WarmPool:
    """Spares by version; ``take`` is synchronous and instant, ``refill`` runs in the background."""

    def __init__(
        self,
        *,
        sizing: PoolSize,
        launch: Callable[[WorkerSpec], Awaitable[DockerWorker]],
        stop_grace: float,
    ) -> None:
        self.sizing = sizing
        self.idle_reap_seconds = sizing.idle_seconds
        self._launch = launch
        self._stop_grace = stop_grace
        self._spares: list[Spare] = []
        self._filling: dict[PoolKey, int] = {}
        self._unhealthy: set[PoolKey] = set()  # a spare of this version died unclaimed: stop warming it
        self._tasks: set[asyncio.Task] = set()
        self._fills: set[asyncio.Future] = set()  # spares being started (cancelled on close)
        self._reaper: asyncio.Task | None = None
        self._closed = False
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        """The spares the pool may hold right now (grows with demand, see ``PoolSize``)."""
        return self.sizing.target

    def start(self) -> None:
        if self.size > 0 and self._reaper is None:
            self._reaper = asyncio.ensure_future(self._reap_loop())

    def __len__(self) -> int:
        return len(self._spares)

    def spares(self) -> list[DockerWorker]:
        return [spare.worker for spare in self._spares]

    def take(self, spec: WorkerSpec) -> DockerWorker | None:
        """A live spare for this version, or None."""
        key = pool_key(spec)
        for spare in list(self._spares):
            if spare.key != key:
                continue
            self._spares.remove(spare)
            if spare.worker.ended or spare.worker.stdout_closed:
                self._unhealthy.add(key)
                self._background(spare.worker.stop(0))
                continue
            self.hits += 1
            self.sizing.started(took_spare=True)
            return spare.worker
        if self.size > 0:
            self.misses += 1
            self.sizing.started(took_spare=False)
        return None

    def refill(self, spec: WorkerSpec) -> None:
        """Start one spare for this version in the background (unless full, or its spares keep dying)."""
        key = pool_key(spec)
        if self.size <= 0 or key in self._unhealthy:
            return
        have = sum(1 for spare in self._spares if spare.key == key) + self._filling.get(key, 0)
        if have >= 1:
            return
        self._filling[key] = self._filling.get(key, 0) + 1
        fill = self._background(self._fill(spec, key))
        self._fills.add(fill)
        fill.add_done_callback(self._fills.discard)

    async def prewarm(self, spec: WorkerSpec) -> None:
        """Start a spare for this version now and return once it runs."""
        if self.size <= 0:
            return
        key = pool_key(spec)
        self._unhealthy.discard(key)
        self._filling[key] = self._filling.get(key, 0) + 1
        await self._fill(spec, key)

    async def _fill(self, spec: WorkerSpec, key: PoolKey) -> None:
        try:
            worker = await self._launch(spec)
        except Exception as exc:
            log.warning("warm spare for %s %s could not start: %s", spec.plugin_id, spec.version, exc)
            self._unhealthy.add(key)
            return
        finally:
            self._filling[key] -= 1
        if self._closed:
            await worker.stop(0)
            return
        self._spares.append(Spare(worker, key, time.monotonic()))
        self._evict()

    def _evict(self) -> int:
        """Stop the oldest spares above the target; returns how many."""
        excess = self.sizing.excess(len(self._spares))
        for oldest in self._spares[:excess]:
            self._background(oldest.worker.stop(0))
        del self._spares[:excess]
        return excess

    async def _reap_loop(self) -> None:
        interval = self.sizing.check_interval
        while True:
            await asyncio.sleep(interval)
            self.reap()

    def reap(self) -> int:
        """Stop spares idle past the reap age, spares whose container ended, and those above a shrunk target."""
        now = time.monotonic()
        self.sizing.shrink()
        reaped = self._evict()
        for spare in list(self._spares):
            if spare.worker.ended or now - spare.since >= self.idle_reap_seconds:
                if spare.worker.ended:
                    self._unhealthy.add(spare.key)
                self._spares.remove(spare)
                self._background(spare.worker.stop(0))
                reaped += 1
        return reaped

    def _background(self, coro: Awaitable) -> asyncio.Future:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Stop the spares; fills not yet done are cancelled, not started only to be stopped again.

        A node serving many versions closes with up to one fill per version queued behind first starts
        (``concurrent_spawns``): letting them run started that many containers at shutdown (100 versions:
        16 s of a 23 s close). A fill cancelled while its container is created removes it (``launch``).
        """
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for task in list(self._fills):
            task.cancel()
        spares, self._spares = self._spares, []
        # spares got no host.boot: EOF ends them at once
        await asyncio.gather(*(spare.worker.stop(self._stop_grace) for spare in spares), return_exceptions=True)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
