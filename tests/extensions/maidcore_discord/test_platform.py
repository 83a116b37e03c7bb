"""The real platform on the emulator: runner, process sandbox and the ``ping_pong`` example, end to end."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from maidcore_discord.emulator import BOT_USER_ID, DEMO_GUILD_ID

from maidcore import installs
from maidcore.platform import Platform
from maidcore.settings import Settings, load_settings

from .conftest import BOB

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "ping_pong"


def platform_settings(data_dir: Path) -> Settings:
    base = load_settings()
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "sandbox_backend": "process",
            "storage_backend": "sqlmodel",
            "rate_limiter": "limits",
            "event_source": "discord",
            "process": base.process.model_copy(update={"python": sys.executable}),
            "storage": base.storage.model_copy(update={"database_url": None, "ephemeral_url": None}),
            "limits": base.limits.model_copy(update={"storage_uri": "memory://"}),
            "discord": base.discord.model_copy(update={"token": None, "emulator_port": 0, "demo": True}),
        }
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform(tmp_path_factory):
    async with Platform(platform_settings(tmp_path_factory.mktemp("platform") / "data")) as p:
        await installs.install(p, EXAMPLE, DEMO_GUILD_ID, installs.ALL)
        emulator = p.events.emulator
        await wait_until(lambda: any(c["name"] == "ping" for c in emulator.state.guilds[DEMO_GUILD_ID]["commands"]))
        yield p


async def wait_until(predicate, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def bot_message(emulator, channel_id, content):
    return next(
        (
            m
            for m in emulator.state.messages[channel_id].values()
            if m["author"]["id"] == BOT_USER_ID and m["content"] == content
        ),
        None,
    )


async def test_the_installed_plugins_command_is_registered_in_the_guild(platform):
    assert platform.local.name == "Discord emulator" and platform.local.url.startswith("http://127.0.0.1:")
    assert platform.command_sync.owner(DEMO_GUILD_ID, "ping") == "ping_pong"


async def test_ping_button_modal_round_trip_through_the_plugin(platform):
    emulator = platform.events.emulator
    general = emulator.channel_named(DEMO_GUILD_ID, "general")
    emulator.post_message(general, BOB, "!ping")
    pong = await wait_until(lambda: bot_message(emulator, general, "Pong!"))
    assert pong["components"][0]["components"][0]["custom_id"] == "pingpong:again"

    click = emulator.click(general, pong["id"], BOB, "pingpong:again")
    modal = await wait_until(lambda: emulator.state.modals.get(click["id"]))
    assert modal["title"] == "Feedback" and modal["custom_id"] == "pingpong:feedback"
    emulator.submit_modal(click["id"], {"comment": "lovely"})
    thanks = await wait_until(lambda: bot_message(emulator, general, "Thanks: lovely"))
    assert thanks["interaction_metadata"]["user"]["id"] == BOB


async def test_slash_ping_answers_pong(platform):
    emulator = platform.events.emulator
    random = emulator.channel_named(DEMO_GUILD_ID, "random")
    inter = emulator.run_command(random, BOB, "ping")
    answer = await wait_until(lambda: bot_message(emulator, random, "Pong!"))
    assert answer["interaction_metadata"]["id"] == inter["id"]


async def test_uninstall_removes_the_command(platform):
    emulator = platform.events.emulator
    await installs.uninstall(platform, DEMO_GUILD_ID, "ping_pong")
    await wait_until(lambda: not emulator.state.guilds[DEMO_GUILD_ID]["commands"])
    assert platform.command_sync.owner(DEMO_GUILD_ID, "ping") is None


ERRORS_PLUGIN = """
from mmo_maid_sdk import DiscordApiError, Plugin, RateLimitError, SdkPermissionError

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event["content"] != "!errors":
        return
    out = []
    try:
        ctx.discord.create_channel(name="forbidden")
    except SdkPermissionError as exc:
        out.append(f"permission={exc.permission}")
    try:
        ctx.discord.get_channel(channel_id="123456789012345678")
    except DiscordApiError as exc:
        out.append(f"status={exc.status_code}")
    try:
        ctx.discord.get_messages(channel_id=event["channel_id"], limit=1)
    except RateLimitError as exc:
        out.append(f"retry_after={exc.retry_after}")
    ctx.discord.send_message(channel_id=event["channel_id"], content=" ".join(out))


if __name__ == "__main__":
    plugin.run()
"""


async def test_discord_errors_reach_a_plugin_as_the_sdk_exceptions(platform, tmp_path):
    from maidcore_discord.emulator import permissions as perms

    bundle = tmp_path / "error_probe"
    bundle.mkdir()
    (bundle / "__main__.py").write_text(ERRORS_PLUGIN)
    (bundle / "manifest.json").write_text(
        '{"id": "error_probe", "name": "Error probe", "version": "1.0.0", "description": "Reports errors.",'
        ' "capabilities_required": ["discord:send_message", "discord:manage_channels", "discord:read"]}'
    )
    emulator = platform.events.emulator
    gid = emulator.add_guild(
        "locked", bot_permissions=perms.bits("view_channel", "send_messages"), members={BOB: "bob"}
    )
    await wait_until(lambda: platform.events.client.get_guild(int(gid)))
    await installs.install(platform, bundle, gid, installs.ALL)
    general = emulator.channel_named(gid, "general")
    emulator.rate_limit(r"^/channels/\d+/messages$", 90.0, method="GET")
    emulator.post_message(general, BOB, "!errors")
    report = await wait_until(
        lambda: next(
            (m["content"] for m in emulator.state.messages[general].values() if m["author"]["id"] == BOT_USER_ID), None
        )
    )
    assert report == "permission=manage_channels status=404 retry_after=90.0"
