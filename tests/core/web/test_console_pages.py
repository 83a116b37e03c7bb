"""Every console page for every role over HTTP, the refusals, CSRF on every form, the security headers.

The browser journeys (``test_console_browser.py``) show the pages work for people; this
file pins down who may see what, quickly, without a browser.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from maidcore_discord.emulator import DEMO_GUILD_ID

from maidcore import installs
from maidcore.records import DeniedCall

from .console_helpers import (
    ALICE,
    BOB,
    CAROL,
    ERIN,
    authorize,
    browser,
    console_settings,
    serving,
    sign_in,
    start_sign_in,
    upload,
    zip_plugin,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
G = DEMO_GUILD_ID
PEOPLE = {"alice": ALICE, "bob": BOB, "carol": CAROL, "erin": ERIN}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    """bob published ping_pong and uploaded mod_tools (waiting for review); notes_showcase runs on the demo guild."""
    settings = console_settings(tmp_path_factory.mktemp("pages") / "data", admins=[ERIN])
    async with serving(settings) as (platform, base):
        platform.events.emulator.state.add_user(ERIN, "erin", global_name="Erin")
        await installs.install(platform, EXAMPLES / "notes_showcase", G, installs.ALL)
        sessions: dict[str, tuple[aiohttp.ClientSession, str]] = {}
        for name, user in PEOPLE.items():
            http = browser()
            sessions[name] = (http, await sign_in(http, base, user))
        http, csrf = sessions["bob"]
        await upload(http, base, csrf, zip_plugin(EXAMPLES / "ping_pong"))
        async with http.post(base + "/dev/plugins/ping_pong/versions/1.0.0/publish", data={"csrf_token": csrf}) as r:
            assert r.status == 200
        assert (await upload(http, base, csrf, zip_plugin(EXAMPLES / "mod_tools")))["status"] == "needs_human_review"
        sessions["anonymous"] = (browser(), "")
        yield platform, base, sessions
        for http, _ in sessions.values():
            await http.close()


OK, LOGIN, DENIED = 200, "login", 403
# path -> expected answer per person (anonymous, alice = server admin, bob = developer, carol = reviewer, erin = admin)
PAGES = {
    "/": dict(anonymous=OK, alice=OK, bob=OK, carol=OK, erin=OK),
    "/marketplace": dict(anonymous=OK, alice=OK, bob=OK, carol=OK, erin=OK),
    "/marketplace/ping_pong": dict(anonymous=OK, alice=OK, bob=OK, carol=OK, erin=OK),
    "/dev": dict(anonymous=LOGIN, alice=OK, bob=OK, carol=OK, erin=OK),
    "/dev/new": dict(anonymous=LOGIN, alice=OK, bob=OK, carol=OK, erin=OK),
    "/dev/plugins/ping_pong": dict(anonymous=LOGIN, alice=DENIED, bob=OK, carol=DENIED, erin=OK),
    "/dev/plugins/ping_pong/versions/1.0.0": dict(anonymous=LOGIN, alice=DENIED, bob=OK, carol=DENIED, erin=OK),
    "/dev/plugins/ping_pong/logs": dict(anonymous=LOGIN, alice=DENIED, bob=OK, carol=DENIED, erin=OK),
    "/dev/plugins/ping_pong/metrics": dict(anonymous=LOGIN, alice=DENIED, bob=OK, carol=DENIED, erin=OK),
    "/dev/plugins/ping_pong/dead-letters": dict(anonymous=LOGIN, alice=DENIED, bob=OK, carol=DENIED, erin=OK),
    "/dev/plugins/ping_pong/secrets": dict(anonymous=LOGIN, alice=DENIED, bob=OK, carol=DENIED, erin=OK),
    "/servers": dict(anonymous=LOGIN, alice=OK, bob=OK, carol=OK, erin=OK),
    f"/servers/{G}": dict(anonymous=LOGIN, alice=OK, bob=DENIED, carol=DENIED, erin=OK),
    f"/servers/{G}/install/ping_pong": dict(anonymous=LOGIN, alice=OK, bob=DENIED, carol=DENIED, erin=OK),
    f"/servers/{G}/plugins/notes_showcase": dict(anonymous=LOGIN, alice=OK, bob=DENIED, carol=DENIED, erin=OK),
    f"/servers/{G}/plugins/notes_showcase/dashboard": dict(anonymous=LOGIN, alice=OK, bob=OK, carol=OK, erin=OK),
    "/review": dict(anonymous=LOGIN, alice=DENIED, bob=DENIED, carol=OK, erin=OK),
    "/review/mod_tools/1.0.0": dict(anonymous=LOGIN, alice=DENIED, bob=DENIED, carol=OK, erin=OK),
}


@pytest.mark.parametrize("path", list(PAGES))
async def test_every_page_answers_each_role_as_it_should(world, path):
    _platform, base, sessions = world
    for person, expected in PAGES[path].items():
        http, _csrf = sessions[person]
        async with http.get(base + path, allow_redirects=False) as resp:
            text = await resp.text()
            if expected == LOGIN:
                assert resp.status == 302 and resp.headers["Location"].startswith("/auth/login?next="), (person, path)
            else:
                assert resp.status == expected, f"{person} {path}: {resp.status} {text[:500]}"
                assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
                assert resp.content_type == "text/html"
            if expected == DENIED:
                assert 'data-testid="error"' in text  # a page saying why, in the layout
            if expected == OK and person != "anonymous":
                assert 'data-testid="signed-in-as"' in text and "Internal" not in text


async def test_the_refusals_say_what_is_missing(world):
    _platform, base, sessions = world
    async with sessions["bob"][0].get(f"{base}/servers/{G}") as resp:
        assert "Manage Server" in await resp.text()
    async with sessions["alice"][0].get(f"{base}/dev/plugins/ping_pong") as resp:
        assert "belongs to another developer" in await resp.text()
    async with sessions["bob"][0].get(f"{base}/review") as resp:
        assert f"yours is {BOB}" in await resp.text()


async def test_dashboard_widgets_follow_their_permission_and_the_guild(world):
    _platform, base, sessions = world
    url = f"{base}/servers/{G}/plugins/notes_showcase/dashboard/widgets/w1"
    async with sessions["bob"][0].get(url) as resp:  # a member sees viewer widgets, with the plugin's data
        assert resp.status == 200 and (await resp.json())["data"]["value"] == 0
    async with sessions["erin"][0].get(url) as resp:
        assert resp.status == 200
    async with sessions["anonymous"][0].get(url, allow_redirects=False) as resp:
        assert resp.status == 401 and (await resp.json())["error"] == "sign in first"
    async with sessions["bob"][0].get(f"{base}/servers/{G}/plugins/notes_showcase/dashboard/widgets/w99") as resp:
        assert resp.status == 404


async def test_a_fresh_install_dashboard_shows_an_empty_table_not_a_sql_error(world):
    """The widget may be the worker's first request: the official SDK runs on_ready only before events, so the
    example's table handler cannot count on the schema on_ready makes ('relation "notes" does not exist')."""
    _platform, base, sessions = world
    async with sessions["alice"][0].get(f"{base}/servers/{G}/plugins/notes_showcase/dashboard/widgets/w3") as resp:
        body = await resp.json()
    assert resp.status == 200 and "error" not in body, body
    assert body["data"] == {"rows": [], "total": 0}


