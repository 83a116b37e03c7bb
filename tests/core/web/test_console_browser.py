"""The web console in headless Chromium (playwright-core), journey by journey, against the real platform.

One platform for the module (emulator, process sandbox, SQLite); each journey is a node
script under ``browser/`` that signs in through the emulator's OAuth2 page like a person,
clicks through, and screenshots every page at laptop and phone widths into
``.cache/screenshots/console/`` (printed at the end of each test).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from maidcore_discord.emulator import DEMO_GUILD_ID
from yarl import URL

from maidcore import installs
from maidcore.marketplace import publishing, review
from maidcore.records import PluginRecord
from tests import services

from .console_helpers import ALICE, BOB, ERIN, browser, console_settings, serving, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parents[3]
NODE_DIR = ROOT / ".cache" / "node"
SCRIPTS = Path(__file__).parent / "browser"
PLUGINS = Path(__file__).parent / "plugins"
SHOTS = ROOT / ".cache" / "screenshots" / "console"
G = DEMO_GUILD_ID
FRANK = "900000000000000205"  # signs in, member of no guild


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


def bundle(directory: Path, dest: Path, *, manifest: dict | None = None, main: str | None = None) -> Path:
    """A zip of ``directory`` (optionally with another manifest or __main__.py) at ``dest``."""
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(directory.rglob("*")):
            rel = path.relative_to(directory).as_posix()
            if path.is_file() and "__pycache__" not in rel and rel not in ("manifest.json", "__main__.py"):
                zf.write(path, rel)
        zf.writestr("manifest.json", json.dumps(manifest or json.loads((directory / "manifest.json").read_text())))
        zf.writestr("__main__.py", main if main is not None else (directory / "__main__.py").read_text())
    return dest


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory, chromium, playwright_core):
    """The platform and console; bob's kv_counter 1.0.0 published; widget_gallery and iframe_board on the demo guild."""
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    tmp = tmp_path_factory.mktemp("console-browser")
    settings = console_settings(tmp / "data", admins=[ERIN])
    async with serving(settings) as (platform, base):
        platform.events.emulator.state.add_user(ERIN, "erin", global_name="Erin")
        platform.events.emulator.state.add_user(FRANK, "frank", global_name="Frank")
        record = await review.submit(platform, BOB, bundle(PLUGINS / "kv_counter", tmp / "kv_counter.zip"))
        assert record.status.value == "approved", record.findings
        await publishing.publish(platform, "kv_counter", "1.0.0")
        await installs.install(platform, PLUGINS / "widget_gallery", G, installs.ALL)
        await installs.install(platform, PLUGINS / "iframe_board", G, installs.ALL)
        yield {"platform": platform, "base": base, "tmp": tmp, "chromium": chromium, "node": playwright_core}


async def run(world: dict, script: str, **params) -> dict:
    """Run ``browser/<script>.js``; its JSON result (``ok``, ``steps``, ``shots``, ...)."""
    params.setdefault("emulator", world["platform"].local.url)
    params.setdefault("guild", G)
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPTS / f"{script}.js"),
        world["base"],
        world["chromium"],
        str(SHOTS),
        json.dumps(params),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(world["node"])},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=240)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    assert lines, f"no result from {script}.js; stderr: {err.decode()[-3000:]}"
    result = json.loads(lines[-1])
    where = f"at {result.get('url')}\nsteps: {result['steps']}\n{result['shots']}"
    assert result["ok"], f"{script}: {result.get('error')}\n{where}"
    print(f"\n{script}: {len(result['shots'])} screenshots in {SHOTS}")
    assert not result["problems"], result["problems"]  # no script error and no failed request on any page
    return result


