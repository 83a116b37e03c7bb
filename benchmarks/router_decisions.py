"""Router fan-out decisions per second on one core: which installs get an event, the event rate limit, tenant fields.

Each event of a busy server is routed to every install that handles its type:
the router checks install state, the worker's registered event types, takes a
unit from the real ``limits`` rate limiter (memory storage) and builds the
delivery with its tenant fields (the capabilities that server approved). Queueing
into the worker is replaced by a counter, so the figure is the decision cost.
Baseline in the same run: a bare loop building the same deliveries, no checks.

    .venv/bin/python benchmarks/router_decisions.py [--events 20000] [--installs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from maidcore import installs as install_path
from maidcore.extensions import Extensions
from maidcore.hookspecs import hookimpl
from maidcore.runner.worker import Registration
from maidcore.testing.platform import running_platform


class IdleBackend:
    """A sandbox whose workers never start: the benchmark measures routing, not plugins."""

    name = "idle"

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def isolates(self) -> bool:
        return True

    async def prepare_version(self, *args) -> None: ...

    async def spawn(self, spec):
        await asyncio.Event().wait()


class IdleExtension:
    @hookimpl
    def register_sandbox_backends(self, register):
        register("idle", lambda context: IdleBackend())


async def main(events: int, installs: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="maidcore-bench-"))
    from mmo_maid_sdk.testing import make_event

    extensions = Extensions.load()
    extensions.register(IdleExtension(), name="idle")
    limits = {"events_per_second": 10**9}
    async with running_platform(tmp / "data", extensions=extensions, sandbox_backend="idle", limits=limits) as platform:
        runner = platform.runner
        for n in range(installs):
            bundle = tmp / f"plugin{n}"
            bundle.mkdir()
            (bundle / "__main__.py").write_text("", encoding="utf-8")
            manifest = {
                "id": f"plugin_{n}",
                "name": f"P{n}",
                "version": "1.0.0",
                "description": "Benchmark plugin.",
                "capabilities_required": ["storage:kv", "discord:send_message"],
            }
            (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            await install_path.install(platform, bundle, "1", install_path.ALL)
        queued = 0

        async def count(delivery) -> bool:
            nonlocal queued
            queued += 1
            return True

        for i, slot in enumerate(runner.slots.values()):
            # most plugins handle messages; every fifth only member joins (filtered by registration)
            types = ["member_join"] if i % 5 == 4 else ["message_create", "member_join"]
            slot.registration = Registration(event_types=frozenset(types))
            slot.submit = count  # type: ignore[method-assign]
        batch = [make_event("message_create", guild_id="1", channel_id=str(i % 50)) for i in range(events)]

        start = time.perf_counter()
        for event in batch:
            await runner.router.publish(event, event_type="message_create")
        elapsed = time.perf_counter() - start

        tenants = list(runner.tenants.of_server("1").values())
        start = time.perf_counter()
        built = 0
        for event in batch:
            for tenant in tenants:
                runner.router.delivery(tenant, event, "message_create")
                built += 1
        bare = time.perf_counter() - start
        for slot in runner.slots.values():  # workers never started: end their supervisors directly
            slot._task.cancel()
        runner.slots.clear()
        await runner.close()

    decisions = events * installs
    print(f"router decisions: {events} events x {installs} installs on one server, one core")
    print(
        f"  routed       : {decisions / elapsed:10.0f} decisions/s  ({events / elapsed:8.0f} events/s, "
        f"{queued} deliveries queued, {decisions - queued} filtered by event type)"
    )
    print(f"  bare baseline: {built / bare:10.0f} deliveries built/s with no checks")
    print(f"  cost per decision: {elapsed / decisions * 1e6:.2f} us (baseline {bare / built * 1e6:.2f} us)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--installs", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.installs))
