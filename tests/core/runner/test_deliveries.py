"""Deliveries end to end: live grants, crash redelivery, dead letters, parking, back-pressure."""

from __future__ import annotations

import asyncio

COUNTER = """
import os, time
from mmo_maid_sdk import Plugin, CapabilityError

plugin = Plugin()


@plugin.on_event("message_create")
def count(ctx, event):
    content = event["content"]
    if content == "poison":
        os._exit(3)
    if content == "crash-once" and ctx.kv.increment("crash-once-seen") == 1:
        os._exit(4)
    if content == "raise":
        raise ValueError("handler bug")
    if content.startswith("slow"):
        time.sleep(0.01)
    try:
        ctx.kv.increment("count")
    except CapabilityError as exc:
        ctx.log(f"denied: {exc}", level="warning")


if __name__ == "__main__":
    plugin.run()
"""


async def test_a_capability_denied_then_granted_takes_effect_without_restart(make_stack):
    async with make_stack() as stack:
        bundle = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        await stack.install(bundle, "111", grants=[])
        scope = stack.runner.tenant("111", "counter").scope
        await stack.publish("message_create", "111", content="one")
        await stack.publish("message_create", "111", content="one again")
        await stack.idle()
        denied = stack.errors("kv.increment")
        assert denied and denied[0]["data"]["code"] == "CAPABILITY_DENIED"
        assert denied[0]["message"] == "capability storage:kv is not granted for kv.increment"
        assert await stack.platform.storage.kv.get(scope, "count") is None  # nothing performed
        incarnation = stack.slot("counter").incarnations

        # each refusal is counted as the server's permission request: "needs storage:kv, 2 calls, last at T"
        await stack.runner.logs.flush()
        [request] = await stack.platform.storage.records.list_denied_calls(server_id="111")
        assert (request.plugin_id, request.capability, request.count) == ("counter", "storage:kv", 2)
        assert request.last_method == "kv.increment" and request.last_at >= request.first_at

        await stack.grant("111", "counter", ["storage:kv"])
        await stack.publish("message_create", "111", content="two")
        await stack.idle()
        assert await stack.platform.storage.kv.get(scope, "count") == 1
        assert stack.slot("counter").incarnations == incarnation  # same worker: no restart, no reinstall
        await stack.wait_for(lambda: any("denied:" in m for _, _, m in stack.logs), what="the plugin's log line")


async def test_a_crashed_worker_is_restarted_and_its_event_redelivered(make_stack):
    async with make_stack() as stack:
        bundle = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        await stack.install(bundle, "111")
        scope = stack.runner.tenant("111", "counter").scope
        await stack.publish("message_create", "111", content="crash-once")
        await stack.idle()
        kv = stack.platform.storage.kv
        assert await kv.get(scope, "crash-once-seen") == 2  # delivered twice: once to the crashed worker
        assert await kv.get(scope, "count") == 1
        stats = stack.runner.stats()
        assert stats["restarts"] == 1 and stats["counters"]["redelivered"] == 1
        assert await stack.platform.storage.records.list_dead_letters() == []


async def test_an_event_that_keeps_killing_its_worker_becomes_a_dead_letter_after_5_redeliveries(make_stack):
    async with make_stack() as stack:
        bundle = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        await stack.install(bundle, "111")
        await stack.publish("message_create", "111", content="poison")
        await stack.idle(timeout=30)
        letters = await stack.platform.storage.records.list_dead_letters(plugin_id="counter")
        assert len(letters) == 1
        letter = letters[0]
        assert letter.attempts == 6 and letter.server_id == "111" and letter.event["content"] == "poison"
        assert "exit code 3" in letter.error
        # The plugin is not parked for one poison event: the next event is served.
        await stack.wait_for(lambda: stack.slot("counter").registration is not None, what="the restarted worker")
        await stack.publish("message_create", "111", content="fine")
        await stack.idle()
        assert await stack.platform.storage.kv.get(stack.runner.tenant("111", "counter").scope, "count") == 1
        assert not stack.slot("counter").parked


