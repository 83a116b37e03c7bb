"""What one ``ctx.sql`` call may cost: threads per plugin, wall time, result bytes.

Both sandboxes run statements on a small thread pool shared by every plugin. So that
one plugin's slow SQL cannot hold the threads everyone uses, each plugin may have
``threads_per_plugin`` statements running and ``queue_per_plugin`` waiting; more are
refused at once. A slot is given back only when its thread is really done, so a
plugin whose statements overrun keeps paying for them, not its neighbours.

The wall time is enforced from outside the statement: at the deadline the call is
cancelled (``Cancel`` calls the driver's own cancel: ``psycopg``'s cancel request,
``sqlite3``'s ``interrupt``) and the caller gets ``HostTimeout`` then, whether or not
the database has stopped yet. The database's own limit (``statement_timeout``, a
progress handler) usually ends the statement first; this is the backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from maidcore.errors import HostTimeout, RpcFailure

T = TypeVar("T")

#: How long past the deadline the database gets to end a statement itself (its error is clearer).
GRACE_SECONDS = 0.25


class Cancel:
    """Handed to the statement's thread: it registers how to stop the running statement; the caller may call it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop: Callable[[], Any] | None = None
        self.cancelled = False

    def on_cancel(self, stop: Callable[[], Any] | None) -> None:
        """Set (or clear, with None) what stops the statement now running; called on the statement's thread."""
        with self._lock:
            self._stop = stop
            fire = stop is not None and self.cancelled
        if fire and stop is not None:
            with contextlib.suppress(Exception):
                stop()

    def __call__(self) -> None:
        with self._lock:
            self.cancelled = True
            stop = self._stop
        if stop is not None:
            with contextlib.suppress(Exception):
                stop()


@dataclass
class _PluginSlots:
    running: asyncio.Semaphore
    waiting: int = 0


@dataclass
class SqlBounds:
    """The thread pool of a SQL sandbox and the per-plugin, per-call bounds around it."""

    timeout_seconds: float
    threads: int = 8
    threads_per_plugin: int = 2
    queue_per_plugin: int = 16
    max_result_bytes: int = 1_000_000
    _executor: ThreadPoolExecutor | None = field(default=None, init=False)
    _plugins: dict[str, _PluginSlots] = field(default_factory=dict, init=False)

    def start(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="maidcore-sql")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    async def run(self, plugin_id: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(cancel, *args)`` on a SQL thread within the plugin's slots and the wall-time limit."""
        if self._executor is None:
            raise RuntimeError("the SQL sandbox is not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_seconds
        slots = self._plugins.get(plugin_id)
        if slots is None:
            slots = self._plugins[plugin_id] = _PluginSlots(asyncio.Semaphore(self.threads_per_plugin))
        if slots.running.locked() and slots.waiting >= self.queue_per_plugin:
            raise RpcFailure(
                f"sql busy: this plugin already has {self.threads_per_plugin} statements running and "
                f"{slots.waiting} waiting (the limit); wait for them before sending more"
            )
        slots.waiting += 1
        try:
            await asyncio.wait_for(slots.running.acquire(), self.timeout_seconds)
        except TimeoutError:
            raise HostTimeout(
                "sql statement (waiting for this plugin's earlier statements)", self.timeout_seconds
            ) from None
        finally:
            slots.waiting -= 1
        cancel = Cancel()
        try:
            future = loop.run_in_executor(self._executor, fn, cancel, *args)
        except BaseException:
            slots.running.release()
            raise
        future.add_done_callback(lambda _f: slots.running.release())  # only when the thread is really done
        remaining = max(0.0, deadline - loop.time()) + GRACE_SECONDS
        done, _pending = await asyncio.wait({future}, timeout=remaining)
        if not done:
            loop.run_in_executor(None, cancel)  # a cancel request is network I/O: never on the loop
            future.add_done_callback(_consume)
            raise HostTimeout("sql statement", self.timeout_seconds)
        return future.result()

    def result_budget(self) -> ResultBudget:
        return ResultBudget(self.max_result_bytes)


class ResultBudget:
    """Counts the JSON bytes of a query's rows as they are read; past the limit, a typed error."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 2  # the brackets of the list

    def add(self, row: dict[str, Any], rows_so_far: int) -> None:
        self.used += len(json.dumps(row, separators=(",", ":"), ensure_ascii=False, default=str).encode()) + 1
        if self.used > self.limit:
            raise RpcFailure(
                f"sql result too large: over {self.limit} bytes of JSON after {rows_so_far + 1} rows; "
                "select fewer or smaller columns, or fewer rows (LIMIT/OFFSET or a WHERE on the last key)"
            )


def _consume(future: asyncio.Future) -> None:
    """An abandoned statement's outcome: nobody waits for it any more."""
    if not future.cancelled():
        future.exception()
