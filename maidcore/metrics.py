"""Every Prometheus metric maidcore exports, defined in one place (served at ``GET /metrics``).

The core counts at its seams (router, worker slots, host API dispatch, rate-limit
decisions, review) so whatever extension serves a layer is counted the same.
Names follow Prometheus conventions: ``maidcore_`` prefix, ``_total`` for
counters, ``_seconds`` / ``_bytes`` units. Gauges of live state (queue depth,
workers, parked plugins) are read from the runner at scrape time by
:class:`RunnerCollector`, so they can never drift from what the runner holds.

``maidcore serve --processes N`` runs prometheus_client's multiprocess mode: the
supervisor gives every child ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory per run),
each child's counters and histograms live in files there, and the child serving the
web API sums them all at scrape time. Custom collectors cannot cross processes, so in
that mode each child copies its live figures into the ``LIVE_*`` gauges every
:data:`LIVE_PUBLISH_SECONDS` (and the scraping child just before it answers).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from maidcore.runner import Runner

#: The registry ``/metrics`` serves (prometheus_client's default: process and platform metrics come along).
METRICS_REGISTRY: CollectorRegistry = REGISTRY

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_CHILDREN: dict[tuple[Any, tuple[str, ...]], Any] = {}


def child(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, remembered: the hot path (a few per event) skips the lock and label checks.

    Bounded like the metric itself: callers pass label values from closed sets (event types, method
    names, outcomes), the same children ``labels`` keeps for the life of the process.
    """
    key = (metric, values)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*values)
    return found


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


# --- live gauges of --processes children (multiprocess mode only; see RunnerCollector) ----------

#: prometheus_client reads this variable when it is imported: set it before a process starts.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Which child of ``--processes`` this process is (set by the supervisor with :data:`MULTIPROCESS_ENV`).
CHILD_ENV = "MAIDCORE_METRICS_CHILD"
#: How often a ``--processes`` child copies its live figures into the shared gauges.
LIVE_PUBLISH_SECONDS = 1.0

# livesum: each child holds its own workers, so the node's figure is the sum over the children alive
# (a killed child's files are marked dead by the supervisor when it restarts the child).
LIVE_QUEUE_DEPTH = Gauge(
    "maidcore_queue_depth",
    "Deliveries of a worker slot in flight or waiting",
    ["plugin_id", "state"],
    registry=None,
    multiprocess_mode="livesum",
)
LIVE_WORKERS = Gauge("maidcore_workers", "Worker slots by state", ["state"], registry=None, multiprocess_mode="livesum")
LIVE_PARKED = Gauge(
    "maidcore_workers_parked",
    "Plugin versions parked by the circuit breaker",
    registry=None,
    multiprocess_mode="livesum",
)
# livemax: a setting, the same in every child; summing would multiply it by the children holding the plugin.
LIVE_QUEUE_CAPACITY = Gauge(
    "maidcore_queue_capacity",
    "Deliveries a worker slot may hold waiting before back-pressure",
    ["plugin_id"],
    registry=None,
    multiprocess_mode="livemax",
)
#: The runner's live gauges by the name :meth:`RunnerCollector._figures` gives them.
LIVE_GAUGES = {
    "queue": LIVE_QUEUE_DEPTH,
    "capacity": LIVE_QUEUE_CAPACITY,
    "workers": LIVE_WORKERS,
    "parked": LIVE_PARKED,
}
# Per process (the ``child`` label is the stable index, a pid changes at each restart): the
# ``process_*`` collector of prometheus_client cannot cross processes, these stand in for it.
CHILD_MEMORY = Gauge(
    "maidcore_process_resident_memory_bytes",
    "Resident memory of each serving process of --processes",
    ["child"],
    registry=None,
    multiprocess_mode="livesum",
)
CHILD_OPEN_FDS = Gauge(
    "maidcore_process_open_fds",
    "Open file descriptors of each serving process of --processes",
    ["child"],
    registry=None,
    multiprocess_mode="livesum",
)
CHILD_STARTED = Gauge(
    "maidcore_process_start_time_seconds",
    "Start of the current process of each --processes child (changes when the child restarts)",
    ["child"],
    registry=None,
    multiprocess_mode="livemax",
)
# a counter: the dead process's file stays, so the total keeps growing across restarts
CHILD_CPU = Counter(
    "maidcore_process_cpu_seconds",
    "CPU time (user + system) of each serving process of --processes, restarts included",
    ["child"],
    registry=None,
)
#: Exported only in multiprocess mode (a single process has prometheus_client's ``process_*`` instead).
MULTIPROCESS_ONLY = (CHILD_MEMORY, CHILD_OPEN_FDS, CHILD_STARTED, CHILD_CPU)


def event_type_of(method: str) -> str:
    """``event.message_create`` -> ``message_create``; ticks keep their method name."""
    return method[6:] if method.startswith("event.") else method