GREETER = {
    "id": "greeter",
    "name": "Greeter",
    "version": "0.1.0",
    "description": "Says hello when someone says hello.",
    "author": "bob",
    "capabilities_required": ["discord:send_message"],
}
GREETER_MAIN = """from mmo_maid_sdk import Plugin
{extra}
plugin = Plugin()


@plugin.on_event("message_create")
def hello(ctx, event):
    if not event["author_bot"] and event["content"] == "hello":
        ctx.discord.send_message(channel_id=event["channel_id"], content="Hello!")


if __name__ == "__main__":
    plugin.run()
"""


async def test_a_developer_uploads_reads_a_finding_fixes_it_and_publishes(world):
    tmp: Path = world["tmp"]
    src = tmp / "greeter"
    src.mkdir()
    (src / "manifest.json").write_text(json.dumps(GREETER))
    bad = bundle(src, tmp / "greeter-bad.zip", main=GREETER_MAIN.format(extra="import socket"))
    fixed = bundle(src, tmp / "greeter-fixed.zip", main=GREETER_MAIN.format(extra=""))
    result = await run(world, "developer", bad=str(bad), fixed=str(fixed))
    assert result["steps"] == [
        "signed-in",
        "created",
        "finding",
        "published",
        "operations",
        "token",
        "marketplace",
        "refused",
    ]
    assert result["where"].strip() == "__main__.py:2" and "ctx.http" in result["hint"]
    assert result["status"].strip() == "rejected"
    assert "0.1.0" in result["versions"] and "published" in result["versions"]
    assert not result["secretShown"] and result["token"].startswith("mc_")
    assert "discord:send_message" in result["caps"] and "Safe" in result["caps"]
    assert "Manage Server" in result["refusedServer"] and "Reviewers only" in result["refusedReview"]

    platform = world["platform"]
    assert (await platform.records.get_plugin("greeter")).developer == BOB
    assert (await platform.records.get_version("greeter", "0.1.0")).status.value == "published"
    assert await platform.storage.secrets.list_defaults("greeter") == ["api_key"]


async def test_a_zip_that_cannot_be_reviewed_is_refused_with_its_findings_one_a_line(world):
    tmp: Path = world["tmp"]
    garbage = tmp / "my-plugin.zip"
    garbage.write_bytes(b"this is not a zip")
    half = tmp / "half-manifest.zip"
    with zipfile.ZipFile(half, "w") as zf:
        zf.writestr("manifest.json", '{"id": ')
        zf.writestr("__main__.py", "print(1)\n")
    records = world["platform"].records
    if await records.get_plugin("alices_bot") is None:
        await records.add_plugin(PluginRecord(plugin_id="alices_bot", developer=ALICE))
    result = await run(world, "bad_uploads", files={"garbage": str(garbage), "json": str(half)}, takenId="alices_bot")
    assert result["steps"] == ["refused", "taken id kept"]
    kept = result["kept"]
    assert "taken by another developer" in kept["flash"] and kept["id"] == "alices_bot" and kept["slash"]
    garbage_seen, json_seen = result["refusals"]["garbage"], result["refusals"]["json"]
    assert garbage_seen["text"].startswith("the bundle was refused at intake:")
    assert garbage_seen["items"] and "my-plugin.zip is not a readable zip file" in garbage_seen["items"][0]
    assert not re.search(r"[0-9a-f]{32}", garbage_seen["text"])  # not the server's temporary file name
    assert json_seen["text"].startswith("manifest.json needs a valid id and version")
    items = json_seen["items"]
    assert any(i.startswith("manifest.json") and "not valid JSON" in i for i in items), items
    assert len(items) == len(set(items)) and sum("not valid JSON" in i for i in items) == 1  # each finding once
    assert all(r["url"].endswith("/dev") for r in result["refusals"].values())


