"""Blocking docker SDK calls off the event loop, on threads of the backend's own.

The SDK speaks HTTP synchronously, so every create, start, kill, inspect and remove
holds a thread for its round trip. On asyncio's default executor (``min(32, cores +
4)`` threads, 6 on 2 cores, shared with everything else in the process) closing a
node with hundreds of containers queued its removals behind each other and behind
other work. ``engine_calls`` threads run them here instead, and the backend's client
keeps as many connections to the engine (the SDK's default pool of 10 would open and
drop a connection for each call beyond it).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class EngineCalls:
    """``await calls(fn, *args, **kwargs)`` runs a blocking engine call on one of ``threads`` threads."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"docker.engine_calls must be 1 or more, not {threads}")
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None  # made on first use, again after close()

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="maidcore-docker")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Calls already queued still run (a removal is never dropped); the threads end after them."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
