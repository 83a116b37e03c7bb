"""What each hostile plugin costs its neighbours and the host: ping latency, host CPU and memory, vs. no attacker.

One real platform (the hostile suite's: ``tests/hostile/conftest.running_arena``,
the recorder as its event source) runs the well-behaved plugin on a server of its
own and beside each attacker on the attacker's server. For every attack in turn
(the plugins of ``tests/hostile/plugins.py``) the benchmark pings the good plugin,
one message at a time, on both servers for ``--seconds``, while the attacker gets
an ``attack`` message every second (so a restarted worker attacks again), and
measures the host process (``tests/hostile/hostuse.py``: this process's CPU time
per wall second and its peak resident size; workers are child processes or
containers and are not counted). The baseline is the same pinging with no
attacker, measured first in the same run (and once more at the end). Each
attacker is uninstalled after its window.

    .venv/bin/python benchmarks/hostile_bounds.py [--backend process|docker] [--seconds 8] [--attacks deaf,stuck]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from yourbot_sdk.testing import make_event

from maidcore.installs import install, uninstall
from tests.hostile.conftest import GOOD_ID, running_arena
from tests.hostile.hostuse import HostUse

#: attack -> what it does (the plugin is ``hostile_<attack>`` in tests/hostile/plugins.py)
ATTACKS = {
    "deaf": "stops reading its stdin while asking for 60 kB values (outgoing buffer)",
    "deepnest": "one protocol line nested 200,000 deep",
    "badbytes": "invalid UTF-8, NUL runs and malformed JSON-RPC on the protocol stream",
    "garbageflood": "non-protocol lines on the protocol stream, as fast as it can",
    "stderrflood": "stderr lines, as fast as it can",
    "stuck": "every handler hangs: its window and queue fill",
    "inflight": "100 concurrent Discord calls that take 3 s each",
    "logflood": "3000 plugin.log lines at once",
}
RUNNER = {"boot_ready_seconds": 1.0}  # raw-protocol attackers never answer host.ping: do not hold them 5 s
LIMITS = {"discord_actions_per_minute": 10**6}  # the pings are the good plugin's Discord actions


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Pinger:
    """Sends the good plugin one message at a time and times its answer (the host API's send_message)."""

    def __init__(self, arena) -> None:
        self.arena = arena
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Future[float]] = {}
        arena.platform.runner.hostapi.observers.append(self._observe)

    def _observe(self, method, params, server_id, result, error) -> None:
        content = (params or {}).get("content", "")
        if method == "discord.send_message" and content.startswith("good "):
            future = self.waiting.pop(content.removeprefix("good "), None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())

    async def ping(self, server: str, timeout: float = 30.0) -> float:
        message_id = f"ping{next(self.ids)}"
        future = self.waiting[message_id] = asyncio.get_running_loop().create_future()
        event = make_event("message_create", guild_id=server, message_id=message_id, channel_id="42", content="ping")
        start = time.perf_counter()
        await self.arena.platform.runner.router.publish(event, event_type="message_create")
        try:
            return await asyncio.wait_for(future, timeout) - start
        except TimeoutError:
            self.waiting.pop(message_id, None)
            return timeout  # counted as the timeout: a lost answer must show in p99


async def window(pinger: Pinger, servers: list[str], seconds: float, attacker: str | None, interval: float):
    """Ping the good plugin on each server in turn for ``seconds``; poke ``attacker``'s server every second."""
    latencies: dict[str, list[float]] = {server: [] for server in servers}
    use = HostUse()

    async def poke() -> None:
        while True:
            event = make_event("message_create", guild_id=attacker, channel_id="42", content="attack")
            await pinger.arena.platform.runner.router.publish(event, event_type="message_create")
            await asyncio.sleep(1.0)

    async with use.watching():
        poker = asyncio.create_task(poke()) if attacker else None
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                for server in servers:
                    latencies[server].append(await pinger.ping(server))
                await asyncio.sleep(interval)
        finally:
            if poker:
                poker.cancel()
    return latencies, use


