"""Plugin errors reach the serve log, at most a burst per plugin per window, then one summary line."""

from __future__ import annotations

import asyncio
import logging

FAILING = """
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def explode(ctx, event):
    raise ValueError("no such quiz: " + event["content"])


if __name__ == "__main__":
    plugin.run()
"""


async def test_plugin_errors_are_logged_rate_bounded_with_a_summary(make_stack, caplog):
    caplog.set_level(logging.ERROR, logger="maidcore.plugins")
    async with make_stack(error_log_burst=2, error_log_window_seconds=1.0) as stack:
        await stack.install(stack.plugin("failing", FAILING), "111")
        for n in range(5):
            await stack.publish("message_create", "111", content=f"q{n}")
        await stack.idle()
        await stack.wait_for(
            lambda: sum("ValueError" in m for _, level, m in stack.logs if level == "error") == 5, what="5 errors"
        )
        await asyncio.sleep(1.3)  # the window ends: the summary is written
    lines = [r.getMessage() for r in caplog.records if r.name == "maidcore.plugins"]
    shown = [line for line in lines if "ValueError: no such quiz" in line]
    assert len(shown) == 2, lines
    assert shown[0].startswith("plugin failing error on server 111: ")
    summaries = [line for line in lines if "more error lines" in line]
    assert summaries == [
        "plugin failing: 3 more error lines in 1s not shown here (see `maidcore logs failing --level error`)"
    ]