async def test_a_stale_link_gets_a_console_page_with_a_way_back(world):
    result = await run(world, "lost")
    assert result["steps"] == ["refused", "back home"]
    unknown, guild = result["seen"]["unknown"], result["seen"]["guild"]
    assert unknown["status"] == 404 and unknown["title"] == "Page not found" and unknown["nav"]
    assert "/plugins-that-do-not-exist" in unknown["text"]
    assert guild["status"] == 404 and "not-a-guild" in guild["text"] and guild["install"] == 0
    async with browser() as http:
        csrf = await sign_in(http, world["base"], ERIN)
        form = {"csrf_token": csrf, "capability": "discord:send_message"}
        async with http.post(f"{world['base']}/servers/not-a-guild/install/kv_counter", data=form) as resp:
            assert resp.status == 404
    assert await world["platform"].records.get_install("not-a-guild", "kv_counter") is None


async def test_a_reviewer_reads_a_first_version_without_a_higher_tier_alarm(world):
    result = await run(world, "first_review", plugin="kv_counter", version="1.0.0")
    assert result["steps"] == ["read"] and result["alarms"] == 0
    assert result["note"].startswith("First version: every capability below is new") and "Safe" in result["note"]


async def test_a_server_admin_grants_what_the_plugin_asked_for_and_the_next_call_works(world):
    result = await run(world, "server_admin")
    assert result["steps"] == [
        "installed with a subset",
        "call refused",
        "request appeared live",
        "granted call works",
        "live logs",
        "disable and enable",
    ]
    assert "storage:kv" in result["picker"] and "Keep its own key-value data" in result["picker"]
    assert "blocked" in result["blocked"]
    assert result["live"] and "needs permission" in result["text"]
    assert result["stats"].startswith("1 call refused, last at") and "(kv.increment)" in result["stats"]
    platform = world["platform"]
    install = await platform.records.get_install(G, "kv_counter")
    assert install.granted == {"discord:send_message", "storage:kv"} and install.enabled
    assert await platform.records.list_denied_calls(server_id=G, plugin_id="kv_counter") == []


async def test_a_reviewer_approves_a_tier_shift_after_reading_the_diff(world):
    platform, tmp = world["platform"], world["tmp"]
    manifest = json.loads((PLUGINS / "kv_counter" / "manifest.json").read_text())
    manifest.update(version="1.1.0", capabilities_required=[*manifest["capabilities_required"], "discord:manage_roles"])
    main = (
        (PLUGINS / "kv_counter" / "__main__.py")
        .read_text()
        .replace(
            '    ctx.log(f"counted {total}")\n',
            '    ctx.log(f"counted {total}")\n    if total == 10:\n'
            '        ctx.discord.add_role(user_id=event["author_id"], role_id="900000000000000300")\n',
        )
    )
    zipped = bundle(PLUGINS / "kv_counter", tmp / "kv-1.1.zip", manifest=manifest, main=main)
    record = await review.submit(platform, BOB, zipped)
    assert record.status.value == "needs_human_review"

    result = await run(world, "reviewer")
    assert result["steps"] == ["read", "approved", "developer sees the note", "metrics"]
    assert {"maidcore.deliveries_acked", "maidcore.host_calls", "maidcore.calls_denied"} <= set(result["metrics"])
    assert "maidcore demo" in result["installedOn"]
    assert any("kv_counter 1.1.0" in q for q in result["queued"])
    assert [a.split()[1] for a in result["added"]] == ["discord:manage_roles"] and "Dangerous" in result["added"][0]
    assert "__main__.py" in result["diff"] and "manifest.json" in result["diff"]
    assert any("add_role" in line for line in result["diffLines"])  # the added lines, highlighted as insertions
    assert result["highlighted"] > 5  # Python keywords coloured
    assert "Checked: manage_roles only gives the Counter role." in result["note"] and "Carol" in result["note"]
    assert (await platform.records.get_version("kv_counter", "1.1.0")).status.value == "approved"

    published = await publishing.publish(platform, "kv_counter", "1.1.0")
    assert published.pending == [G]  # it asks for more than the guild granted: the admin decides
    result = await run(world, "upgrade")
    assert all(word in result["text"] for word in ("discord:manage_roles", "Dangerous", "higher tier"))
    assert "kv_counter" not in result["installs"]
    assert await platform.records.get_install(G, "kv_counter") is None