def row(name: str, latencies: dict[str, list[float]], use: HostUse, base=None) -> str:
    cells = []
    for values in latencies.values():
        cells += [percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000]
    text = f"  {name:<13}" + "".join(f"{c:9.1f}" for c in cells)
    text += f"{use.cpu_share * 100:8.1f}%{use.rss_growth / 2**20:9.1f}"
    if base is not None:
        base_cells, base_use = base
        ratios = [c / b if b else float("nan") for c, b in zip(cells, base_cells, strict=True)]
        ratios.append(use.cpu_share / base_use.cpu_share if base_use.cpu_share else float("nan"))
        text += "   " + " ".join(f"{r:5.2f}x" for r in ratios)
    return text, cells


async def main(backend: str, seconds: float, attacks: list[str], interval: float) -> None:
    if backend == "docker":
        import docker

        from tests.extensions.maidcore_docker.support import ensure_test_image

        ensure_test_image(docker.from_env())
    root = Path(tempfile.mkdtemp(prefix="maidcore-bench-hostile-"))
    load_before = os.getloadavg()
    async with running_arena(root, backend, runner=RUNNER, limits=LIMITS) as arena:
        arena.recorder.stalled["hostile_inflight"] = 3.0  # its Discord is slow: its calls stay in flight
        neighbour = "800001"
        await install(arena.platform, arena.good_bundle, neighbour, grants="all")
        pinger = Pinger(arena)
        for _ in range(20):  # warm up: the good worker is running and answers
            await pinger.ping(neighbour)
        print(f"hostile bounds: the good plugin's answers and the host process's cost per attack ({backend} backend)")
        print(f"  {seconds:g} s per window; one ping per server every {interval * 1000:g} ms; host CPU is this")
        print("  process's CPU time per wall second (workers not counted); RSS growth is its peak over the window")
        head = "  other server  same server   host   RSS"
        print(f"  {'':<13}{head}")
        print(
            f"  {'attack':<13}{'p50 ms':>9}{'p99 ms':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU':>9}{'+MiB':>9}"
            "   ratios vs baseline (p50, p99 other; p50, p99 same; CPU)"
        )
        # the baseline: the same pinging on a fresh server beside the good plugin alone
        quiet = "800002"
        await install(arena.platform, arena.good_bundle, quiet, grants="all")
        latencies, use = await window(pinger, [neighbour, quiet], seconds, None, interval)
        text, base_cells = row("baseline", latencies, use)
        print(text, flush=True)
        base = (base_cells, use)
        for name in attacks:
            plugin_id, server = await arena.arm(name)
            latencies, use = await window(pinger, [neighbour, server], seconds, server, interval)
            print(row(name, latencies, use, base)[0], flush=True)
            await uninstall(arena.platform, server, plugin_id)
            await asyncio.sleep(1.0)  # its worker stops before the next window
        latencies, use = await window(pinger, [neighbour, quiet], seconds, None, interval)
        print(row("baseline end", latencies, use, base)[0])
        good = arena.slot(GOOD_ID)
        print(
            f"  the good plugin's worker restarts: {good.restarts}; runner counters: {arena.platform.runner.counters}"
        )
    gc.collect()  # the workers' transports are closed while the loop still runs
    print(f"  load average before {load_before[0]:.2f} {load_before[1]:.2f}; after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["process", "docker"], default="process")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each window")
    parser.add_argument("--interval", type=float, default=0.05, help="pause between rounds of pings")
    parser.add_argument("--attacks", default=",".join(ATTACKS), help=f"comma-separated, of {', '.join(ATTACKS)}")
    args = parser.parse_args()
    chosen = [a for a in args.attacks.split(",") if a]
    unknown = [a for a in chosen if a not in ATTACKS]
    if unknown:
        parser.error(f"unknown attack(s) {', '.join(unknown)}; choose from {', '.join(ATTACKS)}")
    asyncio.run(main(args.backend, args.seconds, chosen, args.interval))
