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