async def test_a_dashboard_with_every_widget_kind_shows_its_data_and_a_form_saves(world):
    result = await run(world, "dashboard")
    assert result["steps"] == ["widgets", "form", "schema 2", "member view"]
    stats = " ".join(result["stats"])
    assert "Members" in stats and "4" in stats  # list_members answered for the demo guild: the bot and three people
    assert "1,234" in stats and "-3%" in stats and "42" in stats  # the owner sees the owner-only card
    assert result["errors"] == ["the broken handler failed: the stats service is down"]  # in its widget only
    assert result["charts"] == 4 and result["pieSlices"] == 2 and result["refreshing"] == 1
    assert "<b>bob</b>" in result["table"][0] and "Score" in result["table"][0]  # plugin text stays text
    assert "Running on server 900000000000000001" in result["text"][0]
    assert "Maintenance tonight" in result["alert"][0] and "75 / 100" in result["progress"][0]
    assert "bob levelled up" in result["list"][0]
    html = result["markdownHtml"]
    assert "<strong>Season 3</strong>" in html and "<script>" not in html and "&lt;script&gt;" in html
    assert result["loadedGreeting"] == "Welcome!" and "#general" in result["channels"]
    assert result["saved"] == "Saved 11 settings."
    assert result["reloaded"] == {"greeting": "Hi there", "enabled": False, "language": "fr", "quests": True}
    assert result["refused"] == "Greeting is required"
    more = result["more"]
    assert more["heading"] == ["Schema 2 widgets"] and more["image"] == "Season 3 banner" and more["divider"] == 1
    assert "maidcore demo" in more["keyValue"][0] and "Season 2 ended" in more["timeline"][0]
    assert "XP boost" in more["badges"][0] and "Carol" in more["users"][0] and "Inside a section" in more["section"][0]
    assert "quests" in result["tab"] and result["action"] == "Season reset."
    member = result["member"]
    assert "Members" in member["titles"] and "Owners only" not in member["titles"] and member["forms"] == 0
    assert member["hiddenStatus"] == 403

    platform = world["platform"]
    scope = platform.runner.tenant(G, "widget_gallery").scope
    saved = await platform.storage.kv.get(scope, "settings")
    emulator = platform.events.emulator
    assert saved["greeting"] == "Hi there" and saved["max_warnings"] == 5 and saved["features"] == ["xp", "quests"]
    assert saved["log_channel"] == emulator.channel_named(G, "general") and saved["volume"] == 80
    assert await platform.storage.kv.get(scope, "resets") == 1


async def test_an_iframe_dashboard_reads_its_data_through_the_bridge_and_nothing_of_the_console(world):
    result = await run(world, "iframe")
    assert result["steps"] == ["bridge", "foreign message ignored", "direct"]
    assert result["sandbox"] == "allow-scripts"
    assert result["members"] == "4" and result["asked"] == "the frame"  # the handler ran for the demo guild
    assert result["broken"] == "the broken handler failed: the scoreboard is being rebuilt"
    assert result["heading"] == "rgb(91, 91, 214)"  # dashboard/style.css loaded under the frame's CSP
    assert 120 < result["frameHeight"] < 560  # the page asked for its content's height (70vh of 800 px before)
    probes = result["probes"]
    assert probes["origin"] == "null"  # opaque: nothing of the console's origin is reachable
    assert probes["cookie"].startswith("refused") and probes["parentDom"].startswith("refused")
    assert probes["fetchApi"].startswith("refused") and probes["fetchRpc"].startswith("refused")
    assert probes["storage"].startswith("refused")
    assert result["foreign"] is False
    assert result["direct"]["origin"] == "null" and result["direct"]["cookie"].startswith("refused")


