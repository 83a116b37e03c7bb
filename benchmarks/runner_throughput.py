"""Event path throughput and latency: router → plugin handler (process backend) → one host call → ack.

Baseline, measured in the same run: the same handler function called in-process
(in a thread, as the SDK runs handlers), its one call going straight to the same
storage layer, no sandbox and no protocol. Prints events/s and p50/p99 latency.

    .venv/bin/python benchmarks/runner_throughput.py [--events 5000] [--latency-events 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from maidcore import installs
from maidcore.testing.platform import running_platform

HANDLER = textwrap.dedent(
    """
    def handle(ctx, event):
        ctx.ephemeral.counter("events:" + event["channel_id"], 60)
    """
)

PLUGIN = (
    "from mmo_maid_sdk import Plugin\n\nplugin = Plugin()\n"
    + HANDLER
    + '\nplugin.on_event("message_create")(handle)\n\nif __name__ == "__main__":\n    plugin.run()\n'
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class InProcessContext:
    """The baseline's ctx: ``ctx.ephemeral.counter`` runs the storage coroutine on the loop and waits."""

    def __init__(self, loop: asyncio.AbstractEventLoop, storage, scope) -> None:
        self.ephemeral = self
        self._loop, self._storage, self._scope = loop, storage, scope

    def counter(self, key: str, window_seconds: int = 60) -> int:
        coro = self._storage.ephemeral.counter(self._scope, key, window_seconds)
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()


async def main(events: int, latency_events: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="maidcore-bench-"))
    bundle = tmp / "bench"
    bundle.mkdir()
    (bundle / "__main__.py").write_text(PLUGIN, encoding="utf-8")
    (bundle / "manifest.json").write_text(
        '{"id": "bench", "name": "Bench", "version": "1.0.0", "description": "Benchmark plugin."}', encoding="utf-8"
    )
    from mmo_maid_sdk.testing import make_event

    limits = {"events_per_second": 10**9}
    runner_settings = {"max_in_flight": 64, "queue_size": 1024}
    async with running_platform(tmp / "data", limits=limits, runner=runner_settings) as platform:
        runner = platform.runner
        await installs.install(platform, bundle, "1", installs.ALL)
        slot = next(iter(runner.slots.values()))
        while slot.registration is None:
            await asyncio.sleep(0.01)
        tenant = runner.tenant("1", "bench")

        acked: dict[str, asyncio.Future] = {}
        by_event: dict[int, asyncio.Future] = {}
        runner.settled_observers.append(lambda s, d, ok: acked.pop(d.event_id).set_result(time.perf_counter()))
        original = runner.router.delivery

        def tracked(tenant, event, event_type):
            delivery = original(tenant, event, event_type)
            acked[delivery.event_id] = asyncio.get_running_loop().create_future()
            by_event[id(event)] = acked[delivery.event_id]
            return delivery

        runner.router.delivery = tracked

        async def one(i: int) -> float:
            event = make_event("message_create", guild_id="1", channel_id=str(i % 7))
            start = time.perf_counter()
            await runner.router.publish(event, event_type="message_create")
            done = await by_event.pop(id(event))
            return done - start

        for i in range(200):  # warm up
            await one(i)

        # latency: one event at a time
        worker_latency = [await one(i) for i in range(latency_events)]

        # throughput: a burst through one worker
        start = time.perf_counter()
        futures = []
        for i in range(events):
            event = make_event("message_create", guild_id="1", channel_id=str(i % 7))
            await runner.router.publish(event, event_type="message_create")
            futures.append(by_event.pop(id(event)))
        await asyncio.gather(*futures)
        worker_rate = events / (time.perf_counter() - start)

        # baseline: the same handler, in-process, same storage layer
        namespace: dict = {}
        exec(HANDLER, namespace)
        handle = namespace["handle"]
        loop = asyncio.get_running_loop()
        ctx = InProcessContext(loop, platform.storage, tenant.scope)
        pool = ThreadPoolExecutor(max_workers=4)

        def timed(i: int) -> float:
            event = make_event("message_create", guild_id="1", channel_id=str(i % 7))
            t0 = time.perf_counter()
            handle(ctx, event)
            return time.perf_counter() - t0

        base_latency = [await loop.run_in_executor(pool, timed, i) for i in range(latency_events)]
        start = time.perf_counter()
        await asyncio.gather(*(loop.run_in_executor(pool, timed, i) for i in range(events)))
        base_rate = events / (time.perf_counter() - start)
        pool.shutdown()
        stats = runner.stats()

    ms = 1000.0
    p50, p99 = percentile(worker_latency, 0.5) * ms, percentile(worker_latency, 0.99) * ms
    b50, b99 = percentile(base_latency, 0.5) * ms, percentile(base_latency, 0.99) * ms
    print("runner throughput: router -> process worker (real SDK) -> ephemeral.counter -> ack")
    print(f"  events: {events} burst, {latency_events} one at a time; host calls served: {stats['host_calls']}")
    print(f"  through one worker : {worker_rate:8.0f} events/s   p50 {p50:.3f} ms   p99 {p99:.3f} ms")
    print(f"  in-process baseline: {base_rate:8.0f} events/s   p50 {b50:.3f} ms   p99 {b99:.3f} ms")
    print(
        f"  overhead           : p50 +{p50 - b50:.3f} ms, p99 +{p99 - b99:.3f} ms; "
        f"rate ratio {worker_rate / base_rate:.2f}"
    )
    print(
        f"  mean latency       : worker {statistics.mean(worker_latency) * ms:.3f} ms, "
        f"baseline {statistics.mean(base_latency) * ms:.3f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--latency-events", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.latency_events))