async def test_a_plugin_that_keeps_crashing_is_parked_with_the_reason(make_stack):
    async with make_stack(circuit_breaker_crashes=3) as stack:
        bundle = stack.plugin("broken", "import sys\nprint('cannot start', file=sys.stderr)\nsys.exit(7)\n")
        await stack.install(bundle, "111", wait_register=False)
        slot = stack.slot("broken")
        await stack.wait_for(lambda: slot.parked, what="parking")
        assert "crashed 3 times" in slot.park_reason
        assert "exit code 7" in slot.park_reason and "cannot start" in slot.park_reason
        assert stack.runner.stats()["parked"] == {"broken 1.0.0": slot.park_reason}
        await stack.publish("message_create", "111", content="x")
        assert stack.runner.counters["dropped_parked"] == 1
        await stack.runner.logs.flush()
        logs = await stack.platform.storage.records.list_logs(plugin_id="broken")
        assert any(log.message.startswith("plugin parked:") for log in logs)
        stderr = [log for log in logs if log.extra.get("stream") == "stderr"]
        assert [log.message for log in stderr] == ["cannot start"] * 3  # what the plugin printed is kept too


async def test_a_flood_is_held_by_back_pressure_and_nothing_is_lost(make_stack):
    async with make_stack(max_in_flight=4, queue_size=8, limits={"events_per_second": 100000}) as stack:
        bundle = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        await stack.install(bundle, "111")
        slot = stack.slot("counter")
        high_water = {"in_flight": 0, "waiting": 0}

        async def watch() -> None:
            while True:
                high_water["in_flight"] = max(high_water["in_flight"], len(slot.window.in_flight))
                high_water["waiting"] = max(high_water["waiting"], len(slot.window.waiting))
                await asyncio.sleep(0)

        sent: list[str] = []
        send = slot.window._send

        def record(delivery) -> bool:
            if send(delivery):
                sent.append(delivery.event["content"])
                return True
            return False

        slot.window._send = record
        watcher = asyncio.create_task(watch())
        total = 300
        await asyncio.gather(*(stack.publish("message_create", "111", content=f"slow {i}") for i in range(total)))
        assert stack.runner.router.held[slot] > 200  # most wait in the router for room, not in the window
        await stack.idle(timeout=60)
        watcher.cancel()
        assert high_water["in_flight"] == 4
        assert high_water["waiting"] <= 8
        assert sent == [f"slow {i}" for i in range(total)]  # held ones reach the worker in the order published
        assert not stack.runner.router.held
        scope = stack.runner.tenant("111", "counter").scope
        assert await stack.platform.storage.kv.get(scope, "count") == total
        assert stack.runner.counters["acked"] == total
        assert stack.runner.counters.get("events_dropped", 0) == 0


async def test_past_max_waiting_publishes_events_are_dropped_and_counted(make_stack):
    settings = {"max_in_flight": 1, "queue_size": 2, "max_waiting_publishes": 5}
    async with make_stack(limits={"events_per_second": 100000}, **settings) as stack:
        bundle = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        await stack.install(bundle, "111")
        for i in range(20):  # 1 in flight, 2 waiting, 5 held by the router, 12 dropped
            await stack.publish("message_create", "111", content=f"slow {i}")
        assert stack.runner.router.held[stack.slot("counter")] == 5
        await stack.idle(timeout=60)
        scope = stack.runner.tenant("111", "counter").scope
        assert await stack.platform.storage.kv.get(scope, "count") == 8
        await stack.runner.logs.flush()
        assert await stack.platform.storage.metrics.total(scope, "maidcore.events_dropped_queue_full", "1h") == 12.0


