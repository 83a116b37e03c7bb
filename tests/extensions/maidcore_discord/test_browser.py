"""The emulator page in headless Chromium (playwright-core) against the real platform running ping_pong."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import pytest_asyncio
from maidcore_discord.emulator import DEMO_GUILD_ID

from maidcore import installs
from maidcore.platform import Platform
from tests import services

from .test_platform import EXAMPLE, platform_settings, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parents[3]
NODE_DIR = ROOT / ".cache" / "node"
SCRIPT = Path(__file__).parent / "browser" / "ping_pong.js"


@pytest.fixture(scope="module")
def playwright_core() -> Path:
    """``node_modules`` holding playwright-core (installed into .cache/node like scripts/test does)."""
    modules = NODE_DIR / "node_modules"
    if not (modules / "playwright-core").is_dir():
        if shutil.which("npm") is None:
            services.unavailable("npm is not installed; it is needed to install playwright-core")
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "playwright-core@1"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=240,
        )
        if done.returncode != 0 or not (modules / "playwright-core").is_dir():
            services.unavailable(f"playwright-core could not be installed: {done.stderr[-300:]}")
    return modules


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory):
    async with Platform(platform_settings(tmp_path_factory.mktemp("browser") / "data")) as p:
        await installs.install(p, EXAMPLE, DEMO_GUILD_ID, installs.ALL)
        emulator = p.events.emulator
        await wait_until(lambda: any(c["name"] == "ping" for c in emulator.state.guilds[DEMO_GUILD_ID]["commands"]))
        yield p


async def test_a_person_pings_clicks_and_fills_the_modal_in_chromium(running, chromium, playwright_core, tmp_path):
    screenshot = tmp_path / "failure.png"
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        running.local.url,
        chromium,
        str(tmp_path / "profile"),
        str(screenshot),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(playwright_core)},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    assert lines, f"no result from the browser script; stderr: {err.decode()[-2000:]}"
    result = json.loads(lines[-1])
    assert result["ok"], f"{result} (screenshot: {screenshot})"
    assert result["steps"] == ["opened", "pong", "modal:Feedback", "react", "slash"]
    assert "!ping" in result["messages"] and "Thanks: sent from Chromium" in result["messages"]
    assert result["messages"].count("Pong!") == 2 and result["members"] == 4

    emulator = running.events.emulator
    general = emulator.channel_named(DEMO_GUILD_ID, "general")
    assert any(m["content"] == "Thanks: sent from Chromium" for m in emulator.state.messages[general].values())
    ping = next(m for m in emulator.state.messages[general].values() if m["content"] == "!ping")
    assert [(r["emoji"]["name"], r["users"]) for r in ping["reactions"]] == [("🎉", ["900000000000000202"])]


async def test_a_slash_option_of_the_wrong_type_shows_discords_refusal_and_no_stale_error(
    chromium, playwright_core, tmp_path
):
    from maidcore_discord.emulator import Emulator

    async with Emulator("127.0.0.1", 0) as emulator:
        emulator.state.guilds[DEMO_GUILD_ID]["commands"] = [
            {
                "id": "1",
                "name": "cleanup",
                "description": "delete messages",
                "type": 1,
                "options": [{"name": "count", "type": 4, "description": "how many", "min_value": 1}],
            }
        ]
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(Path(__file__).parent / "browser" / "option_refusal.js"),
            emulator.page_url,
            chromium,
            str(tmp_path / "profile"),
            str(tmp_path / "failure.png"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_PATH": str(playwright_core)},
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    assert lines, f"no result from the browser script; stderr: {err.decode()[-2000:]}"
    result = json.loads(lines[-1])
    assert result["ok"], f"{result} (screenshot: {tmp_path / 'failure.png'})"
    assert result["errors"] == [
        "400: Invalid Form Body: option count must be a whole number (got 'abc')",
        "400: Invalid Form Body: option count must be at least 1 (got '0')",
        "",
    ]