FRAME_SRC = re.compile(r'data-testid="dashboard-frame"[^>]* src="([^"]+)"')
TRAVERSALS = (
    "../manifest.json",
    "..%2Fmanifest.json",
    "%2e%2e/__main__.py",
    "x/../../manifest.json",
    "%2Fetc%2Fpasswd",
    "..%5C__main__.py",
    "./index.html",
    "missing.js",
    "README.md",  # in dashboard/, but not a file kind dashboards serve
    "",
)


async def test_iframe_dashboard_files_are_path_checked_and_the_bridge_endpoint_only_reaches_dashboard_handlers(world):
    base = world["base"]
    board = f"{base}/servers/{G}/plugins/iframe_board/dashboard"
    async with browser() as http:
        csrf = await sign_in(http, base, ALICE)
        async with http.get(board) as resp:
            src = FRAME_SRC.search(await resp.text()).group(1)
        prefix = base + src.removesuffix("index.html")
        async with http.get(base + src) as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
            csp = resp.headers["Content-Security-Policy"]
            assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
        for directive in ("sandbox allow-scripts", "default-src 'none'", "connect-src 'none'", "form-action 'none'"):
            assert directive in csp
        assert f"script-src {prefix};" in csp and f"frame-ancestors {base}" in csp
        for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):  # the ticket, no cookie
            async with aiohttp.ClientSession() as anonymous, anonymous.get(prefix + name) as resp:
                assert (resp.status, resp.content_type) == (200, kind)
        for bad in TRAVERSALS:
            async with http.get(URL(prefix + bad, encoded=True)) as resp:
                text = await resp.text()
                assert resp.status in (400, 404), (bad, resp.status)
                assert '"iframe_board"' not in text and "plugin.run()" not in text
        tampered = prefix[:-3] + ("0" if prefix[-3] != "0" else "1") + prefix[-2:]
        async with http.get(tampered + "index.html") as resp:
            assert resp.status == 404

        async def call(plugin: str, body: dict, token: str | None = csrf) -> tuple[int, dict]:
            headers = {"Accept": "application/json", **({"X-CSRF-Token": token} if token else {})}
            async with http.post(f"{base}/servers/{G}/plugins/{plugin}/dashboard/rpc", json=body, headers=headers) as r:
                return r.status, (await r.json() if r.content_type == "application/json" else {})

        spoofed = {"who": "curl", "viewer_level": "x"}
        status, answer = await call("iframe_board", {"method": "summary", "params": spoofed})
        assert status == 200 and answer["result"]["members"] == 4 and answer["result"]["asked_by"] == "curl"
        assert answer["result"]["level"] == "owner"  # set by the console from alice's standing, not by the page
        status, answer = await call("iframe_board", {"method": "nope"})  # only dashboard.* handlers are asked for
        assert status == 200 and "dashboard.nope" in answer["error"] and "result" not in answer
        assert (await call("iframe_board", {"method": "../summary"}))[0] == 400
        assert (await call("iframe_board", {"method": "summary", "params": [1]}))[0] == 400
        assert (await call("iframe_board", {"method": "summary"}, token=None))[0] == 403  # CSRF
        status, answer = await call("widget_gallery", {"method": "owner_stat"})  # manifest mode: per widget only
        assert status == 404 and "not an iframe dashboard" in answer["error"]
        async with http.post(f"{base}/auth/logout", headers={"X-CSRF-Token": csrf}, allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.get(prefix + "index.html") as resp:
            assert resp.status == 404  # the ticket ended with the session
    async with aiohttp.ClientSession() as anonymous, anonymous.post(f"{board}/rpc", json={"method": "summary"}) as r:
        assert r.status == 403  # no session, so no CSRF token either
    async with browser() as http:
        csrf = await sign_in(http, base, FRANK)  # not a member of the guild
        async with http.get(board) as resp:
            assert resp.status == 403
        headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}
        async with http.post(f"{board}/rpc", json={"method": "summary"}, headers=headers) as resp:
            assert resp.status == 403 and "members" in (await resp.json())["error"]
