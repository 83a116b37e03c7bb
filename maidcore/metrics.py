"""Every Prometheus metric maidcore exports, defined in one place (served at ``GET /metrics``).

The core counts at its seams (router, worker slots, host API dispatch, rate-limit
decisions, review) so whatever extension serves a layer is counted the same.
Names follow Prometheus conventions: ``maidcore_`` prefix, ``_total`` for
counters, ``_seconds`` / ``_bytes`` units. Gauges of live state (queue depth,
workers, parked plugins) are read from the runner at scrape time by
:class:`RunnerCollector`, so they can never drift from what the runner holds.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from maidcore.runner import Runner

#: The registry ``/metrics`` serves (prometheus_client's default: process and platform metrics come along).
METRICS_REGISTRY: CollectorRegistry = REGISTRY

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# --- events ------------------------------------------------------------------------------------

EVENTS_RECEIVED = Counter(
    "maidcore_events_received_total", "Events the event source published to the router, per event type", ["event_type"]
)
EVENTS_QUEUED = Counter(
    "maidcore_events_queued_total", "Deliveries the router queued for a plugin, per event type", ["event_type"]
)
EVENTS_DELIVERED = Counter(
    "maidcore_events_delivered_total",
    "Deliveries that ended: acked by the plugin, or dead-lettered",
    ["event_type", "outcome"],
)
DELIVERY_LATENCY = Histogram(
    "maidcore_delivery_latency_seconds",
    "From the router queueing an event to the plugin acking it (redeliveries included)",
    ["event_type"],
    buckets=_LATENCY_BUCKETS,
)
BACKPRESSURE_WAITS = Counter(
    "maidcore_backpressure_waits_total",
    "Times the router waited because a worker's queue was full (back-pressure)",
    ["plugin_id"],
)

# --- workers -----------------------------------------------------------------------------------

WORKER_STARTS = Counter("maidcore_worker_starts_total", "Worker processes started", ["plugin_id"])
WORKER_RESTARTS = Counter(
    "maidcore_worker_restarts_total", "Workers restarted after their process ended unexpectedly", ["plugin_id"]
)
WORKER_CRASHES = Counter(
    "maidcore_worker_crashes_total", "Worker processes that ended while they should have run", ["plugin_id"]
)
WORKER_PARKS = Counter(
    "maidcore_worker_parks_total", "Times a plugin version was parked by the crash circuit breaker", ["plugin_id"]
)

# --- host API, rate limits, proxy ---------------------------------------------------------------

HOST_CALLS = Counter(
    "maidcore_host_calls_total",
    "Plugin→host API calls by method and outcome (ok, or the error's data.code)",
    ["method", "outcome"],
)
HOST_CALL_LATENCY = Histogram(
    "maidcore_host_call_seconds", "Time to answer a host API call", ["method"], buckets=_LATENCY_BUCKETS
)
RATE_LIMIT_DENIALS = Counter(
    "maidcore_rate_limit_denials_total",
    "Rate-limit decisions that refused, by bucket (events, discord actions, proxy http, websocket frames)",
    ["bucket"],
)
PROXY_REQUESTS = Counter(
    "maidcore_proxy_requests_total", "Outbound HTTP requests through the proxy by outcome", ["outcome"]
)
PROXY_BYTES = Counter("maidcore_proxy_response_bytes_total", "Response body bytes the proxy returned to plugins")
BROKER_MESSAGES = Counter(
    "maidcore_broker_messages_total",
    "WebSocket broker frames by direction (in: from upstream servers to plugins, out: from plugins upstream)",
    ["direction"],
)

# --- review ------------------------------------------------------------------------------------

REVIEW_OUTCOMES = Counter(
    "maidcore_review_outcomes_total",
    "Uploaded versions by the outcome of their automated review (approved, pending, rejected)",
    ["outcome"],
)
REVIEW_DECISIONS = Counter("maidcore_review_decisions_total", "Reviewer decisions on pending versions", ["decision"])


def event_type_of(method: str) -> str:
    """``event.message_create`` -> ``message_create``; ticks keep their method name."""
    return method[6:] if method.startswith("event.") else method


class RunnerCollector(Collector):
    """Live gauges read from the bound runner at scrape time (nothing while no runner is bound)."""

    def __init__(self) -> None:
        self._runner: weakref.ReferenceType[Runner] | None = None

    def bind(self, runner: Runner) -> None:
        self._runner = weakref.ref(runner)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runner = self._runner() if self._runner is not None else None
        workers: list[dict[str, Any]] = runner.stats()["workers"] if runner is not None else []
        queue = GaugeMetricFamily(
            "maidcore_queue_depth", "Deliveries of a worker slot in flight or waiting", labels=["plugin_id", "state"]
        )
        running = GaugeMetricFamily("maidcore_workers", "Worker slots by state", labels=["state"])
        parked = GaugeMetricFamily("maidcore_workers_parked", "Plugin versions parked by the circuit breaker")
        capacity = GaugeMetricFamily(
            "maidcore_queue_capacity",
            "Deliveries a worker slot may hold waiting before back-pressure",
            labels=["plugin_id"],
        )
        per_plugin: dict[str, list[int]] = {}
        states: dict[str, int] = {}
        for worker in workers:
            totals = per_plugin.setdefault(worker["plugin_id"], [0, 0])
            totals[0] += worker["in_flight"]
            totals[1] += worker["waiting"]
            states[worker["state"]] = states.get(worker["state"], 0) + 1
        for plugin_id, (in_flight, waiting) in sorted(per_plugin.items()):
            queue.add_metric([plugin_id, "in_flight"], in_flight)
            queue.add_metric([plugin_id, "waiting"], waiting)
        if runner is not None:
            for plugin_id in sorted(per_plugin):
                capacity.add_metric([plugin_id], runner.settings.queue_size)
        for state, n in sorted(states.items()):
            running.add_metric([state], n)
        parked.add_metric([], sum(1 for w in workers if w["parked_reason"]))
        yield from (queue, capacity, running, parked)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


RUNNER = RunnerCollector()
METRICS_REGISTRY.register(RUNNER)


def exposition() -> bytes:
    """The text exposition format of every registered metric."""
    return generate_latest(METRICS_REGISTRY)
