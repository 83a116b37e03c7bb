"""Per-plugin bounds of the runner, attacked on the process AND Docker backends (docs/bounds.md).

Each attack runs beside the well-behaved plugin, on the attacker's server and
on a neighbour server of its own; the test asserts every answer of the good
plugin arrived (in order of the attack's timeout, not after the attacker's
queue drained), and that the host process's own CPU and memory stayed within
the documented bounds over the attack (``tests/hostile/hostuse.py``: CPU time of
this process, where the platform runs, per wall second; peak resident size).
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

from maidcore.runner.lograte import BURST_SECONDS
from maidcore.runner.worker import GARBAGE_LOGGED
from tests.extensions.maidcore_docker.support import ensure_test_image
from tests.hostile.conftest import GOOD_ID, Outcome, running_arena
from tests.hostile.hostuse import MAX_HOST_CPU_SHARE, HostUse

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


# Host memory one attack may add: the attacker's outgoing buffer (up to its bound) and what is being
# encoded into it, plus 8 MiB of slack for the interpreter's own allocations while serving the calls.
def memory_bound(arena) -> int:
    return 3 * arena.platform.settings.runner.max_outgoing_bytes + 8 * 1024 * 1024


MIN_WINDOW_SECONDS = 2.0  # watched at least this long: a host still spinning after the visible part is caught


@contextlib.asynccontextmanager
async def host_within_bounds(arena):
    """Measure the host process over the block (the attack from its first event to the neighbour's last
    answer, and at least ``MIN_WINDOW_SECONDS``); then assert its CPU share and memory growth."""
    use = HostUse()
    async with use.watching():
        started = time.monotonic()
        yield use
        await asyncio.sleep(max(0.0, MIN_WINDOW_SECONDS - (time.monotonic() - started)))
    assert use.cpu_share <= MAX_HOST_CPU_SHARE, f"the host spun while attacked: {use}"
    assert use.rss_growth < memory_bound(arena), f"host memory grew past its bound: {use}"


async def attacked(arena, name: str, **exchange) -> tuple[Outcome, HostUse]:
    """Arm ``hostile_<name>``, then attack and hear the neighbours within the host's bounds."""
    plugin_id, server = await arena.arm(name)
    async with host_within_bounds(arena) as use:
        outcome = await arena.exchange(plugin_id, server, **exchange)
        await neighbour_answers(arena)
    return outcome, use


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
    # the queued answers (up to the bound) are all the host held for it (memory_bound), plus transient encoding
    outcome, _ = await attacked(bounded, "deaf", until=crashed_with("stopped reading"), timeout=90)
    assert any(f"over {bound} bytes queued" in line for line in outcome.log)
    assert bounded.platform.runner.counters["outgoing_overflows"] >= 1


async def test_a_deeply_nested_protocol_line_costs_only_that_worker_a_restart(bounded):
    outcome, _ = await attacked(
        bounded, "deepnest", until=lambda o: any("parked" in line and "nested deeper" in line for line in o.log)
    )
    slot = bounded.slot("hostile_deepnest")
    assert slot.restarts >= 1 and slot.parked and slot.worker is None  # the supervisor lived, the worker is gone
    assert not any("supervising the worker failed" in line for line in outcome.log)


async def test_invalid_bytes_and_malformed_messages_are_ignored_and_log_lines_survive_a_bad_one(bounded):
    outcome, _ = await attacked(
        bounded, "badbytes", until=lambda o: bool(o.reports) and "the line after the malformed one" in o.plugin_logs
    )
    assert outcome.reports == [{"alive": True}]
    assert bounded.slot("hostile_badbytes").restarts == 0
    await bounded.platform.runner.logs.flush()
    stored = await bounded.platform.records.list_logs(plugin_id="hostile_badbytes", server_id=outcome.server_id)
    messages = [entry.message for entry in stored]
    assert "the line after the malformed one" in messages
    assert any(m.startswith("NUL \ufffd and a lone surrogate") for m in messages)  # made storable, not lost


async def test_a_flood_of_non_protocol_lines_restarts_only_that_worker(bounded):
    def restarted(outcome):
        flood = any("non-protocol stdout lines within" in line for line in outcome.log)
        return flood and bounded.slot("hostile_garbageflood").restarts >= 1

    outcome, _ = await attacked(bounded, "garbageflood", until=restarted)
    logged = sum("ignored non-protocol stdout line" in line for line in outcome.log)
    assert logged <= GARBAGE_LOGGED * bounded.slot("hostile_garbageflood").incarnations  # never each line


async def test_a_plugin_with_stuck_handlers_delays_no_other_plugin(bounded):
    # 40 events: far past the stuck plugin's 8 in flight and 16 queued; before, publish waited for its room
    await attacked(bounded, "stuck", good_events=40, timeout=30)
    assert bounded.platform.runner.router.held  # the stuck plugin's events wait for it, in the background


async def test_host_calls_in_flight_are_bounded_per_plugin_with_a_typed_error(bounded):
    limit = bounded.platform.settings.runner.max_requests_in_flight_per_plugin
    bounded.recorder.stalled["hostile_inflight"] = 3.0  # its Discord calls take 3 s each

    def summary(outcome):
        return next((json.loads(m) for m in outcome.plugin_logs if m.startswith('{"codes"')), None)

    outcome, _ = await attacked(bounded, "inflight", until=summary)
    assert summary(outcome) == {"codes": {"ok": limit, "QUOTA_EXCEEDED": 100 - limit}}
    assert len(outcome.reports) == limit  # the refused calls performed nothing


async def test_a_log_flood_is_cut_counted_and_reported_once(bounded):
    runner = bounded.platform.runner.settings
    outcome, _ = await attacked(
        bounded, "logflood", until=lambda o: bool(o.reports) and "after the flood" in o.plugin_logs
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


async def test_a_stderr_flood_is_read_at_its_rate_and_the_host_stays_within_bounds(bounded):
    settings = bounded.platform.settings.runner
    rate, burst = settings.stderr_lines_per_second, settings.stderr_lines_per_second * BURST_SECONDS
    read: list[float] = []  # when the host took each of the attacker's stderr lines

    def observe(slot, text):
        if slot.plugin_id == "hostile_stderrflood":
            read.append(time.monotonic())

    bounded.platform.runner.stderr_observers.append(observe)
    try:
        await attacked(bounded, "stderrflood", until=lambda o: len(read) > burst + rate)
    finally:
        bounded.platform.runner.stderr_observers.remove(observe)
    # a token bucket: never more than the burst plus the rate over the time since the first line
    assert len(read) <= burst + rate * (read[-1] - read[0]) + 1
    assert bounded.slot("hostile_stderrflood").restarts == 0  # it is slowed down, not restarted
