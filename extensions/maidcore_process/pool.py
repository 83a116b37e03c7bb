"""Warm spares for the process backend: booted interpreters no plugin has run in yet, taken by ``spawn``.

A spare is ``reaper.py`` running ``spare.py`` with the limits and the scrubbed
environment of every worker; its interpreter has booted and imported the SDK (the
costly part of a cold start) and waits for an adoption order on stdin naming the
bundle directory and the environment (``PYTHONPATH`` for the site directory). Unlike
the Docker pool's spares, these belong to no plugin version: everything a worker
gets per plugin can be applied after the interpreter started (see ``adoption``), so
any start may take any spare. A spare runs one plugin and ends with it; it never
goes back to the pool.

Spares start through the backend's ``SpawnQueue`` as spares: only when a slot is
free and no first start waits, holding the slot until the spare's interpreter booted.

How many spares the pool keeps is ``maidcore.layers.poolsize.PoolSize``: ``warm_pool_size``
at rest, grown up to ``warm_pool_max`` when starts find the pool empty, back to
``warm_pool_size`` when no spare was taken for ``warm_pool_idle_reap_seconds``. One
spare (reaper + booted interpreter with the SDK imported) is about 12.5 MiB PSS
(23 MiB RSS, 11 MiB private) on CPython 3.11, measured in ``/proc/<pid>/smaps_rollup``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from maidcore.layers.poolsize import PoolSize
from maidcore.layers.sandbox import WorkerSpec

log = logging.getLogger("maidcore.process")

MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd")
FAILURES_BEFORE_GIVING_UP = 3  # spares failing in a row: stop starting them (a broken interpreter)


class Spare:
    """One booted, unadopted worker process and the top-level modules its interpreter already holds."""

    __slots__ = ("modules", "proc")

    def __init__(self, proc: asyncio.subprocess.Process, modules: frozenset[str]) -> None:
        self.proc = proc
        self.modules = modules

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None


def top_level_names(directory: Path | None) -> set[str]:
    """Names a directory on ``sys.path`` could be imported by (packages, modules, extension modules)."""
    names: set[str] = set()
    if directory is None:
        return names
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if entry.is_dir():
                names.add(entry.name)
            elif entry.name.endswith(MODULE_SUFFIXES):
                names.add(entry.name.partition(".")[0])
    return names


def shadowed(spec: WorkerSpec, modules: Iterable[str]) -> set[str]:
    """Modules a spare already imported that this plugin's bundle or site directory would have replaced."""
    names = top_level_names(Path(spec.bundle_dir)) | top_level_names(spec.site_dir)
    return (names - {"__main__"}) & set(modules)


def adoption(bundle: Path, env: dict[str, str], spare_env: dict[str, str]) -> bytes:
    """The order turning a spare into a cold-started worker of ``bundle`` with environment ``env``."""
    order = {"bundle": str(bundle), "env": env, "unset": sorted(set(spare_env) - set(env))}
    return (json.dumps(order) + "\n").encode()


class SparePool:
    """Up to ``sizing.target`` spares; ``take`` is instant, ``refill`` starts the missing ones in the background."""

    def __init__(self, sizing: PoolSize, launch: Callable[[], Awaitable[Spare]]) -> None:
        self.sizing = sizing
        self._launch = launch
        self._spares: list[Spare] = []
        self._filling = 0
        self._failures = 0
        self._tasks: set[asyncio.Task] = set()
        self._stopping: set[asyncio.Task] = set()  # spares above the target being stopped (awaited, not cancelled)
        self._shrinker: asyncio.Task | None = None
        self._closed = False
        self.hits = 0  # starts that took a spare
        self.misses = 0  # starts with the pool on that found none (or none fit)
        self.started = 0  # spares started, ever

    @property
    def size(self) -> int:
        """The spares the pool aims for right now (grows with demand, see ``PoolSize``)."""
        return self.sizing.target

    def start(self) -> None:
        """Fill the pool and watch it for spares sitting unused."""
        self.refill()
        if self.sizing.ceiling > self.sizing.floor and self._shrinker is None:
            self._shrinker = asyncio.ensure_future(self._shrink_loop())

    def __len__(self) -> int:
        return len(self._spares)

    @property
    def pids(self) -> list[int]:
        return [spare.proc.pid for spare in self._spares]

    @property
    def filling(self) -> int:
        """Spares starting right now (waiting for a spawn slot or booting)."""
        return self._filling

    def take(self, spec: WorkerSpec) -> Spare | None:
        """A live spare for this plugin (removed from the pool for good), or None; refills either way."""
        if self.size <= 0:
            return None
        found = None
        for spare in list(self._spares):
            if not spare.alive:  # died unadopted (killed from outside): drop it
                self._spares.remove(spare)
                continue
            clash = shadowed(spec, spare.modules)
            if clash:
                log.debug("%s starts cold: its code has modules a spare already imported: %s", spec.name, clash)
                break
            self._spares.remove(spare)
            found = spare
            break
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        self.sizing.started(took_spare=found is not None)
        self.refill()
        return found

    def refill(self) -> None:
        """Start spares in the background until ``size`` are ready or starting."""
        if self._closed or self.size <= 0 or self._failures >= FAILURES_BEFORE_GIVING_UP:
            return
        for _ in range(self.size - len(self._spares) - self._filling):
            self._filling += 1
            task = asyncio.ensure_future(self._fill())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fill(self) -> None:
        try:
            spare = await self._launch()
        except Exception as exc:
            self._failures += 1
            if self._failures >= FAILURES_BEFORE_GIVING_UP:
                log.warning(
                    "process backend: %d warm spares in a row failed to start, no more (last: %s)", self._failures, exc
                )
            else:
                log.info("process backend: a warm spare failed to start: %s", exc)
            return
        finally:
            self._filling -= 1
        self._failures = 0
        self.started += 1
        if self._closed or len(self._spares) >= self.size:
            await stop_spare(spare)
            return
        self._spares.append(spare)

    async def _shrink_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sizing.check_interval)
            self.shrink()

    def shrink(self) -> int:
        """Stop the spares above the target once it fell back to the floor; returns how many."""
        self.sizing.shrink()
        excess = self.sizing.excess(len(self._spares))
        if not excess:
            return 0
        stopping, self._spares = self._spares[:excess], self._spares[excess:]  # the oldest go
        for spare in stopping:
            task = asyncio.ensure_future(stop_spare(spare))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        log.debug("process backend: %d warm spares unused, pool back to %d", excess, self.sizing.target)
        return excess

    async def close(self) -> None:
        self._closed = True
        if self._shrinker is not None:
            self._shrinker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._shrinker
            self._shrinker = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        spares, self._spares = self._spares, []
        await asyncio.gather(*(stop_spare(spare) for spare in spares), *self._stopping, return_exceptions=True)


async def stop_spare(spare: Spare) -> None:
    """EOF on stdin ends an unadopted spare at once; SIGTERM to its reaper if it does not."""
    proc = spare.proc
    if proc.stdin is not None and not proc.stdin.is_closing():
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 5.0)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()
