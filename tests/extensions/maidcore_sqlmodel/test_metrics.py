"""ctx.metrics (§4.8): roll-ups per minute and hour, every period and aggregate, group_by, retention."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from maidcore.errors import InvalidArgument
from maidcore.records import MetricPoint
from maidcore.runner.logbook import LogBook
from maidcore.scope import Scope

NOW = datetime(2026, 11, 24, 12, 30, 15, tzinfo=UTC).timestamp()
HOUR, DAY = 3600, 86400


@pytest.fixture
def clock(storage):
    """Drive the metric store's clock by hand: ``clock.at(t)`` records and queries as of time ``t``."""

    class Clock:
        now = NOW

        def at(self, t: float) -> None:
            self.now = t

    c = Clock()
    storage.metrics.clock = lambda: c.now
    return c


async def rollup_rows(storage, scope) -> int:
    sql = storage.db.sql("SELECT count(*) FROM metric_rollups WHERE plugin_id = ? AND server_id = ?")
    return (await storage.db.run(lambda conn: conn.execute(sql, (scope.plugin_id, scope.server_id)).fetchone()))[0]


async def test_query_shape_and_aggregates_over_the_last_hour(storage, scope, clock):
    m = storage.metrics
    for minutes_ago, value in [(0, 1.0), (0, 3.0), (5, 10.0), (59, 2.0), (61, 100.0)]:
        clock.at(NOW - minutes_ago * 60)
        await m.record(scope, "cmd.used", value, {})
    clock.at(NOW)
    result = await m.query(scope, "cmd.used", "1h", "sum", None)
    assert len(result["labels"]) == 60
    assert result["labels"][-1] == "2026-11-24T12:30:00Z" and result["labels"][0] == "2026-11-24T11:31:00Z"
    assert result["series"][0]["name"] == "cmd.used"
    data = result["series"][0]["data"]
    assert data[-1] == 4.0 and data[-6] == 10.0 and data[0] == 2.0 and sum(data) == 16.0
    assert result["total"] == 16.0  # the point 61 minutes ago is outside the hour
    assert (await m.query(scope, "cmd.used", "1h", "count", None))["total"] == 4
    assert (await m.query(scope, "cmd.used", "1h", "avg", None))["total"] == 4.0
    assert (await m.query(scope, "cmd.used", "1h", "min", None))["total"] == 1.0
    assert (await m.query(scope, "cmd.used", "1h", "max", None))["total"] == 10.0
    maxes = (await m.query(scope, "cmd.used", "1h", "max", None))["series"][0]["data"]
    assert maxes[-1] == 3.0 and maxes[1] is None  # empty bucket: no max
    assert await m.total(scope, "cmd.used", "24h") == 116.0


async def test_daily_periods_and_group_by_tag(storage, scope, clock):
    m = storage.metrics
    points = [(0, "eu", 1), (0, "us", 2), (1, "eu", 4), (6, "us", 8), (29, "eu", 16), (89, "us", 32), (95, "eu", 64)]
    for days_ago, region, value in points:
        clock.at(NOW - days_ago * DAY)
        await m.record(scope, "sales", value, {"region": region, "shop": "main"})
    clock.at(NOW)
    week = await m.query(scope, "sales", "7d", "sum", "region")
    assert len(week["labels"]) == 7 and week["labels"][-1] == "2026-11-24T00:00:00Z"
    assert [s["name"] for s in week["series"]] == ["eu", "us"]
    eu, us = (s["data"] for s in week["series"])
    assert eu[-1] == 1 and eu[-2] == 4 and us[-1] == 2 and us[0] == 8
    assert week["total"] == 15
    assert (await m.query(scope, "sales", "30d", "sum", None))["total"] == 31
    ninety = await m.query(scope, "sales", "90d", "count", "shop")
    assert len(ninety["labels"]) == 90 and ninety["total"] == 6
    assert [s["name"] for s in ninety["series"]] == ["main"]
    assert (await m.query(scope, "sales", "24h", "sum", "missing-tag"))["series"] == []
    assert await m.total(scope, "sales", "90d") == 63