class RunnerCollector(Collector):
    """Live gauges read from the bound runner at scrape time (nothing while no runner is bound).

    In multiprocess mode :meth:`publish` copies the same figures into the shared ``LIVE_*`` gauges.
    """

    def __init__(self) -> None:
        self._runner: weakref.ReferenceType[Runner] | None = None
        self._published: dict[str, set[tuple[str, ...]]] = {}
        self._cpu_reported = 0.0

    def bind(self, runner: Runner) -> None:
        self._runner = weakref.ref(runner)

    def _figures(self) -> dict[str, dict[tuple[str, ...], float]]:
        """Every live gauge's value per label values, as the bound runner holds them now."""
        runner = self._runner() if self._runner is not None else None
        workers: list[dict[str, Any]] = runner.stats()["workers"] if runner is not None else []
        queue: dict[tuple[str, ...], float] = {}
        capacity: dict[tuple[str, ...], float] = {}
        states: dict[tuple[str, ...], float] = {}
        for worker in workers:
            for state in ("in_flight", "waiting"):
                key = (worker["plugin_id"], state)
                queue[key] = queue.get(key, 0) + worker[state]
            states[(worker["state"],)] = states.get((worker["state"],), 0) + 1
            if runner is not None:
                capacity[(worker["plugin_id"],)] = runner.settings.queue_size
        parked = {(): float(sum(1 for w in workers if w["parked_reason"]))}
        return {"queue": queue, "capacity": capacity, "workers": states, "parked": parked}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, values in self._figures().items():
            gauge = LIVE_GAUGES[name]
            described = gauge.describe()[0]
            family = GaugeMetricFamily(described.name, described.documentation, labels=list(gauge._labelnames))
            for labels, value in sorted(values.items()):
                family.add_metric(list(labels), value)
            yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def publish(self, child: str) -> None:
        """Multiprocess mode: write this process's live figures (and its own process figures) to the shared files.

        A label set the runner no longer holds is set to 0 (multiprocess mode cannot remove a series).
        """
        for name, values in self._figures().items():
            gauge = LIVE_GAUGES[name]
            if not gauge._labelnames:
                gauge.set(values[()])
                continue
            for labels in self._published.get(name, set()) - values.keys():
                gauge.labels(*labels).set(0)
            for labels, value in values.items():
                gauge.labels(*labels).set(value)
            self._published[name] = set(values)
        for family in ProcessCollector(registry=None).collect():
            for sample in family.samples:
                if sample.name == "process_resident_memory_bytes":
                    CHILD_MEMORY.labels(child).set(sample.value)
                elif sample.name == "process_open_fds":
                    CHILD_OPEN_FDS.labels(child).set(sample.value)
                elif sample.name == "process_start_time_seconds":
                    CHILD_STARTED.labels(child).set(sample.value)
                elif sample.name == "process_cpu_seconds_total" and sample.value > self._cpu_reported:
                    CHILD_CPU.labels(child).inc(sample.value - self._cpu_reported)
                    self._cpu_reported = sample.value


RUNNER = RunnerCollector()
METRICS_REGISTRY.register(RUNNER)


_OWN_GAUGES = {
    "process_resident_memory_bytes": CHILD_MEMORY,
    "process_open_fds": CHILD_OPEN_FDS,
    "process_start_time_seconds": CHILD_STARTED,
}


class OwnProcessCollector(Collector):
    """A single serving process: its figures under the ``--processes`` names too, as ``child="0"``.

    So the dashboard's serving-process panels (memory, CPU, restarts, open fds) work on a plain
    ``maidcore serve`` as well; ``--processes`` children publish these themselves instead.
    """

    def collect(self) -> Iterator[Metric]:
        if multiprocess_dir() is not None:
            return
        for family in ProcessCollector(registry=None).collect():
            for sample in family.samples:
                gauge = _OWN_GAUGES.get(sample.name)
                if gauge is not None:
                    out = GaugeMetricFamily(gauge._name, gauge._documentation, labels=["child"])
                    out.add_metric(["0"], sample.value)
                    yield out
                elif sample.name == "process_cpu_seconds_total":
                    cpu = CounterMetricFamily(CHILD_CPU._name, CHILD_CPU._documentation, labels=["child"])
                    cpu.add_metric(["0"], sample.value)
                    yield cpu


def multiprocess_dir() -> str | None:
    """The shared directory of a ``--processes`` child, or None in a single process (today's registry)."""
    return os.environ.get(MULTIPROCESS_ENV) or None


METRICS_REGISTRY.register(OwnProcessCollector())


async def publish_live(child: str, interval: float = LIVE_PUBLISH_SECONDS) -> None:
    """Multiprocess mode: keep this child's live gauges current until cancelled."""
    while True:
        RUNNER.publish(child)
        await asyncio.sleep(interval)


def exposition() -> bytes:
    """The text exposition format of every registered metric (of every ``--processes`` child, summed)."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(METRICS_REGISTRY)
    child = os.environ.get(CHILD_ENV)
    if child is not None:
        RUNNER.publish(child)  # this process's own figures are fresh; the others' at most LIVE_PUBLISH_SECONDS old
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


# --- the supervisor's side of multiprocess mode ------------------------------------------------

#: Where under the data directory the supervisor keeps each run's multiprocess files.
MULTIPROCESS_ROOT = "prometheus"


def fresh_multiprocess_dir(data_dir: Path) -> Path:
    """A new, empty directory for this supervisor run; earlier runs' leftovers are removed.

    Only the holder of the data directory's lock calls this, so no other run can be using them.
    Counters start again from zero with each run (Prometheus treats that as a counter reset).
    """
    root = Path(data_dir) / MULTIPROCESS_ROOT
    if root.is_dir():
        for old in root.iterdir():
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    directory = root / f"run-{stamp}-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
    directory.mkdir(parents=True)
    return directory


def process_dead(directory: Path, pid: int) -> None:
    """Drop a dead child's live gauges (its counters and histograms stay: totals never go backwards)."""
    prometheus_multiprocess.mark_process_dead(pid, str(directory))
