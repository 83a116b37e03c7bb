"""``ctx.metrics`` (§4.8): points are folded into roll-ups as they are recorded, so queries never scan points.

Each ``record`` updates per-minute and per-hour buckets (count, sum, min, max)
for the metric as a whole and for each of its tags. Queries read at most a few
thousand bucket rows whatever the number of points: ``1h`` from minute buckets
(60 labels), ``24h`` from hour buckets (24 labels), ``7d``/``30d``/``90d`` from
hour buckets merged into days. Minute buckets are kept 2 days, hour buckets
``metrics_retention_days`` (90).

A (server, plugin) has at most ``max_series`` series (distinct metric, tag key
and tag value, the whole-metric series included) and records at most
``points_per_minute`` points; past either, ``QUOTA_EXCEEDED`` and nothing is
written. On PostgreSQL a point that adds a series is checked against the stored
series in the transaction that writes it, under a per-tenant lock, so the
series bound holds exactly across nodes; on SQLite (one node) the check in
memory before the write is exact already. Points are counted in process on a
single node and, in a cluster, against one budget per (server, plugin, minute)
all nodes spend from (``Shared.spend``: one atomic Redis step per call), so the
bound is cluster-wide. Names under ``maidcore.`` are the runner's own counters:
not bounded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from maidcore.errors import InvalidArgument, QuotaExceeded
from maidcore.layers.shared import Shared
from maidcore.records import MetricPoint
from maidcore.scope import Scope
from maidcore_sqlmodel.database import Database

NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.]{0,63}")
MAX_TAGS = 10
MAX_TAG_CHARS = 200
MINUTE, HOUR, DAY = 60, 3600, 86400
MINUTE_RETENTION_SECONDS = 2 * DAY
RESERVED_PREFIX = "maidcore."  # the runner's own per-scope counters (events dropped, delayed, ...)
# period -> (bucket resolution read, label width, number of labels)
PERIODS: dict[str, tuple[int, int, int]] = {
    "1h": (MINUTE, MINUTE, 60),
    "24h": (HOUR, HOUR, 24),
    "7d": (HOUR, DAY, 7),
    "30d": (HOUR, DAY, 30),
    "90d": (HOUR, DAY, 90),
}
AGGREGATES = ("sum", "count", "avg", "min", "max")

log = logging.getLogger(__name__)


def check_metric(metric: Any) -> str:
    if not isinstance(metric, str) or not NAME_RE.fullmatch(metric):
        raise InvalidArgument("metric", "1-64 characters matching [a-zA-Z_][a-zA-Z0-9_.]*")
    return metric


def _checked(metric: Any, value: Any, tags: Any) -> list[tuple[str, str]]:
    """Check a point; its ``(tag key, tag value)`` pairs, ``("", "")`` (the untagged series) first."""
    check_metric(metric)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument("value", "a finite number")
    if tags is not None and not isinstance(tags, Mapping):
        raise InvalidArgument("tags", "an object of at most 10 string tags")
    pairs = [("", "")]
    for k, v in list((tags or {}).items())[:MAX_TAGS]:
        k, v = str(k)[:MAX_TAG_CHARS], str(v)[:MAX_TAG_CHARS]
        if k:
            pairs.append((k, v))
    return pairs


def check_period(period: Any) -> tuple[int, int, int]:
    if period not in PERIODS:
        raise InvalidArgument("period", "one of " + ", ".join(PERIODS))
    return PERIODS[period]


class _Acc:
    """count/sum/min/max of some points; every aggregate derives from these four."""

    __slots__ = ("count", "max", "min", "sum")

    def __init__(self) -> None:
        self.count, self.sum, self.min, self.max = 0, 0.0, math.inf, -math.inf

    def add(self, count: int, total: float, low: float, high: float) -> None:
        self.count += count
        self.sum += total
        self.min = min(self.min, low)
        self.max = max(self.max, high)

    def value(self, aggregate: str) -> float | None:
        if aggregate == "count":
            return float(self.count)
        if aggregate == "sum":
            return float(self.sum)
        if not self.count:
            return None
        return {"avg": self.sum / self.count, "min": self.min, "max": self.max}[aggregate]


class SqlMetricStore:
    """Roll-ups in the ``metric_rollups`` table; see the module docstring for the layout."""

    def __init__(
        self,
        db: Database,
        *,
        retention_days: int = 90,
        clock=time.time,
        max_series: int = 1_000,
        points_per_minute: int = 6_000,
        shared: Shared | None = None,
    ) -> None:
        self.db = db
        self.shared = shared if shared is not None else Shared()
        self.retention_days = retention_days
        self.clock = clock
        self.max_series = max_series
        self.points_per_minute = points_per_minute
        self._series: dict[tuple[str, str], set[tuple[str, str, str]]] = {}  # scope -> series known stored
        # scope -> (minute, points this node recorded in it); in a cluster a lower bound of the shared count, set
        # to the bound once the cluster refused, so a tenant past it is refused with no trip to Redis
        self._minute: dict[tuple[str, str], tuple[int, int]] = {}
        self._series_sql = db.sql(
            "SELECT DISTINCT metric, tag_key, tag_value FROM metric_rollups "
            "WHERE server_id = ? AND plugin_id = ? AND resolution = ?"
        )
        least, greatest = ("min", "max") if db.dialect == "sqlite" else ("LEAST", "GREATEST")
        self._upsert_sql = db.sql(
            "INSERT INTO metric_rollups (server_id, plugin_id, metric, resolution, tag_key, bucket, tag_value, "
            "count, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
            "ON CONFLICT (server_id, plugin_id, metric, resolution, tag_key, bucket, tag_value) DO UPDATE SET "
            "count = metric_rollups.count + 1, sum = metric_rollups.sum + excluded.sum, "
            f"min = {least}(metric_rollups.min, excluded.min), max = {greatest}(metric_rollups.max, excluded.max)"
        )
        # buckets merged into labels by the database: at most (labels x tag values) rows come back
        self._select_sql = db.sql(
            "SELECT (bucket - ?) / ? AS label, tag_value, sum(count), sum(sum), min(min), max(max) "
            "FROM metric_rollups WHERE server_id = ? AND plugin_id = ? "
            "AND metric = ? AND resolution = ? AND tag_key = ? AND bucket >= ? GROUP BY label, tag_value"
        )
        self._sweep_sql = db.sql("DELETE FROM metric_rollups WHERE resolution = ? AND bucket < ?")

    async def record(self, scope: Scope, metric: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        pairs = _checked(metric, value, tags)
        now = self.clock()
        if metric.startswith(RESERVED_PREFIX):
            await self.db.batched(self._record, scope, metric, float(value), pairs, now, False, write=True)
            return
        name = (scope.server_id, scope.plugin_id)
        minute, adds, budget = await self._admit(name, metric, pairs, now)
        try:
            stored, fits = await self.db.batched(
                self._record, scope, metric, float(value), pairs, now, adds, write=True
            )
            if stored is not None:  # the series found stored when this point's new ones were checked
                self._series[name] = stored
            if not fits:
                raise self._series_full()
        except BaseException as exc:
            if self.db.dialect == "sqlite":  # its new series were counted as known: read them again
                self._series.pop(name, None)
            seen_minute, points = self._minute.get(name, (minute, 0))
            if seen_minute == minute and points:  # a point not recorded does not count
                self._minute[name] = (minute, points - 1)
            if budget is not None and not isinstance(exc, asyncio.CancelledError):
                await self._give_back(budget)  # ... on any node
            raise
        self._series.setdefault(name, set()).update((metric, k, v) for k, v in pairs)

    async def _admit(
        self, name: tuple[str, str], metric: str, pairs: list[tuple[str, str]], now: float
    ) -> tuple[int, bool, str | None]:
        """Count the point against the minute's bound; refuse at once new series the stored ones leave no room for.

        The series known here are a lower bound of what is stored (every node
        adds its own), so a refusal needs no database trip. On PostgreSQL
        whether a new series fits is decided again in the transaction that
        writes it; on SQLite (one process, one node) here, for good. In a
        cluster the point is then spent from the minute's shared budget (one
        Redis step; refused there, nothing is counted). Returns the minute the
        point was counted in, whether the write must check series, and the
        shared budget's key when one was spent from (to give the point back if
        the write fails).
        """
        minute = int(now // MINUTE)
        if self._points(name, minute) >= self.points_per_minute:  # refused from memory: no trip anywhere
            raise self._points_full(minute, now)
        known = self._series.get(name)
        if known is None:
            rows = await self.db.run(lambda conn: conn.execute(self._series_sql, (*name, HOUR)).fetchall())
            known = self._series.setdefault(name, {(m, k, v) for m, k, v in rows if not m.startswith(RESERVED_PREFIX)})
        new = {(metric, k, v) for k, v in pairs} - known
        if new and len(known) + len(new) > self.max_series:
            raise self._series_full()
        budget = None
        if self.shared.clustered:
            budget = f"points:{name[0]}:{name[1]}:{minute}"
            if await self.shared.spend(budget, 1, self.points_per_minute, 2 * MINUTE) is None:
                self._minute[name] = (minute, self.points_per_minute)  # the rest of this minute: refused here
                raise self._points_full(minute, now)
            new -= known  # other calls ran during the await
            if new and self.db.dialect == "sqlite" and len(known) + len(new) > self.max_series:
                await self._give_back(budget)
                raise self._series_full()
        # read after every await: calls running at once each see the others' points
        points = self._points(name, minute)
        if budget is None and points >= self.points_per_minute:
            raise self._points_full(minute, now)
        # in a cluster this node's count is a lower bound of the budget spent: kept to refuse early, never past it
        self._minute[name] = (minute, min(points + 1, self.points_per_minute))
        if new and self.db.dialect == "sqlite":
            # one process writes a SQLite file, and nothing awaits between here and queueing the write: counting
            # the new series as known now is exact, and spares the single writer a scan of the stored series
            known |= new
            return minute, False, budget
        return minute, bool(new), budget

    def _points(self, name: tuple[str, str], minute: int) -> int:
        """Points this node counted for ``name`` in ``minute``."""
        seen_minute, points = self._minute.get(name, (minute, 0))
        return points if seen_minute == minute else 0

    async def _give_back(self, budget: str) -> None:
        """Return a point not recorded to the cluster's budget (a failure only logs: the tenant loses one point)."""
        try:
            await self.shared.spend(budget, -1, self.points_per_minute, 2 * MINUTE)
        except Exception:
            log.warning("could not give back a metric point to the cluster's budget %s", budget, exc_info=True)

    def _points_full(self, minute: int, now: float) -> QuotaExceeded:
        return QuotaExceeded(
            "metric points per minute", self.points_per_minute, retry_after=round((minute + 1) * MINUTE - now, 3)
        )

    def _series_full(self) -> QuotaExceeded:
        return QuotaExceeded("metric series", self.max_series, "distinct metric/tag values per plugin and server")

    def _record(
        self,
        conn: Any,
        scope: Scope,
        metric: str,
        value: float,
        pairs: list[tuple[str, str]],
        now: float,
        adds: bool,
    ) -> tuple[set[tuple[str, str, str]] | None, bool]:
        """Fold the point into its buckets: ``(the tenant's stored series if read, else None; whether it fit)``.

        A point that may add series (``adds``) is checked against what is stored,
        under the tenant's lock (``Database.lock_scope``), in the transaction that
        writes it: nodes adding series at once take turns, so the bound is exact.
        A point that does not fit writes nothing.
        """
        rows = [
            (scope.server_id, scope.plugin_id, metric, res, k, int(now // res) * res, v, value, value, value)
            for res in (MINUTE, HOUR)
            for k, v in pairs
        ]
        stored = None
        with self.db.write(conn):
            if adds:
                self.db.lock_scope(conn, "metrics", scope.server_id, scope.plugin_id)
                found = conn.execute(self._series_sql, (scope.server_id, scope.plugin_id, HOUR)).fetchall()
                stored = {(m, k, v) for m, k, v in found if not m.startswith(RESERVED_PREFIX)}
                new = {(metric, k, v) for k, v in pairs} - stored
                if new and len(stored) + len(new) > self.max_series:
                    return stored, False
            self._upsert(conn, rows)
        return stored, True

    async def record_many(self, points: Sequence[MetricPoint]) -> None:
        """The runner's own counters in one transaction (see ``MetricStore.record_many``): no quota, all or none."""
        checked = []
        for point in points:
            if not isinstance(point.metric, str) or not point.metric.startswith(RESERVED_PREFIX):
                raise InvalidArgument("metric", f"a name under {RESERVED_PREFIX!r} (the platform's own counters)")
            pairs = _checked(point.metric, point.value, point.tags)
            checked.append((point.scope, point.metric, float(point.value), pairs))
        if checked:
            await self.db.batched(self._record_many, checked, self.clock(), write=True)

    def _record_many(self, conn: Any, points: list[tuple[Scope, str, float, list[Any]]], now: float) -> None:
        rows = [
            (scope.server_id, scope.plugin_id, metric, res, k, int(now // res) * res, v, value, value, value)
            for scope, metric, value, pairs in points
            for res in (MINUTE, HOUR)
            for k, v in pairs
        ]
        with self.db.write(conn):
            self._upsert(conn, rows)

    def _upsert(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        """Fold rows into their buckets, inside the caller's transaction."""
        if self.db.dialect == "sqlite":
            conn.executemany(self._upsert_sql, rows)
        else:
            # a metric point is not worth a WAL flush: a crash may lose the last moments of points,
            # never corrupt a bucket
            conn.execute("SET LOCAL synchronous_commit = off")
            with conn.cursor() as cur:
                cur.executemany(self._upsert_sql, rows)

    async def query(
        self, scope: Scope, metric: str, period: str, aggregate: str = "sum", group_by: str | None = None
    ) -> dict[str, Any]:
        """``{"labels": [ISO 8601 bucket starts], "series": [{"name", "data"}], "total": float}``.

        ``data`` holds one value per label (``null`` for avg/min/max of an empty
        bucket); ``total`` is the aggregate over the whole period.
        """
        check_metric(metric)
        resolution, step, n = check_period(period)
        if aggregate not in AGGREGATES:
            raise InvalidArgument("aggregate", "one of " + ", ".join(AGGREGATES))
        if group_by is not None and (not isinstance(group_by, str) or not group_by):
            raise InvalidArgument("group_by", "a tag key or null")
        now = self.clock()
        start = int(now // step) * step - (n - 1) * step
        labels = [datetime.fromtimestamp(start + i * step, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n)]
        rows = await self.db.run(self._rows, scope, metric, resolution, "", start, step)
        total = _Acc()
        overall = [_Acc() for _ in range(n)]
        for label, _tag, count, s, lo, hi in rows:
            overall[min(n - 1, int(label))].add(int(count), s, lo, hi)
            total.add(int(count), s, lo, hi)
        if group_by is None:
            series = [{"name": metric, "data": [a.value(aggregate) for a in overall]}]
        else:
            grouped: dict[str, list[_Acc]] = {}
            for label, tag, count, s, lo, hi in await self.db.run(
                self._rows, scope, metric, resolution, group_by[:MAX_TAG_CHARS], start, step
            ):
                accs = grouped.setdefault(tag, [_Acc() for _ in range(n)])
                accs[min(n - 1, int(label))].add(int(count), s, lo, hi)
            series = [{"name": tag, "data": [a.value(aggregate) for a in grouped[tag]]} for tag in sorted(grouped)]
        return {"labels": labels, "series": series, "total": total.value(aggregate) or 0.0}

    def _rows(
        self, conn: Any, scope: Scope, metric: str, resolution: int, tag_key: str, start: int, step: int
    ) -> list[tuple]:
        args = (start, step, scope.server_id, scope.plugin_id, metric, resolution, tag_key, start)
        return conn.execute(self._select_sql, args).fetchall()

    async def total(self, scope: Scope, metric: str, period: str = "30d") -> float:
        """The sum of every point recorded in the period."""
        return float((await self.query(scope, metric, period, "sum", None))["total"])

    async def names(self, plugin_id: str, server_id: str | None = None) -> list[str]:
        """Metric names kept for ``plugin_id`` (on ``server_id``, or on any server), sorted."""
        sql = "SELECT DISTINCT metric FROM metric_rollups WHERE plugin_id = ?"
        args: tuple[Any, ...] = (plugin_id,)
        if server_id is not None:
            sql += " AND server_id = ?"
            args += (server_id,)
        rows = await self.db.run(lambda conn: conn.execute(self.db.sql(sql + " ORDER BY metric"), args).fetchall())
        return [r[0] for r in rows]

    def forget_known_series(self) -> None:
        """Re-read the series each scope has on its next record (another node may have swept old ones)."""
        self._series.clear()

    async def sweep(self) -> int:
        """Delete buckets past retention; returns how many rows went."""
        now = self.clock()
        return await self.db.run(self._sweep, now - MINUTE_RETENTION_SECONDS, now - self.retention_days * DAY - DAY)

    def _sweep(self, conn: Any, minute_cutoff: float, hour_cutoff: float) -> int:
        self._series.clear()  # series past retention no longer count: re-read on the next record
        with self.db.write(conn):
            gone = conn.execute(self._sweep_sql, (MINUTE, int(minute_cutoff))).rowcount
            gone += conn.execute(self._sweep_sql, (HOUR, int(hour_cutoff))).rowcount
        return gone