async def test_events_over_the_rate_limit_are_dropped_and_counted(make_stack):
    async with make_stack(limits={"events_per_second": 5}) as stack:
        bundle = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        await stack.install(bundle, "111")
        for i in range(8):
            await stack.publish("message_create", "111", content=f"n{i}")
        await stack.idle()
        stats = stack.runner.stats()
        assert stats["rate_limited"] == {"counter@111": {"dropped": 3, "delayed": 0}}
        scope = stack.runner.tenant("111", "counter").scope
        assert await stack.platform.storage.kv.get(scope, "count") == 5
        await stack.runner.logs.flush()
        assert await stack.platform.storage.metrics.total(scope, "maidcore.events_dropped", "1h") == 3.0


async def test_events_over_the_rate_limit_can_be_delayed_instead(make_stack):
    limits = {"events_per_second": 5, "over_limit_events": "delay", "delay_bound_seconds": 5.0}
    async with make_stack(limits=limits) as stack:
        bundle = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        await stack.install(bundle, "111")
        for i in range(8):
            await stack.publish("message_create", "111", content=f"n{i}")
        await stack.idle()
        scope = stack.runner.tenant("111", "counter").scope
        assert await stack.platform.storage.kv.get(scope, "count") == 8
        assert stack.runner.stats()["rate_limited"]["counter@111"] == {"dropped": 0, "delayed": 3}


async def test_routing_follows_registered_event_types_and_target_plugin(make_stack):
    async with make_stack() as stack:
        counter = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        other = stack.plugin("other", COUNTER.replace('"message_create"', '"member_join"'), capabilities=["storage:kv"])
        await stack.install(counter, "111")
        await stack.install(other, "111")
        await stack.install(counter, "222")
        await stack.publish("message_create", "111", content="a")
        await stack.publish("member_join", "111", content="b")
        await stack.publish("message_create", "111", target_plugin="other", content="c")
        await stack.publish("message_create", "333", content="no installs here")
        await stack.idle()
        kv, runner = stack.platform.storage.kv, stack.runner
        assert await kv.get(runner.tenant("111", "counter").scope, "count") == 1
        assert await kv.get(runner.tenant("111", "other").scope, "count") == 1
        assert await kv.get(runner.tenant("222", "counter").scope, "count") is None
        assert runner.counters["acked"] == 2
        # One worker per plugin version serves both servers (pool mode).
        assert len([s for s in runner.slots.values() if s.plugin_id == "counter"]) == 1


async def test_a_handler_exception_is_recorded_acked_and_not_retried(make_stack):
    async with make_stack() as stack:
        await stack.install(stack.plugin("counter", COUNTER, capabilities=["storage:kv"]), "111")
        await stack.publish("message_create", "111", content="raise")
        await stack.idle()
        await stack.wait_for(lambda: any("Event handler error" in m for _, _, m in stack.logs), what="the traceback")
        counters = stack.runner.stats()["counters"]
        assert counters["failed"] == 1 and counters["acked"] == 1 and counters.get("redelivered", 0) == 0
        assert stack.slot("counter").restarts == 0
        assert await stack.platform.storage.records.list_dead_letters() == []


CHANNEL_WATCHER = """
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("channel_create")
def created(ctx, event):
    ctx.kv.set("created", {"name": event["name"], "channel_type": event["type"]})


if __name__ == "__main__":
    plugin.run()
"""


async def test_channel_events_route_by_the_named_type_not_the_channel_type_field(make_stack):
    # Channel payloads hold the channel's type (an int) in "type"; the router must use the event type
    # the source names, and the plugin still sees the channel type untouched.
    async with make_stack() as stack:
        await stack.install(stack.plugin("watcher", CHANNEL_WATCHER, capabilities=["storage:kv"]), "111")
        await stack.publish("channel_create", "111", name="voice-lounge", type=2)
        await stack.idle()
        scope = stack.runner.tenant("111", "watcher").scope
        assert await stack.platform.storage.kv.get(scope, "created") == {"name": "voice-lounge", "channel_type": 2}
        assert stack.runner.counters["acked"] == 1
        assert stack.runner.counters.get("invalid_events", 0) == 0