async def test_roll_ups_keep_storage_bounded(storage, scope, clock):
    for i in range(600):
        clock.at(NOW + (i % 3))  # 600 points within one minute
        await storage.metrics.record(scope, "hits", 1.0, {"a": str(i % 2)})
    # one minute bucket and one hour bucket, each: overall + a=0 + a=1
    assert await rollup_rows(storage, scope) == 6
    clock.at(NOW)
    assert (await storage.metrics.query(scope, "hits", "1h", "count", "a"))["total"] == 600


async def test_retention_sweep(storage, scope, clock):
    m = storage.metrics
    clock.at(NOW - 100 * DAY)
    await m.record(scope, "old", 1.0, {})
    clock.at(NOW - 3 * DAY)
    await m.record(scope, "recent", 1.0, {})
    clock.at(NOW)
    assert await rollup_rows(storage, scope) == 4
    assert await m.sweep() >= 3  # both buckets of "old" and the minute bucket of "recent"
    assert await rollup_rows(storage, scope) == 1
    assert await m.total(scope, "recent", "7d") == 1.0


async def test_metrics_are_private_to_their_scope(storage, scope, other_scope, clock):
    await storage.metrics.record(scope, "m", 5.0, {})
    assert await storage.metrics.total(other_scope, "m", "1h") == 0.0


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m, s: m.record(s, "9bad", 1.0, {}), "metric"),
        (lambda m, s: m.record(s, "x" * 65, 1.0, {}), "metric"),
        (lambda m, s: m.record(s, "ok", float("nan"), {}), "value"),
        (lambda m, s: m.record(s, "ok", "1", {}), "value"),
        (lambda m, s: m.query(s, "ok", "2h", "sum", None), "period"),
        (lambda m, s: m.query(s, "ok", "1h", "median", None), "aggregate"),
    ],
)
async def test_bad_arguments(storage, scope, call, field):
    with pytest.raises(InvalidArgument, match=f"invalid {field}"):
        await call(storage.metrics, scope)


async def test_tags_are_cut_to_ten_and_stringified(storage, scope, clock):
    await storage.metrics.record(scope, "t", 1.0, {f"k{i}": i for i in range(15)})
    assert await rollup_rows(storage, scope) == 2 * 11
    result = await storage.metrics.query(scope, "t", "1h", "sum", "k3")
    assert [s["name"] for s in result["series"]] == ["3"]


async def test_metric_names_per_plugin_and_server(storage, scope, other_scope, clock):
    await storage.metrics.record(scope, "b_metric", 1.0, {})
    await storage.metrics.record(scope, "a_metric", 1.0, {"k": "v"})
    await storage.metrics.record(other_scope, "c_metric", 1.0, {})
    assert await storage.metrics.names(scope.plugin_id, scope.server_id) == ["a_metric", "b_metric"]
    assert await storage.metrics.names(scope.plugin_id) == ["a_metric", "b_metric", "c_metric"]
    assert await storage.metrics.names("nobody") == []


async def test_record_many_lands_every_point_in_one_call(storage, scope, other_scope, clock):
    points = [
        MetricPoint(s, f"maidcore.{name}", float(n), tags)
        for s in (scope, other_scope)
        for n, (name, tags) in enumerate([("events_dropped", {}), ("events_delayed", {"why": "queue"})], start=1)
    ]
    await storage.metrics.record_many(points)
    await storage.metrics.record_many([MetricPoint(scope, "maidcore.events_dropped", 5.0)])  # a second batch adds
    m = storage.metrics
    assert await m.total(scope, "maidcore.events_dropped", "1h") == 6.0
    assert await m.total(other_scope, "maidcore.events_dropped", "1h") == 1.0
    by_reason = await m.query(scope, "maidcore.events_delayed", "1h", "sum", "why")
    assert [(s["name"], s["data"][-1]) for s in by_reason["series"]] == [("queue", 2.0)]
    assert await m.total(other_scope, "maidcore.events_delayed", "1h") == 2.0
    # the same buckets as one record() per point: minute + hour, untagged + one per tag
    assert await rollup_rows(storage, scope) == 2 + 2 * 2
    await m.record_many([])  # nothing to write is no error


