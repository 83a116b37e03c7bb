"""Sign-in with Discord through the emulator's OAuth2: the production flow, with its refusals."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio

from .console_helpers import ALICE, BOB, authorize, browser, console_settings, serving, sign_in, start_sign_in

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory):
    async with serving(console_settings(tmp_path_factory.mktemp("signin") / "data")) as pair:
        yield pair


async def test_sign_in_opens_a_session_with_roles_from_the_guild_permissions(served):
    platform, base = served
    async with browser() as http:
        location, query = await start_sign_in(http, base)
        emulator = platform.events.emulator
        assert location.startswith(emulator.oauth_authorize_url + "?")
        assert query["client_id"] == [emulator.oauth.client_id]
        assert query["scope"] == ["identify guilds"] and query["response_type"] == ["code"]
        assert query["redirect_uri"] == [base + "/auth/callback"]
        await sign_in(http, base, ALICE)
        async with http.get(base + "/") as resp:
            page = await resp.text()
        assert "Alice" in page and "server admin" in page  # alice owns the demo guild
        cookie = next(c for c in http.cookie_jar if c.key == "mc_session")
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]


async def test_a_wrong_state_is_refused_and_opens_no_session(served):
    _platform, base = served
    async with browser() as http:
        location, _ = await start_sign_in(http, base)
        callback = await authorize(http, location, BOB)
        forged = callback.replace("state=", "state=x")
        async with http.get(forged, allow_redirects=False) as resp:
            assert resp.status == 400
            assert "wrong or missing state" in await resp.text()
        async with http.get(base + "/dev", allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"].startswith("/auth/login")


async def test_a_reused_code_is_refused_by_the_token_endpoint(served):
    _platform, base = served
    async with browser() as http:
        location, _ = await start_sign_in(http, base)
        callback = await authorize(http, location, BOB)
        async with http.get(callback, allow_redirects=False) as resp:
            assert resp.status == 303
    async with browser() as other:  # a thief replays the same callback with a state of their own
        location, _ = await start_sign_in(other, base)
        state = parse_qs(urlsplit(location).query)["state"][0]
        code = parse_qs(urlsplit(callback).query)["code"][0]
        async with other.get(f"{base}/auth/callback?code={code}&state={state}", allow_redirects=False) as resp:
            assert resp.status == 400
            assert "did not accept the sign-in code" in await resp.text()
            assert "Invalid" in await resp.text()


async def test_cancelling_on_the_authorize_page_signs_nobody_in(served):
    _platform, base = served
    async with browser() as http:
        location, _ = await start_sign_in(http, base)
        callback = await authorize(http, location, BOB, decision="cancel")
        assert "error=access_denied" in callback
        async with http.get(callback, allow_redirects=False) as resp:
            assert resp.status == 400 and "Sign-in cancelled" in await resp.text()
