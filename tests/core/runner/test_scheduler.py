"""Host-driven schedules and cron, dashboards and lifecycle notifications, on the real SDK."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from yourbot_sdk.spec.cron import parse_cron

from maidcore.runner.tenants import runnable_crons

TIMED = """
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.schedule(1)
def heartbeat(ctx):
    ctx.kv.increment("beats")


@plugin.cron("*/15 * * * *")
def quarter(ctx):
    ctx.kv.increment("quarters")


@plugin.on_dashboard("summary")
def summary(ctx, params):
    return {"value": ctx.kv.get("beats") or 0, "server": ctx.server_id, "asked": params.get("range")}


@plugin.on_install
def installed(ctx):
    ctx.kv.set("installed", True)


if __name__ == "__main__":
    plugin.run()
"""


async def test_schedule_ticks_reach_every_enabled_server_once_per_period(make_stack):
    async with make_stack(min_schedule_interval_seconds=0.3) as stack:
        bundle = stack.plugin(
            "timed", TIMED, capabilities=["storage:kv"], cron=[{"name": "quarter", "spec": "*/15 * * * *"}]
        )
        await stack.install(bundle, "111")
        await stack.install(bundle, "222")
        kv, runner = stack.platform.storage.kv, stack.runner
        scope_a, scope_b = runner.tenant("111", "timed").scope, runner.tenant("222", "timed").scope
        # @schedule(1) ticks every max(1, 0.3) = 1 s, the first a period after registration.
        beats = 0
        for _ in range(100):
            beats = await kv.get(scope_a, "beats") or 0
            if beats >= 2:
                break
            await asyncio.sleep(0.05)
        assert beats >= 2
        assert (await kv.get(scope_b, "beats") or 0) >= 1
        assert await stack.platform.storage.records.list_dead_letters() == []


async def test_cron_fires_each_matching_minute_at_most_once(make_stack):
    async with make_stack() as stack:
        bundle = stack.plugin(
            "timed", TIMED, capabilities=["storage:kv"], cron=[{"name": "quarter", "spec": "*/15 * * * *"}]
        )
        await stack.install(bundle, "111")
        scheduler = stack.runner.scheduler
        assert scheduler.run_cron(datetime(2026, 1, 1, 10, 14, tzinfo=UTC)) == 0
        assert scheduler.run_cron(datetime(2026, 1, 1, 10, 15, 5, tzinfo=UTC)) == 1
        assert scheduler.run_cron(datetime(2026, 1, 1, 10, 15, 40, tzinfo=UTC)) == 0  # same minute: once
        assert scheduler.run_cron(datetime(2026, 1, 1, 10, 30, tzinfo=UTC)) == 1
        # the host was away from 10:31 to 10:59: 10:45 is missed, never replayed, and 11:00 fires once
        assert scheduler.run_cron(datetime(2026, 1, 1, 11, 0, tzinfo=UTC)) == 1
        await stack.idle()
        scope = stack.runner.tenant("111", "timed").scope
        assert await stack.platform.storage.kv.get(scope, "quarters") == 3


def test_the_host_fires_only_the_cron_entries_the_manifest_rules_allow(caplog):
    """A version stored without review (an old record, a local install) still never fires more than review allows."""
    six = [{"name": f"c{i}", "spec": f"{i * 10} 9 * * *"} for i in range(6)]
    entries = [
        {"name": "often", "spec": "*/2 * * * *"},  # under 5 minutes apart
        {"name": "broken", "spec": "0 9 * *"},
        {"spec": "0 9 * * *"},  # no name
        *six[:2],
        {"name": "c0", "spec": "30 10 * * *"},  # a name used twice
        *six[2:],
    ]
    with caplog.at_level("WARNING", logger="maidcore.runner"):
        kept = runnable_crons("timed", "1.0.0", entries)
    assert kept == tuple((e["name"], e["spec"]) for e in six[:5])
    reasons = " | ".join(r.getMessage() for r in caplog.records)
    for why in ("5 minutes apart", "it needs 5", "a string name and spec", "used twice", "more than 5 entries"):
        assert why in reasons, reasons
    assert runnable_crons("timed", "1.0.0", "not a list") == ()


async def test_dashboard_requests_and_lifecycle_hooks_act_for_their_server(make_stack):
    async with make_stack() as stack:
        bundle = stack.plugin("timed", TIMED, capabilities=["storage:kv"])
        await stack.install(bundle, "111")
        kv, runner = stack.platform.storage.kv, stack.runner
        await kv.put(runner.tenant("111", "timed").scope, "beats", 41)
        answer = await runner.call_dashboard("111", "timed", "summary", {"range": "7d"})
        assert answer == {"value": 41, "server": "111", "asked": "7d"}
        with pytest.raises(LookupError, match="not installed and enabled on server 999"):
            await runner.call_dashboard("999", "timed", "summary")
        # host.install reaches the worker (queued until its first boot for the very first install),
        # and on_install acts for that server.
        await stack.wait_for(lambda: [c for c in stack.calls if c["method"] == "kv.put"], what="the first on_install")
        assert await kv.get(runner.tenant("111", "timed").scope, "installed") is True
        await stack.install(bundle, "222")
        scope_b = runner.tenant("222", "timed").scope
        await stack.wait_for(lambda: len([c for c in stack.calls if c["method"] == "kv.put"]) == 2, what="on_install")
        assert await kv.get(scope_b, "installed") is True


@pytest.mark.parametrize(
    ("spec", "when", "fires"),
    [
        ("*/15 * * * *", datetime(2026, 3, 2, 4, 45), True),
        ("0 9 * * 1-5", datetime(2026, 3, 2, 9, 0), True),  # a Monday
        ("0 9 * * 1-5", datetime(2026, 3, 1, 9, 0), False),  # a Sunday
        ("0 0 13 * 5", datetime(2026, 3, 13, 0, 0), True),  # day of month OR day of week when both restricted
        ("0 0 13 * 5", datetime(2026, 3, 6, 0, 0), True),
        ("0 0 13 * 5", datetime(2026, 3, 7, 0, 0), False),
        ("5-20/5 * * * *", datetime(2026, 3, 7, 0, 20), True),
        ("5/10 * * * *", datetime(2026, 3, 7, 0, 5), True),  # N/S is just N, as in the official SDK
        ("5/10 * * * *", datetime(2026, 3, 7, 0, 15), False),
    ],
)
def test_cron_specs_match_utc_minutes(spec, when, fires):
    assert parse_cron(spec).matches(when) is fires


@pytest.mark.parametrize("spec", ["* * * *", "61 * * * *", "* * * * 7", "*/0 * * * *", "a * * * *"])
def test_invalid_cron_specs_say_what_is_wrong(spec):
    with pytest.raises(ValueError, match="cron"):
        parse_cron(spec)


@pytest.mark.parametrize("engine", ["redis", "postgresql"])
async def test_in_a_cluster_a_cron_minute_fires_on_one_node_only(make_stack, request, engine):
    """Two nodes' schedulers claim each (server, cron, minute) in the coordinator; the second finds it taken."""
    from tests.cluster.engines import open_coordinators

    async with open_coordinators(request, engine, count=1) as (coordinator,), make_stack() as stack:
        bundle = stack.plugin(
            "timed", TIMED, capabilities=["storage:kv"], cron=[{"name": "quarter", "spec": "*/15 * * * *"}]
        )
        await stack.install(bundle, "111")
        scheduler = stack.runner.scheduler
        scheduler.once = coordinator.once
        quarter_past = datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
        scheduler.run_cron(quarter_past)
        scheduler._cron_fired.clear()  # what another node's scheduler remembers: nothing
        scheduler.run_cron(quarter_past)
        scheduler.run_cron(datetime(2026, 1, 1, 10, 30, tzinfo=UTC))
        while scheduler._claims:
            await asyncio.sleep(0.01)
        await stack.idle()
        scope = stack.runner.tenant("111", "timed").scope
        assert await stack.platform.storage.kv.get(scope, "quarters") == 2