async def test_record_many_is_all_or_nothing(storage, scope, clock):
    broken = Scope.__new__(Scope)
    object.__setattr__(broken, "server_id", None)  # NOT NULL in the table: the database refuses the second point
    object.__setattr__(broken, "plugin_id", scope.plugin_id)
    with pytest.raises(Exception):  # noqa: B017 - the engine's own integrity error
        await storage.metrics.record_many(
            [MetricPoint(scope, "maidcore.first", 1.0), MetricPoint(broken, "maidcore.second", 1.0)]
        )
    assert await rollup_rows(storage, scope) == 0  # the first point was undone with the failing one
    await storage.metrics.record_many([MetricPoint(scope, "maidcore.first", 1.0)])  # the store still works
    assert await storage.metrics.total(scope, "maidcore.first", "1h") == 1.0


@pytest.mark.parametrize(
    ("point", "field"),
    [
        (lambda s: MetricPoint(s, "plugin.metric", 1.0), "metric"),  # only the platform's own counters
        (lambda s: MetricPoint(s, "maidcore.ok", float("inf")), "value"),
        (lambda s: MetricPoint(s, "maidcore." + "x" * 60, 1.0), "metric"),
    ],
)
async def test_record_many_refuses_a_bad_point_before_writing_any(storage, scope, point, field):
    with pytest.raises(InvalidArgument, match=f"invalid {field}"):
        await storage.metrics.record_many([MetricPoint(scope, "maidcore.fine", 1.0), point(scope)])
    assert await rollup_rows(storage, scope) == 0


async def test_the_runner_logbook_stores_a_periods_counters_in_one_batch_and_loses_none_when_it_fails(
    storage, scope, other_scope, clock, monkeypatch, caplog
):
    book = LogBook(lambda: storage, period=60)
    batches: list[int] = []
    record_many = storage.metrics.record_many

    async def counted(points):
        batches.append(len(points))
        await record_many(points)

    monkeypatch.setattr(storage.metrics, "record_many", counted)
    for _ in range(3):
        book.count_metric(scope, "events_dropped")
    book.count_metric(other_scope, "events_delayed", 2)
    book.count_metric(scope, "events_delayed")
    await book.flush()
    assert batches == [3]  # one call (one transaction) for the period's three points
    m = storage.metrics
    assert await m.total(scope, "maidcore.events_dropped", "1h") == 3.0
    assert await m.total(other_scope, "maidcore.events_delayed", "1h") == 2.0

    async def down(points):
        raise ConnectionError("the database is restarting")

    monkeypatch.setattr(storage.metrics, "record_many", down)  # the batch fails: the points go one by one
    book.count_metric(scope, "events_dropped", 4)
    book.count_metric(other_scope, "events_delayed")
    broken = Scope.__new__(Scope)  # a point storage refuses even alone (NOT NULL server id)
    object.__setattr__(broken, "server_id", None)
    object.__setattr__(broken, "plugin_id", scope.plugin_id)
    book.count_metric(broken, "events_dropped")
    await book.flush()
    assert await m.total(scope, "maidcore.events_dropped", "1h") == 7.0
    assert await m.total(other_scope, "maidcore.events_delayed", "1h") == 3.0
    assert book.metric_points_lost == 1  # reported: counted and logged, the others landed
    assert "recording 3 runner metric points at once failed" in caplog.text
    assert "the point is lost" in caplog.text
