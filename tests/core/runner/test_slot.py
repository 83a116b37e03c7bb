"""A worker slot runs a real plugin worker with only its ``SlotServices``: no runner, no platform behind it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from maidcore_process.backend import ProcessBackend
from maidcore_process.settings import ProcessSettings
from mmo_maid_sdk.testing import make_event

from maidcore.runner.deliveries import Delivery, new_event_id
from maidcore.runner.tenants import VersionInfo
from maidcore.runner.worker import SlotServices, WorkerSlot
from maidcore.scope import Scope
from maidcore.settings import RunnerSettings
from tests.core.runner.conftest import write_plugin

LOGGER = """
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    ctx.log("got " + event["content"])


if __name__ == "__main__":
    plugin.run()
"""


async def eventually(predicate, timeout: float = 20.0):
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_a_slot_spawns_registers_delivers_and_reports_through_its_services(tmp_path: Path):
    bundle = write_plugin(tmp_path, "logger", LOGGER)
    backend = ProcessBackend(ProcessSettings(python=sys.executable))
    await backend.start()
    seen: dict[str, list] = {name: [] for name in ("registered", "settled", "stored", "logged", "counted")}
    services = SlotServices(
        settings=RunnerSettings(),
        spawn=backend.spawn,
        tenant=lambda server_id, plugin_id: None,
        serve=lambda slot, conn, message: None,
        registered=lambda slot: seen["registered"].append(sorted(slot.registration.event_types)),
        settled=lambda slot, delivery, acked: seen["settled"].append((delivery.event_id, acked)),
        dead_letter=lambda slot, delivery, reason, attempts: None,
        store_log=seen["stored"].append,
        logged=lambda slot, server, level, message: seen["logged"].append((server, level, message)),
        stderr=lambda slot, text: None,
        count=lambda name, n: seen["counted"].append((name, n)),
        background=lambda coro: asyncio.get_running_loop().create_task(coro),
    )
    info = VersionInfo("logger", "1.0.0", bundle, None, {}, frozenset(), frozenset(), ())
    slot = WorkerSlot(services, info)
    slot.start()
    try:
        await eventually(lambda: seen["registered"])
        assert seen["registered"] == [["message_create"]]
        event_id = new_event_id()
        fields = {"discord_srv_id": "111", "plugin_id": "logger", "version": "1.0.0", "capabilities": []}
        event = make_event("message_create", guild_id="111", content="hello")
        params = {"event_id": event_id, "event": event, "attempt": 1, **fields}
        await slot.submit(Delivery(event_id, Scope("111", "logger"), "1.0.0", "event.message_create", params, event))
        await eventually(lambda: seen["settled"])
        assert seen["settled"] == [(event_id, True)]
        assert ("111", "info", "got hello") in seen["logged"]  # attributed to the delivery's server
        assert ("111", "got hello") in [(entry.server_id, entry.message) for entry in seen["stored"]]
    finally:
        await slot.stop(2.0)
        await backend.close()


async def test_an_idle_worker_stops_and_the_next_event_starts_one_again(tmp_path: Path):
    bundle = write_plugin(tmp_path, "logger", LOGGER)
    backend = ProcessBackend(ProcessSettings(python=sys.executable))
    await backend.start()
    settled, logged, spawned = [], [], []

    async def spawn(spec):
        worker = await backend.spawn(spec)
        spawned.append(worker)
        return worker

    services = SlotServices(
        settings=RunnerSettings(idle_stop_seconds=0.3),
        spawn=spawn,
        tenant=lambda server_id, plugin_id: None,
        serve=lambda slot, conn, message: None,
        registered=lambda slot: None,
        settled=lambda slot, delivery, acked: settled.append((delivery.event_id, acked)),
        dead_letter=lambda slot, delivery, reason, attempts: None,
        store_log=lambda entry: None,
        logged=lambda slot, server, level, message: logged.append(message),
        stderr=lambda slot, text: None,
        count=lambda name, n: None,
        background=lambda coro: asyncio.get_running_loop().create_task(coro),
    )
    info = VersionInfo("logger", "1.0.0", bundle, None, {}, frozenset(), frozenset(), ())
    slot = WorkerSlot(services, info)

    async def deliver(content: str, *, fast: bool = False) -> str:
        event_id = new_event_id()
        fields = {"discord_srv_id": "111", "plugin_id": "logger", "version": "1.0.0", "capabilities": []}
        event = make_event("message_create", guild_id="111", content=content)
        params = {"event_id": event_id, "event": event, "attempt": 1, **fields}
        delivery = Delivery(event_id, Scope("111", "logger"), "1.0.0", "event.message_create", params, event)
        if fast:
            assert slot.offer(delivery) is True  # the router's path: queue without waiting
        else:
            await slot.submit(delivery)
        return event_id

    slot.start()
    try:
        first = await deliver("one")
        await eventually(lambda: (first, True) in settled)
        await eventually(lambda: slot.state.value == "idle" and slot.worker is None, timeout=10)
        assert spawned[0]._proc.returncode is not None  # nothing left running for an idle plugin
        second = await deliver("two")  # the next event brings a worker back
        await eventually(lambda: (second, True) in settled)
        assert "got two" in logged and len(spawned) == 2
        await eventually(lambda: slot.state.value == "idle" and slot.worker is None, timeout=10)
        third = await deliver("three", fast=True)  # offer wakes an idle slot as submit does
        await eventually(lambda: (third, True) in settled)
        stats = slot.stats()
        assert stats["idle_stops"] == 2 and stats["restarts"] == 0  # an idle stop is not a crash
    finally:
        await slot.stop(2.0)
        await backend.close()