def test_a_worker_registering_again_keeps_the_times_of_its_schedules():
    """A worker woken after an idle stop (or started for a remembered registration) never postpones a tick."""
    from pathlib import Path
    from types import SimpleNamespace

    from maidcore.records import InstallRecord
    from maidcore.runner.registrations import Registration
    from maidcore.runner.scheduler import Scheduler
    from maidcore.runner.tenants import Tenant, Tenants, VersionInfo

    slot = SimpleNamespace(plugin_id="p", registration=Registration(schedules={"a": 60, "b": 120}))
    info = VersionInfo("p", "1.0.0", Path("."), None, {}, frozenset(), frozenset(), ())
    tenant = Tenant.build(InstallRecord("111", "p", "1.0.0", frozenset()), info, slot)  # type: ignore[arg-type]
    tenants = Tenants()
    tenants.put(tenant)
    scheduler = Scheduler(tenants, 1)
    scheduler.tenant_changed(tenant, None)  # loaded with a remembered registration: counting from now
    counting = dict(scheduler._due)
    assert set(counting) == {("111", "p", "a"), ("111", "p", "b")}
    scheduler.slot_registered(slot)  # the worker started for an event and registered the same
    assert scheduler._due == counting
    slot.registration = Registration(schedules={"a": 60, "b": 30, "c": 10})  # new code registers otherwise
    scheduler.slot_registered(slot)
    assert scheduler._due[("111", "p", "a")] == counting[("111", "p", "a")]
    assert scheduler._due[("111", "p", "b")][1] == 30 and scheduler._due[("111", "p", "c")][1] == 10
    slot.registration = Registration(schedules={"c": 10})
    scheduler.slot_registered(slot)
    assert set(scheduler._due) == {("111", "p", "c")}  # schedules no longer registered stop
