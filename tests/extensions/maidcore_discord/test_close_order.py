"""A graceful stop lets plugins finish their Discord calls: the source's HTTP side outlives the runner's drain.

The real platform on the emulator (its local mode), the process sandbox, and a plugin
whose handler is still working when the platform closes: it waits, then sends a
message, edits it and reacts. The event source stops its intake first and closes
only after the runner drained, so every call reaches the emulator, nothing is
logged at ERROR (before, each call failed with ``RuntimeError: Session is closed``)
and the event is acked, not dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import pytest
from maidcore_discord.emulator import BOT_USER_ID, DEMO_GUILD_ID

from maidcore import installs
from maidcore.platform import Platform
from maidcore.settings import Settings, load_settings

from .conftest import BOB

SLOW = """
import time

from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def slow(ctx, event):
    if event.get("content") != "!slow":
        return
    time.sleep(1.0)  # the platform is told to stop meanwhile
    channel = event["channel_id"]
    sent = ctx.discord.send_message(channel_id=channel, content="still here")
    ctx.discord.edit_message(channel_id=channel, message_id=sent["message_id"], content="finished")
    ctx.discord.add_reaction(channel_id=channel, message_id=sent["message_id"], emoji="\N{WAVING HAND SIGN}")


if __name__ == "__main__":
    plugin.run()
"""


def settings_for(data_dir: Path) -> Settings:
    base = load_settings()
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "sandbox_backend": "process",
            "storage_backend": "sqlmodel",
            "rate_limiter": "limits",
            "event_source": "discord",
            "runner": base.runner.model_copy(update={"shutdown_grace_seconds": 15.0, "idle_stop_seconds": 0}),
            "process": base.process.model_copy(update={"python": sys.executable}),
            "storage": base.storage.model_copy(update={"database_url": None, "ephemeral_url": None}),
            "limits": base.limits.model_copy(update={"storage_uri": "memory://"}),
            "discord": base.discord.model_copy(update={"token": None, "emulator_port": 0, "demo": True}),
        }
    )


def write_bundle(root: Path) -> Path:
    bundle = root / "slow_sender"
    bundle.mkdir(parents=True)
    manifest = {
        "id": "slow_sender",
        "name": "Slow sender",
        "version": "1.0.0",
        "description": "Sends a message a second after the event, whatever happens meanwhile.",
        "capabilities_required": [
            "discord:send_message",
            "discord:edit_message",
            "discord:add_reaction",
            "events:message_content",
        ],
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (bundle / "__main__.py").write_text(SLOW, encoding="utf-8")
    return bundle


async def wait_until(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.asyncio
async def test_a_handler_mid_way_when_the_platform_stops_still_sends_edits_and_reacts(tmp_path, caplog):
    platform = Platform(settings_for(tmp_path / "data"))
    await platform.start()
    try:
        emulator = platform.events.emulator
        runner = platform.runner
        settled: list[bool] = []
        runner.settled_observers.append(lambda slot, delivery, acked: settled.append(acked))
        await installs.install(platform, write_bundle(tmp_path / "bundles"), DEMO_GUILD_ID, installs.ALL)
        await wait_until(lambda: all(s.registered for s in runner.slots.values()) and runner.slots, what="registered")
        general = emulator.channel_named(DEMO_GUILD_ID, "general")
        emulator.post_message(general, BOB, "!slow")
        await wait_until(
            lambda: any(len(s.window.in_flight) for s in runner.slots.values()), what="the handler running"
        )
    finally:
        caplog.set_level(logging.WARNING)
        caplog.clear()
        await platform.close()

    mine = [m for m in emulator.state.messages[general].values() if m["author"]["id"] == BOT_USER_ID]
    assert [m["content"] for m in mine] == ["finished"], mine
    assert [r["emoji"]["name"] for r in mine[0].get("reactions", [])] == ["\N{WAVING HAND SIGN}"], mine[0]
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    assert settled == [True]  # acked, not dead-lettered
