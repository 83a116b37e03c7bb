"""Upgrades take effect live on a running runner: real SDK workers (process backend), real storage.

Only Discord is a recording double (the runner's ``CannedDiscord``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from mmo_maid_sdk.testing import make_event

from maidcore.marketplace import publishing, review, upgrades
from maidcore.records import VersionStatus
from maidcore.runner import Runner
from maidcore.runner.replay import CannedDiscord, LocalLayers
from maidcore.settings import Settings

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


def settings(tmp_path: Path) -> Settings:
    base = Settings()
    return base.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "sandbox_backend": "process",
            "install_poll_seconds": 0,
            "process": base.process.model_copy(update={"python": sys.executable}),
            "storage": base.storage.model_copy(update={"database_url": None, "ephemeral_url": None}),
            "limits": base.limits.model_copy(update={"storage_uri": "memory://"}),
            "runner": base.runner.model_copy(update={"shutdown_grace_seconds": 2.0}),
        }
    )


async def answer_after(platform, discord: CannedDiscord, text: str, timeout: float = 20.0) -> list[str]:
    """Send a message event and wait for the plugin's reply; returns every reply so far."""
    before = len(discord.methods("discord.send_message"))
    await platform.runner.publish(
        make_event("message_create", guild_id=SERVER, content=text), event_type="message_create"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = [c["content"] for c in discord.methods("discord.send_message")]
        if len(replies) > before:
            return replies[before:]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no reply to {text!r}; runner: {platform.runner.stats()}")


async def test_upgrades_reach_a_running_server_live(tmp_path):
    discord = CannedDiscord()
    async with LocalLayers(settings(tmp_path), discord) as platform:
        platform.review_checks = platform.extensions.review_checks()
        platform.runner = Runner(platform)
        await platform.runner.start()

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
