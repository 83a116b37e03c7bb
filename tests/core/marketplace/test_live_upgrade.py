"""Upgrades take effect live on a running runner: real SDK workers (process backend), real storage.

Only Discord is a recording double (``CannedDiscord``, registered as an ordinary extension).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from mmo_maid_sdk.testing import make_event

from maidcore.marketplace import publishing, review, upgrades
from maidcore.records import VersionStatus
from maidcore.replay.canned import CannedDiscord

SERVER = "555555555555555555"
REACT = 'ctx.discord.add_reaction(channel_id=event["channel_id"], message_id=event["message_id"], emoji="👍")'

CODE = """\
from mmo_maid_sdk import Plugin

VERSION = "{version}"
plugin = Plugin()


@plugin.on_event("message_create")
def answer(ctx, event):
    if event.get("author_bot"):
        return
    ctx.discord.send_message(channel_id=event["channel_id"], content="version " + VERSION)
    {extra}


if __name__ == "__main__":
    plugin.run()
"""


def bundle(root: Path, version: str, caps: list[str], extra: str = "") -> Path:
    path = root / version
    path.mkdir(parents=True)
    (path / "__main__.py").write_text(CODE.format(version=version, extra=extra or "return None"))
    manifest = {
        "id": "versioned",
        "name": "Versioned",
        "version": version,
        "description": "Says which version answers.",
        "capabilities_required": caps,
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


async def answer_after(platform, discord: CannedDiscord, text: str, timeout: float = 20.0) -> list[str]:
    """Send a message event and wait for the plugin's reply; returns every reply so far."""
    before = len(discord.methods("discord.send_message"))
    await platform.runner.router.publish(
        make_event("message_create", guild_id=SERVER, content=text), event_type="message_create"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = [c["content"] for c in discord.methods("discord.send_message")]
        if len(replies) > before:
            return replies[before:]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no reply to {text!r}; runner: {platform.runner.stats()}")


async def test_upgrades_reach_a_running_server_live(tmp_path, maidcore_platform, canned_discord):
    discord = canned_discord
    async with maidcore_platform(runner={"shutdown_grace_seconds": 2.0}) as platform:

        async def ship(version, caps, extra=""):
            record = await review.submit(platform, "jane", bundle(tmp_path / "src", version, caps, extra))
            if record.status == VersionStatus.NEEDS_HUMAN_REVIEW:
                record = await review.human_review(
                    platform, "versioned", version, reviewer="rita", approve=True, note=""
                )
            assert record.status == VersionStatus.APPROVED, record.findings
            return await publishing.publish(platform, "versioned", version)

        await ship("1.0.0", ["discord:send_message"])
        await upgrades.install_published(platform, SERVER, "versioned", ["discord:send_message"])
        assert await answer_after(platform, discord, "hello") == ["version 1.0.0"]

        # nothing new needed: the server moves at once, without a reinstall
        result = await ship("1.0.1", ["discord:send_message"])
        assert result.upgraded == [SERVER]
        assert await answer_after(platform, discord, "hello") == ["version 1.0.1"]

        # a new capability: the old version keeps answering until the admin grants it
        result = await ship(
            "1.1.0",
            ["discord:send_message", "discord:add_reaction"],
            extra=REACT,
        )
        assert result.pending == [SERVER]
        assert await answer_after(platform, discord, "hello") == ["version 1.0.1"]
        assert discord.methods("discord.add_reaction") == []

        await upgrades.grant(platform, SERVER, "versioned", ["discord:add_reaction"])
        assert await answer_after(platform, discord, "hello") == ["version 1.1.0"]
        deadline = time.monotonic() + 10
        while not discord.methods("discord.add_reaction") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert discord.methods("discord.add_reaction")[0]["emoji"] == "👍"
