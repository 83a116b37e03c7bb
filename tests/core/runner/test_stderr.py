"""A worker's stderr: the lines stored per window and the rate they are read at are runner settings."""

from __future__ import annotations

import time

from maidcore.runner.lograte import BURST_SECONDS

CHATTY = """
import sys
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def chatter(ctx, event):
    for n in range(int(event["content"])):
        print("line", n, file=sys.stderr, flush=True)
    ctx.log("done")


if __name__ == "__main__":
    plugin.run()
"""


async def test_a_lowered_setting_caps_the_stderr_lines_stored_and_the_rate_they_are_read(make_stack):
    async with make_stack(stderr_lines_stored=5, stderr_lines_per_second=20) as stack:
        read: list[tuple[float, str]] = []
        stack.runner.stderr_observers.append(lambda slot, text: read.append((time.monotonic(), text)))
        await stack.install(stack.plugin("chatty", CHATTY), "111")
        await stack.publish("message_create", "111", content="60")

        def lines() -> list[tuple[float, str]]:  # the handler's own lines (boot warnings are read too)
            return [(at, text) for at, text in read if text.startswith("line ")]

        await stack.wait_for(lambda: len(lines()) >= 60, what="60 stderr lines read")
        await stack.runner.logs.flush()
        logs = await stack.platform.storage.records.list_logs(plugin_id="chatty")
        stored = [log.message for log in logs if log.extra.get("stream") == "stderr"]
        assert len(stored) == 5 and len(read) > 5  # the first 5 of this 10 s window (boot warnings count too)
        assert [text for _, text in lines()] == [f"line {n}" for n in range(60)]  # all read, in order, none lost
        # read at 20 per second after a burst of 2 s worth: 60 lines take at least a second
        rate, burst = 20, 20 * BURST_SECONDS
        assert lines()[-1][0] - lines()[0][0] >= (60 - burst - 1) / rate
