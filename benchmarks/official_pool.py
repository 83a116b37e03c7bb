"""One pool worker serving 10 servers: the official ``yourbot-sdk`` 0.10.1 wheel against our SDK, same run.

The same handler (one ``ephemeral.counter`` host call) on each SDK, installed on 10 servers of one
pool worker (process backend). Events go round-robin over the servers. Both stacks stay up and are
measured in alternating rounds, so both see the same machine load. Prints events/s for a burst and
p50/p99 latency one event at a time, for each SDK and as ratios (official / ours). The official
wheel gets full concurrency because every call it makes names its delivery (``_event_id``); before
that, a worker that did not register was held to one delivery at a time.

    .venv/bin/python benchmarks/official_pool.py [--events 5000] [--latency-events 1000] [--servers 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from maidcore import installs
from maidcore.platform import Platform
from maidcore.testing.platform import running_platform

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.official_sdks import NEWEST, official_site, store_on_site

PLUGIN = """
from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def handle(ctx, event):
    ctx.ephemeral.counter("events:" + event["channel_id"], 60)


plugin.run()
"""
MANIFEST = '{"id": "bench", "name": "Bench", "version": "1.0.0", "description": "Benchmark plugin."}'


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Stack:
    """A platform (``running_platform``) with the bench plugin installed on ``servers`` servers of one pool
    worker; ``site_dir`` runs it on the official wheel there."""

    def __init__(self, site_dir: Path | None, servers: int) -> None:
        self.site_dir = site_dir
        self.names = [str(1000 + n) for n in range(servers)]
        self.tmp = Path(tempfile.mkdtemp(prefix="maidcore-bench-"))
        self.context: AbstractAsyncContextManager[Platform] = running_platform(
            self.tmp / "data",
            storage={"database_url": "sqlite://"},
            limits={"events_per_second": 10**9},
            runner={"max_in_flight": 64, "queue_size": 1024},
        )
        self.by_event: dict[int, asyncio.Future] = {}
        self.pending: dict[str, asyncio.Future] = {}

    async def __aenter__(self) -> Stack:
        bundle = self.tmp / "bench"
        bundle.mkdir()
        (bundle / "__main__.py").write_text(PLUGIN, encoding="utf-8")
        (bundle / "manifest.json").write_text(MANIFEST, encoding="utf-8")
        platform = await self.context.__aenter__()
        runner = self.runner = platform.runner
        if self.site_dir is not None:
            await store_on_site(platform, bundle, self.site_dir)
        for server in self.names:
            await installs.install(platform, bundle, server, installs.ALL)
        self.slot = next(iter(runner.slots.values()))
        while not self.slot.ready:
            await asyncio.sleep(0.01)
        assert len(runner.slots) == 1, "one pool worker serves every server"
        runner.settled_observers.append(lambda s, d, ok: self.pending.pop(d.event_id).set_result(time.perf_counter()))
        original = runner.router.delivery

        def tracked(tenant, event, event_type):
            delivery = original(tenant, event, event_type)
            self.pending[delivery.event_id] = self.by_event[id(event)] = asyncio.get_running_loop().create_future()
            return delivery

        runner.router.delivery = tracked
        for i in range(300):  # warm up (and let the official worker show that it correlates its calls)
            await self.one(i)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.context.__aexit__(*exc)

    def event(self, i: int) -> dict:
        from yourbot_sdk.testing import make_event

        return make_event("message_create", guild_id=self.names[i % len(self.names)], channel_id=str(i % 7))

    async def one(self, i: int) -> float:
        e = self.event(i)
        start = time.perf_counter()
        await self.runner.router.publish(e, event_type="message_create")
        return await self.by_event.pop(id(e)) - start

    async def latency(self, n: int) -> list[float]:
        return [await self.one(i) for i in range(n)]

    async def burst(self, n: int) -> float:
        start = time.perf_counter()
        futures = []
        for i in range(n):
            e = self.event(i)
            await self.runner.router.publish(e, event_type="message_create")
            futures.append(self.by_event.pop(id(e)))
        await asyncio.gather(*futures)
        return n / (time.perf_counter() - start)


async def main(events: int, latency_events: int, servers: int, rounds: int) -> None:
    site = official_site(*NEWEST)
    rates: dict[str, list[float]] = {"ours": [], "official": []}
    latencies: dict[str, list[float]] = {"ours": [], "official": []}
    async with Stack(None, servers) as ours, Stack(site, servers) as official:
        stacks = {"ours": ours, "official": official}
        for _ in range(rounds):  # alternate, so both see the same machine load
            for name, stack in stacks.items():
                latencies[name] += await stack.latency(latency_events // rounds)
                rates[name].append(await stack.burst(events // rounds))
        errors = {name: stack.runner.stats()["host_call_errors"] for name, stack in stacks.items()}
        correlates = official.slot.attribution.correlates
    print(
        f"one pool worker, {servers} servers, round-robin; {rounds} alternating rounds of "
        f"{events // rounds} events burst + {latency_events // rounds} one at a time"
    )
    summary = {}
    for name, label in (("ours", "our SDK"), ("official", f"{NEWEST[0]} {NEWEST[1]}")):
        rate, lat = statistics.median(rates[name]), latencies[name]
        p50, p99 = percentile(lat, 0.5) * 1000, percentile(lat, 0.99) * 1000
        summary[name] = (rate, p50)
        print(
            f"  {label:20}: {rate:7.0f} events/s (median)   p50 {p50:.3f} ms   p99 {p99:.3f} ms"
            f"   host call errors {errors[name]}"
        )
    (o_rate, o_p50), (u_rate, u_p50) = summary["official"], summary["ours"]
    print(f"  official / ours     : events/s {o_rate / u_rate:.2f}   p50 {o_p50 / u_p50:.2f}   (goal: within 10%)")
    print(f"  the official worker correlated its calls (full concurrency): {correlates}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--latency-events", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.latency_events, args.servers, args.rounds))
