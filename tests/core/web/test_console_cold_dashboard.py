"""A dashboard asked while its plugin's worker is still starting waits for it; a parked plugin says so at once.

Workers start lazily and, under load, a cold start takes seconds (the interpreter, the SDK and the
plugin's imports). A widget request arriving in that window must get the plugin's answer, not
"not running"; only a worker stopped after crashes (parked) is reported as not running.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import pytest_asyncio
from maidcore_discord.emulator import DEMO_GUILD_ID

from maidcore import installs
from maidcore.runner.worker import SlotState

from .console_helpers import ALICE, browser, console_settings, serving, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
G = DEMO_GUILD_ID
SLOW_IMPORT_SECONDS = 3.0  # the plugin's import on a busy machine: longer than a widget request's round trip

CRASHER_MANIFEST = {
    "id": "crasher",
    "name": "Crasher",
    "version": "1.0.0",
    "description": "Dies while importing, every time.",
    "author": "maidcore tests",
    "capabilities_required": [],
}
CRASHER_BOARD = {
    "pages": [
        {
            "id": "main",
            "title": "Main",
            "widgets": [{"id": "n", "type": "stat_card", "title": "N", "rpc_method": "dashboard.n"}],
        }
    ]
}


def slow_mod_tools(where: Path) -> Path:
    """The Moderation Tools example whose import takes SLOW_IMPORT_SECONDS (a heavy dependency, a busy disk)."""
    bundle = where / "mod_tools"
    shutil.copytree(EXAMPLES / "mod_tools", bundle, ignore=shutil.ignore_patterns("tests"))
    main = bundle / "__main__.py"
    main.write_text(f"import time\ntime.sleep({SLOW_IMPORT_SECONDS})\n" + main.read_text())
    return bundle


def crasher(where: Path) -> Path:
    bundle = where / "crasher"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps(CRASHER_MANIFEST))
    (bundle / "dashboard_manifest.json").write_text(json.dumps(CRASHER_BOARD))
    (bundle / "__main__.py").write_text('raise SystemExit("broken on purpose: no worker of mine ever boots")\n')
    return bundle


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cold")
    settings = console_settings(tmp / "data")
    settings.runner.circuit_breaker_crashes = 2  # the crasher parks after two quick crashes
    settings.runner.restart_backoff_initial_seconds = 0.05
    async with serving(settings) as (platform, base):
        http = browser()
        await sign_in(http, base, ALICE)
        yield platform, base, http, tmp
        await http.close()


def slot_of(platform, plugin_id):
    return platform.runner.tenant(G, plugin_id).slot


async def test_a_dashboard_asked_while_the_worker_boots_waits_for_it(world):
    platform, base, http, tmp = world
    await installs.install(platform, slow_mod_tools(tmp), G, installs.ALL)
    slot = slot_of(platform, "mod_tools")
    assert not slot.ready  # cold: the worker is still importing the plugin
    url = f"{base}/servers/{G}/plugins/mod_tools/dashboard/widgets/w2"  # the settings form
    async with http.get(url) as resp:
        body = await resp.json()
    assert resp.status == 200 and body == {"data": {"values": {"threshold": 3, "timeout_minutes": 10}}}, body
    assert slot.state is SlotState.RUNNING and slot.ready


async def test_a_parked_plugin_says_so_without_waiting(world):
    platform, base, http, tmp = world
    await installs.install(platform, crasher(tmp), G, installs.ALL)
    slot = slot_of(platform, "crasher")
    url = f"{base}/servers/{G}/plugins/crasher/dashboard/widgets/w1"
    # asked while it crash-loops: the request waits for the restarts and reports the park when it comes
    async with http.get(url) as resp:
        body = await resp.json()
    assert slot.state is SlotState.PARKED
    assert resp.status == 200 and "stopped after repeated crashes" in body["error"], body
    assert "broken on purpose" not in body["error"]  # the worker's stderr is for its developer, not every member
    assert "broken on purpose" in slot.park_reason
    async with http.get(url) as resp:  # parked: answered as such, not waited on as if it were starting
        again = await resp.json()
    assert "stopped after repeated crashes" in again["error"], again
