"""Per-plugin bounds of the runner, attacked on the process AND Docker backends (docs/bounds.md).

Each attack runs beside the well-behaved plugin, on the attacker's server and
on a neighbour server of its own; the test asserts every answer of the good
plugin arrived (in order of the attack's timeout, not after the attacker's
queue drained), and that the host process's own memory stayed within the
documented bound (peak resident size sampled from the host process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import pytest
import pytest_asyncio
from yourbot_sdk.testing import make_event

from tests.extensions.maidcore_docker.support import ensure_test_image
from tests.hostile.conftest import GOOD_ID, running_arena

pytestmark = pytest.mark.asyncio(loop_scope="module")

# a queue an attacker fills within a few events, and an outgoing buffer it fills within seconds
RUNNER = {"queue_size": 16, "max_in_flight": 8, "max_outgoing_bytes": 2 * 1024 * 1024}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["process", "docker"])
async def bounded(request, tmp_path_factory):
    if request.param == "docker":
        ensure_test_image(request.getfixturevalue("docker_client"))
    root = tmp_path_factory.mktemp(f"bounds-{request.param}")
    async with running_arena(root, request.param, runner=RUNNER) as arena:
        arena.neighbour = str(700000 + os.getpid() % 1000)  # a server with the good plugin alone
        from maidcore.installs import install

        await install(arena.platform, arena.good_bundle, arena.neighbour, grants="all")
        yield arena
        assert arena.slot(GOOD_ID).restarts == 0, "the well-behaved plugin's worker was restarted"


def crashed_with(text: str):
    return lambda outcome: any("worker ended" in line and text in line for line in outcome.log)


class PeakRss:
    """The host process's highest resident size while the block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.baseline = self.peak = self._rss()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self._rss())
            await asyncio.sleep(0.02)

    @contextlib.asynccontextmanager
    async def watching(self):
        task = asyncio.create_task(self._sample())
        try:
            yield self
        finally:
            task.cancel()
            self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


async def neighbour_answers(arena, count: int = 5, timeout: float = 20.0) -> None:
    """The good plugin, alone on its own server, answers ``count`` new events within ``timeout``."""
    server = arena.neighbour
    ids = [f"n{time.monotonic_ns()}-{i}" for i in range(count)]
    for message_id in ids:
        event = make_event("message_create", guild_id=server, message_id=message_id, channel_id="42", content="hi")
        await arena.platform.runner.router.publish(event, event_type="message_create")
    deadline = time.monotonic() + timeout
    while not {f"good {i}" for i in ids} <= set(arena.recorder.sent(server, GOOD_ID)):
        assert time.monotonic() < deadline, "the good plugin on the neighbour server missed answers"
        await asyncio.sleep(0.05)


async def test_a_worker_that_stops_reading_is_restarted_and_host_memory_stays_bounded(bounded):
    bound = bounded.platform.settings.runner.max_outgoing_bytes
    async with PeakRss().watching() as rss:
        outcome = await bounded.attack("deaf", until=crashed_with("stopped reading"), timeout=90)
        await neighbour_answers(bounded)
    assert any(f"over {bound} bytes queued" in line for line in outcome.log)
    # the queued answers (up to the bound) are all the host held for it, plus transient encoding
    # (8 MB of slack: the interpreter's own allocations while serving the calls)
    assert rss.growth < 3 * bound + 8 * 1024 * 1024, f"host memory grew {rss.growth / 1e6:.1f} MB"
    assert bounded.platform.runner.counters["outgoing_overflows"] >= 1


async def test_a_deeply_nested_protocol_line_costs_only_that_worker_a_restart(bounded):
    outcome = await bounded.attack(
        "deepnest", until=lambda o: any("parked" in line and "nested deeper" in line for line in o.log), timeout=60
    )
    slot = bounded.slot("hostile_deepnest")
    assert slot.restarts >= 1 and slot.parked and slot.worker is None  # the supervisor lived, the worker is gone
    assert not any("supervising the worker failed" in line for line in outcome.log)
    await neighbour_answers(bounded)


async def test_invalid_bytes_and_malformed_messages_are_ignored_and_log_lines_survive_a_bad_one(bounded):
    outcome = await bounded.attack(
        "badbytes", until=lambda o: bool(o.reports) and "the line after the malformed one" in o.plugin_logs
    )
    assert outcome.reports == [{"alive": True}]
    assert bounded.slot("hostile_badbytes").restarts == 0
    await bounded.platform.runner.logs.flush()
    stored = await bounded.platform.records.list_logs(plugin_id="hostile_badbytes", server_id=outcome.server_id)
    messages = [entry.message for entry in stored]
    assert "the line after the malformed one" in messages
    assert any(m.startswith("NUL \ufffd and a lone surrogate") for m in messages)  # made storable, not lost


async def test_a_plugin_with_stuck_handlers_delays_no_other_plugin(bounded):
    # 40 events: far past the stuck plugin's 8 in flight and 16 queued; before, publish waited for its room
    started = time.monotonic()
    await bounded.attack("stuck", good_events=40, timeout=30)
    await neighbour_answers(bounded)
    assert time.monotonic() - started < 30
    assert bounded.platform.runner.router.held  # the stuck plugin's events wait for it, in the background


async def test_host_calls_in_flight_are_bounded_per_plugin_with_a_typed_error(bounded):
    limit = bounded.platform.settings.runner.max_requests_in_flight_per_plugin
    bounded.recorder.stalled["hostile_inflight"] = 3.0  # its Discord calls take 3 s each

    def summary(outcome):
        return next((json.loads(m) for m in outcome.plugin_logs if m.startswith('{"codes"')), None)

    outcome = await bounded.attack("inflight", until=summary, timeout=60)
    assert summary(outcome) == {"codes": {"ok": limit, "QUOTA_EXCEEDED": 100 - limit}}
    assert len(outcome.reports) == limit  # the refused calls performed nothing
    await neighbour_answers(bounded)


async def test_a_log_flood_is_cut_counted_and_reported_once(bounded):
    runner = bounded.platform.runner.settings
    outcome = await bounded.attack(
        "logflood", until=lambda o: bool(o.reports) and "after the flood" in o.plugin_logs, timeout=60
    )
    floods = [m for m in outcome.plugin_logs if m.startswith("flood ")]
    burst = 2 * runner.log_lines_per_second  # two seconds' worth, plus what refilled meanwhile
    assert burst <= len(floods) < 3000
    await bounded.platform.runner.logs.flush()
    stored = await bounded.platform.records.list_logs(
        plugin_id="hostile_logflood", server_id=outcome.server_id, limit=5000
    )
    reports = [e.message for e in stored if "log lines" in e.message and "were not stored" in e.message]
    assert len(reports) == 1 and reports[0].startswith(f"{3000 - len(floods)} log lines")
    await neighbour_answers(bounded)
