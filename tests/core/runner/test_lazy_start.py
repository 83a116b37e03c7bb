"""A node restart starts no worker for code that registered before: the first event, tick or call does.

End to end on the real platform (process backend, PostgreSQL): the registration each version's
worker announced is stored by code digest; a restart loads every install without a process,
routes by the remembered registration, fires a schedule of a plugin that is not running (its
worker starts for the tick), and starts a version that never registered once, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from maidcore.runner.registrations import Registration
from maidcore.runner.worker import SlotState

GREETER = """
from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def greet(ctx, event):
    ctx.discord.send_message(channel_id=event["channel_id"], content="hi " + event["content"])


if __name__ == "__main__":
    plugin.run()
"""

TICKER = """
from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.schedule(4)
def tick(ctx):
    ctx.kv.increment("ticks")


if __name__ == "__main__":
    plugin.run()
"""

# speaks the protocol with no SDK and never sends plugin.register (as the reference 0.5.x lines)
SILENT = """
import json
import sys

for line in sys.stdin:
    message = json.loads(line)
    if message.get("id") is not None and message.get("method"):
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {}}), flush=True)
    elif str(message.get("method", "")).startswith("event.") and message.get("params", {}).get("event_id"):
        ack = {"jsonrpc": "2.0", "method": "event.ack", "params": {"event_id": message["params"]["event_id"]}}
        print(json.dumps(ack), flush=True)
"""

RUNNER = {"min_schedule_interval_seconds": 1, "idle_stop_seconds": 600}


def worker_dirs() -> set[str]:
    """The working directory of every process below this one: a process worker runs in its bundle directory."""
    found: set[str] = set()
    stack = [os.getpid()]
    while stack:
        parent = stack.pop()
        for task in os.listdir(f"/proc/{parent}/task"):
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                stack.append(child)
                with contextlib.suppress(OSError):
                    found.add(os.readlink(f"/proc/{child}/cwd"))
    return found


async def test_a_restart_starts_workers_only_when_work_arrives(make_stack):
    async with make_stack(**RUNNER) as stack:
        greeter = await stack.install(stack.plugin("greeter", GREETER, capabilities=["discord:send_message"]), "111")
        ticker = await stack.install(stack.plugin("ticker", TICKER, capabilities=["storage:kv"]), "222")
        await stack.install(stack.plugin("silent", SILENT), "333", wait_register=False)
        await stack.wait_for(lambda: stack.slot("silent").ready, what="the silent worker booted")
        records = stack.platform.storage.records
        digests = {p: stack.slot(p).info.code_digest for p in ("greeter", "ticker", "silent")}
        stored = await records.get_registrations(list(digests.values()))
        assert set(stored) == {digests["greeter"], digests["ticker"]}  # silent never registered
        assert Registration.parse(stored[digests["ticker"]]).schedules == {"tick": 4}
        assert "message_create" in Registration.parse(stored[digests["greeter"]]).event_types
        # a stale record for the greeter's code: its next real start must replace it
        stale = Registration.parse({**stored[digests["greeter"]], "sdk_version": "0.0.1", "dashboards": ["old"]})
        await records.put_registration(digests["greeter"], stale.to_params())

    async with make_stack(**RUNNER) as stack:  # the node again: same database, same data directory
        runner, backend = stack.runner, stack.platform.sandbox
        greeter_slot, ticker_slot, silent_slot = (stack.slot(p) for p in ("greeter", "ticker", "silent"))
        dirs = worker_dirs()
        assert str(greeter_slot.info.bundle_dir) not in dirs and str(ticker_slot.info.bundle_dir) not in dirs
        assert greeter_slot.state is SlotState.IDLE and greeter_slot.worker is None
        assert ticker_slot.state is SlotState.IDLE and ticker_slot.worker is None
        assert greeter_slot.registration == stale and ticker_slot.registered  # known without a worker
        assert greeter_slot.handles("message_create") and not greeter_slot.handles("typing_start")  # routing too
        # the never-registered version started once at load, as before
        await stack.wait_for(lambda: silent_slot.ready, what="the never-registered version's worker")
        assert str(silent_slot.info.bundle_dir) in worker_dirs()
        assert len(backend._workers) == 1

        # an event starts the greeter's worker; it answers, and its real registration replaces the stale one
        await stack.publish("message_create", "111", channel_id="900", content="there")
        await stack.wait_for(lambda: stack.discord.methods("discord.send_message"), what="the greeter's answer")
        assert stack.discord.methods("discord.send_message")[0]["content"] == "hi there"
        assert str(greeter_slot.info.bundle_dir) in worker_dirs()
        assert ticker_slot.worker is None  # nothing for the ticker yet

        async def stored_greeter() -> Registration:
            params = await stack.platform.storage.records.get_registrations([greeter_slot.info.code_digest])
            return Registration.parse(params[greeter_slot.info.code_digest])

        real = await stack.wait_for(
            lambda: greeter_slot.registration if greeter_slot.registration != stale else None, what="re-registration"
        )
        assert real.sdk_version != "0.0.1" and real.dashboards == frozenset()
        for _ in range(100):
            if await stored_greeter() == real:
                break
            await asyncio.sleep(0.05)
        assert await stored_greeter() == real

        # the ticker's schedule fires though it runs nowhere: its worker starts for the tick
        scope = runner.tenant("222", ticker.plugin_id).scope
        kv = stack.platform.storage.kv
        for _ in range(400):
            if (await kv.get(scope, "ticks") or 0) >= 1:
                break
            await asyncio.sleep(0.05)
        assert (await kv.get(scope, "ticks") or 0) >= 1
        assert str(ticker_slot.info.bundle_dir) in worker_dirs()
        assert greeter.plugin_id == "greeter" and ticker_slot.stats()["restarts"] == 0
