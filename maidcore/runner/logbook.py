"""Batched writes of plugin logs, runner metrics and denied calls: the event path never waits on storage.

A line is made storable when it is added (NUL and unpaired surrogates, which
no database takes as text, are replaced); a batch that storage still refuses
is stored line by line, so one bad line never loses the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from maidcore.records import DeniedCall, MetricPoint, PluginLog, utcnow
from maidcore.scope import Scope

if TYPE_CHECKING:
    from maidcore.layers import Storage

log = logging.getLogger("maidcore.runner")

MAX_BUFFERED_LOGS = 20_000  # past this (storage stalled), the oldest lines are dropped and counted
BATCH = 500
METRIC_PREFIX = "maidcore."


class LogBook:
    """Buffers ``plugin.log`` lines for ``records.add_logs`` and per-scope counters for ``metrics.record``."""

    def __init__(self, storage: Callable[[], Storage], period: float) -> None:
        self._storage = storage
        self.period = period
        self._logs: deque[PluginLog] = deque()
        self._metrics: Counter[tuple[Scope, str]] = Counter()
        self._denied: dict[tuple[Scope, str], DeniedCall] = {}
        self._task: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()  # a flush returns only after what was buffered before it is stored
        self.dropped = 0
        self.stored = 0
        self.metric_points_lost = 0  # runner counters storage refused even one by one (each logged)

    def add(self, entry: PluginLog) -> None:
        entry = _storable(entry)
        if len(self._logs) >= MAX_BUFFERED_LOGS:
            self._logs.popleft()
            self.dropped += 1
        self._logs.append(entry)

    def count_metric(self, scope: Scope, name: str, n: int = 1) -> None:
        self._metrics[(scope, name)] += n

    def count_denied(self, scope: Scope, capability: str, method: str) -> None:
        """A call refused because ``scope``'s server has not granted ``capability``: a permission request."""
        key = (scope, capability)
        now = utcnow()
        held = self._denied.get(key)
        if held is None:
            self._denied[key] = DeniedCall(scope.server_id, scope.plugin_id, capability, 1, method, now, now)
        else:
            self._denied[key] = DeniedCall(
                scope.server_id, scope.plugin_id, capability, held.count + 1, method, held.first_at, now
            )
        self._metrics[(scope, "calls_denied")] += 1

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="logbook")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            await self.flush()

    async def flush(self) -> None:
        async with self._flushing:  # else a flush could return while the periodic one still stores our lines
            await self._flush()

    async def _flush(self) -> None:
        storage = self._storage()
        while self._logs:
            batch = [self._logs.popleft() for _ in range(min(BATCH, len(self._logs)))]
            try:
                await storage.records.add_logs(batch)
                self.stored += len(batch)
            except Exception:
                log.warning("storing %d plugin log lines at once failed; storing them one by one", len(batch))
                await self._one_by_one(storage, batch)
        denied, self._denied = self._denied, {}
        if denied:
            try:
                await storage.records.add_denied_calls(list(denied.values()))
            except Exception:
                log.exception("storing %d permission requests failed; their counts are lost", len(denied))
        metrics, self._metrics = self._metrics, Counter()
        if metrics:
            points = [MetricPoint(scope, METRIC_PREFIX + name, float(n)) for (scope, name), n in metrics.items()]
            try:
                await storage.metrics.record_many(points)  # one transaction for the period's points
            except Exception:
                log.warning("recording %d runner metric points at once failed; recording them one by one", len(points))
                await self._metrics_one_by_one(storage, points)

    async def _metrics_one_by_one(self, storage: Storage, points: list[MetricPoint]) -> None:
        for point in points:
            try:
                await storage.metrics.record(point.scope, point.metric, point.value, {})
            except Exception:
                self.metric_points_lost += 1
                log.exception("recording metric %s for %s failed; the point is lost", point.metric, point.scope)

    async def _one_by_one(self, storage: Storage, batch: list[PluginLog]) -> None:
        for entry in batch:
            try:
                await storage.records.add_logs([entry])
                self.stored += 1
            except Exception:
                self.dropped += 1
                log.exception(
                    "a plugin log line of %s on %r cannot be stored; it is lost", entry.plugin_id, entry.server_id
                )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


def _text(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if text.isascii():
        return text.replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _storable(entry: PluginLog) -> PluginLog:
    """``entry`` with every string valid UTF-8 text without NUL (what SQLite and PostgreSQL store as text)."""
    extra = {_text(k): _text(v) if isinstance(v, str) else v for k, v in (entry.extra or {}).items()}
    if "tags" in extra and isinstance(extra["tags"], list):
        extra["tags"] = [_text(t) for t in extra["tags"]]
    return dataclasses.replace(
        entry,
        server_id=_text(entry.server_id),
        plugin_id=_text(entry.plugin_id),
        message=_text(entry.message),
        extra=extra,
    )