async def test_every_form_needs_the_sessions_csrf_token(world):
    platform, base, sessions = world
    http, csrf = sessions["alice"]
    other_csrf = sessions["erin"][1]
    await platform.records.add_denied_calls([DeniedCall(G, "notes_showcase", "storage:secrets", 1, "secrets.get")])
    target = f"{base}/servers/{G}/plugins/notes_showcase/dismiss"
    for form in ({"capability": "storage:secrets"}, {"capability": "storage:secrets", "csrf_token": other_csrf}):
        async with http.post(target, data=form, allow_redirects=False) as resp:
            assert resp.status == 403 and "CSRF" in await resp.text()
    async with http.post(target, data={"capability": "storage:secrets"}, headers={"X-CSRF-Token": "x" * 43}) as resp:
        assert resp.status == 403
    [request] = await platform.records.list_denied_calls(server_id=G)
    assert not request.dismissed  # nothing happened
    form = {"capability": "storage:secrets", "csrf_token": csrf}
    async with http.post(target, data=form, allow_redirects=False) as r:
        assert r.status == 303
    [request] = await platform.records.list_denied_calls(server_id=G)
    assert request.dismissed
    # a signed-out POST is refused as well (sign-out itself included)
    async with sessions["anonymous"][0].post(base + "/auth/logout", data={}) as resp:
        assert resp.status == 403


async def test_sign_out_ends_the_session_for_good(world):
    _platform, base, _sessions = world
    async with browser() as http:
        csrf = await sign_in(http, base, BOB)
        token = next(c.value for c in http.cookie_jar if c.key == "mc_session")
        async with http.post(base + "/auth/logout", data={"csrf_token": csrf}, allow_redirects=False) as resp:
            assert resp.status == 303
    async with browser() as thief:  # the old cookie opens nothing any more
        thief.cookie_jar.update_cookies({"mc_session": token})
        async with thief.get(base + "/dev", allow_redirects=False) as resp:
            assert resp.status == 302


async def test_over_tls_the_session_cookie_is_secure_and_host_only(tmp_path):
    settings = console_settings(tmp_path / "data", public_url="https://127.0.0.1:8443")
    async with serving(settings) as (_platform, base), browser() as http:
        location, query = await start_sign_in(http, base)
        assert query["redirect_uri"] == ["https://127.0.0.1:8443/auth/callback"]
        callback = await authorize(http, location, BOB)
        assert callback.startswith("https://127.0.0.1:8443/auth/callback?")
        state = next(c for c in http.cookie_jar if c.key == "mc_oauth_state")
        assert state["secure"] and state["httponly"]
        http.cookie_jar.update_cookies({"mc_oauth_state": state.value})  # the test talks plain HTTP to the app
        async with http.get(base + callback[len("https://127.0.0.1:8443") :], allow_redirects=False) as resp:
            assert resp.status == 303
            cookie = resp.cookies["__Host-mc_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
        assert not cookie["domain"]
