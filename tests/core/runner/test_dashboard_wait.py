"""A host→plugin request (a dashboard widget) waits for a worker that is restarting after a crash.

The console's side (a cold start, a parked plugin) is ``tests/core/web/test_console_cold_dashboard.py``.
"""

from __future__ import annotations

from maidcore.runner.worker import SlotState

CRASH_ONCE = """
import os
import sys

MARK = {mark!r}
if not os.path.exists(MARK):  # the first start dies (a flaky dependency, an OOM kill); the restart boots
    open(MARK, "w").close()
    sys.exit(3)

from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_dashboard("hello")
def hello(ctx, params):
    return {{"server": ctx.server_id}}


if __name__ == "__main__":
    plugin.run()
"""


async def test_a_dashboard_asked_during_a_restart_backoff_gets_the_restarted_worker(make_stack, tmp_path):
    async with make_stack(restart_backoff_initial_seconds=1.0, restart_backoff_max_seconds=1.0) as stack:
        bundle = stack.plugin("crash_once", CRASH_ONCE.format(mark=str(tmp_path / "crashed-once")))
        await stack.install(bundle, "111", wait_register=False)
        slot = stack.slot("crash_once")
        await stack.wait_for(lambda: slot.state is SlotState.BACKOFF, what="the backoff after the first crash")
        answer = await stack.runner.call_dashboard("111", "crash_once", "hello")
        assert answer == {"server": "111"}
        assert slot.restarts == 1 and slot.state is SlotState.RUNNING


# speaks the protocol with no SDK, booting "on a thread of its own" for 2 s after host.boot and ignoring
# every request that arrives before (as the official SDKs do); it never registers
SLOW_BOOT = """
import json
import sys
import time

booted_at = None
for line in sys.stdin:
    message = json.loads(line)
    if message.get("method") == "host.boot":
        booted_at = time.monotonic() + 2.0
    elif message.get("id") is not None and message.get("method"):
        if booted_at is None or time.monotonic() < booted_at:
            continue  # overtook the boot: dropped, never answered
        result = {"booted": True} if message["method"] == "dashboard.hello" else {}
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
"""


async def test_a_dashboard_waits_for_an_sdk_that_boots_slower_than_boot_ready_seconds(make_stack):
    """Past ``boot_ready_seconds`` events go out anyway; a request is sent only once the SDK answered."""
    async with make_stack(boot_ready_seconds=0.5, call_timeout_seconds=3.0) as stack:
        await stack.install(stack.plugin("slow_boot", SLOW_BOOT), "111", wait_register=False)
        slot = stack.slot("slow_boot")
        await stack.wait_for(lambda: slot.ready, what="delivering anyway after boot_ready_seconds")
        assert not slot.booted  # ready by the timeout, not by an answer
        assert await stack.runner.call_dashboard("111", "slow_boot", "hello") == {"booted": True}
        assert slot.booted
