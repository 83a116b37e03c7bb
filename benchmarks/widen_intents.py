"""Widening the gateway intents under load: what a ping costs during the handover against steady state, in one run.

One emulator and one event source in this process; a ping plugin (the sink answers
``ping N`` with ``pong N`` through the source's actions). Pings are posted at a fixed
rate for a steady phase, then two plugins ask for wider intents and pings go on until
the old session has been closed for a while. Printed: pings posted, answered, lost and
answered twice; ping-to-pong latency p50/p99 in the steady phase (the baseline) and in
the widening window (from the request to 1 s after the switch), with their ratio; the
handover's figures (seconds until the new session was ready, seconds both delivered,
events each published, copies dropped) and the most events it remembered at once.

Usage: ``.venv/bin/python benchmarks/widen_intents.py [--rate 200] [--steady 3] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
from maidcore_discord.settings import DiscordSettings
from maidcore_discord.source import DiscordEventSource

from maidcore.layers import HandledEventTypes
from maidcore.scope import Scope

BOB = "900000000000000202"
STEPS = [
    frozenset({"interaction_create", "message_create"}),
    frozenset({"interaction_create", "message_create", "member_join"}),
    frozenset({"interaction_create", "message_create", "member_join", "reaction_add"}),
]


class PingPlugin:
    """A sink that answers pings through the source and notes when each answer landed."""

    def __init__(self) -> None:
        self.source: DiscordEventSource | None = None
        self.answered: dict[int, list[float]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()

    async def publish(self, event: dict[str, Any], **kw: Any) -> int:
        if (kw.get("event_type") or event["type"]) == "message_create" and event["content"].startswith("ping "):
            task = asyncio.create_task(self._answer(event))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return 1

    async def _answer(self, event: dict[str, Any]) -> None:
        assert self.source is not None
        n = int(event["content"].split()[1])
        params = {"channel_id": event["channel_id"], "content": f"pong {n}"}
        await self.source.call(Scope(DEMO_GUILD_ID, "ping"), "discord.send_message", params)
        self.answered.setdefault(n, []).append(time.monotonic())

    async def server_available(self, server_id: str) -> None:
        return None

    def message_created(self, scope: Scope, message_id: str) -> None:
        return None


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


async def round_(rate: float, steady: float) -> dict[str, Any]:
    async with Emulator("127.0.0.1", 0) as emu:
        handled = HandledEventTypes(STEPS[0])
        plugin = PingPlugin()
        src = DiscordEventSource(DiscordSettings(), emulator=emu, event_types=handled)
        await src.start(plugin, STEPS[0])
        plugin.source = src
        general = emu.channel_named(DEMO_GUILD_ID, "general")
        posted: dict[int, float] = {}
        stop = asyncio.Event()
        seen_peak = 0

        async def post() -> None:
            nonlocal seen_peak
            i, start = 0, time.monotonic()
            while not stop.is_set():
                posted[i] = time.monotonic()
                emu.post_message(general, BOB, f"ping {i}")
                i += 1
                handover = src.client.handover if src.client is not None else None
                if handover is not None:
                    seen_peak = max(seen_peak, len(handover.seen))
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))

        poster = asyncio.create_task(post())
        try:
            await asyncio.sleep(steady)
            asked = time.monotonic()
            handled.update(STEPS[1])
            await asyncio.sleep(0.05)
            handled.update(STEPS[2])
            while src.last_handover is None:
                await asyncio.sleep(0.05)
            switched = time.monotonic()
            await asyncio.sleep(2.0)
            stop.set()
            await poster
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (len(plugin.answered) < len(posted) or plugin.tasks):
                await asyncio.sleep(0.05)
        finally:
            await src.close()
        window = (asked, switched + 1.0)
        steady_lat = [plugin.answered[n][0] - t for n, t in posted.items() if t < asked and n in plugin.answered]
        widen_lat = [
            plugin.answered[n][0] - t for n, t in posted.items() if window[0] <= t <= window[1] and n in plugin.answered
        ]
        return {
            "posted": len(posted),
            "lost": sum(1 for n in posted if n not in plugin.answered),
            "twice": sum(1 for a in plugin.answered.values() if len(a) > 1),
            "identifies": emu.identifies,
            "steady": steady_lat,
            "widening": widen_lat,
            "handover": src.last_handover,
            "seen_peak": seen_peak,
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="pings per second")
    parser.add_argument("--steady", type=float, default=3.0, help="seconds of steady pinging before the widening")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for r in range(args.rounds):
        res = await round_(args.rate, args.steady)
        h = res["handover"] or {}
        s50, s99 = pct(res["steady"], 50), pct(res["steady"], 99)
        w50, w99 = pct(res["widening"], 50), pct(res["widening"], 99)
        print(
            f"round {r + 1}: {res['posted']} pings at {args.rate:g}/s: {res['lost']} lost, "
            f"{res['twice']} answered twice; IDENTIFYs {res['identifies']} (1 at start + 1 for two plugins)"
        )
        print(
            f"  ping->pong steady p50 {s50:.1f} ms p99 {s99:.1f} ms; widening p50 {w50:.1f} ms p99 {w99:.1f} ms "
            f"(x{w50 / s50:.2f} p50, x{w99 / s99:.2f} p99)"
        )
        print(
            f"  new session ready after {h.get('identify_seconds', 0):.2f}s, "
            f"both delivered {h.get('overlap_seconds', 0):.2f}s; "
            f"published from old {h.get('old')}, new {h.get('new')}, copies dropped {h.get('dropped')}; "
            f"most events remembered at once {res['seen_peak']}"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
