"""The emulator's OAuth2 authorization-code flow, as Discord documents it, driven over HTTP."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
from maidcore_discord.emulator import permissions as perms

from .conftest import ALICE, BOB

REDIRECT = "http://127.0.0.1:9/auth/callback"


@pytest.fixture
async def emulator():
    async with Emulator("127.0.0.1", 0) as emu:
        yield emu


def authorize_url(emu: Emulator, **overrides: str) -> str:
    query = {
        "response_type": "code",
        "client_id": emu.oauth.client_id,
        "scope": "identify guilds",
        "state": "s1",
        "redirect_uri": REDIRECT,
        **overrides,
    }
    return f"{emu.oauth_authorize_url}?{urlencode(query)}"


async def decide(http: aiohttp.ClientSession, emu: Emulator, user_id: str, decision: str = "authorize", **over) -> str:
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url(emu, **over)).query).items()}
    form = {**{k: v for k, v in query.items() if k != "response_type"}, "user_id": user_id, "decision": decision}
    async with http.post(emu.oauth_authorize_url, data=form, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"]


async def exchange(http: aiohttp.ClientSession, emu: Emulator, code: str, **over: str) -> tuple[int, dict]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": emu.oauth.client_id,
        "client_secret": emu.oauth.client_secret,
        **over,
    }
    async with http.post(emu.api_base + "/oauth2/token", data=form) as resp:
        return resp.status, await resp.json()


async def test_the_authorize_page_lists_the_people_and_the_scopes(emulator):
    async with aiohttp.ClientSession() as http:
        async with http.get(authorize_url(emulator)) as resp:
            page = await resp.text()
        assert resp.status == 200
        assert 'value="900000000000000201"' in page and "Alice" in page and "@bob" in page
        assert "maidcore" not in page.split("Sign in as")[1].split("</fieldset>")[0]  # the bot is nobody to sign in as
        assert "Know what servers you" in page
        async with http.get(authorize_url(emulator, client_id="123")) as resp:
            assert "Unknown application" in await resp.text()
        async with http.get(authorize_url(emulator, redirect_uri="https://evil.example/cb")) as resp:
            assert "Invalid OAuth2 redirect_uri" in await resp.text()  # shown, never redirected to
        async with http.get(authorize_url(emulator, scope="identify nonsense"), allow_redirects=False) as resp:
            assert resp.status == 302 and "error=invalid_scope" in resp.headers["Location"]


async def test_a_code_becomes_a_token_that_reads_the_user_and_their_guild_permissions(emulator):
    async with aiohttp.ClientSession() as http:
        location = await decide(http, emulator, ALICE)
        query = parse_qs(urlsplit(location).query)
        assert location.startswith(REDIRECT + "?") and query["state"] == ["s1"]
        status, token = await exchange(http, emulator, query["code"][0])
        assert status == 200 and token["token_type"] == "Bearer" and token["scope"] == "guilds identify"
        assert token["expires_in"] == 7 * 24 * 3600
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        async with http.get(emulator.api_base + "/users/@me", headers=headers) as resp:
            me = await resp.json()
        assert (me["id"], me["username"]) == (ALICE, "alice")
        async with http.get(emulator.api_base + "/users/@me/guilds", headers=headers) as resp:
            [guild] = await resp.json()
        assert guild["id"] == DEMO_GUILD_ID and guild["owner"] is True and int(guild["permissions"]) == perms.ALL

        # bob is a plain member: no Manage Server
        status, token = await exchange(
            http, emulator, parse_qs(urlsplit(await decide(http, emulator, BOB)).query)["code"][0]
        )
        async with http.get(
            emulator.api_base + "/users/@me/guilds", headers={"Authorization": f"Bearer {token['access_token']}"}
        ) as resp:
            [guild] = await resp.json()
        assert guild["owner"] is False and not int(guild["permissions"]) & perms.BITS["manage_guild"]

        # a refresh token gives a new access token; an unknown bearer token is 401
        form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        basic = base64.b64encode(f"{emulator.oauth.client_id}:{emulator.oauth.client_secret}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}"}
        async with http.post(emulator.api_base + "/oauth2/token", data=form, headers=headers) as resp:
            assert resp.status == 200 and (await resp.json())["access_token"] != token["access_token"]
        async with http.get(emulator.api_base + "/users/@me", headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 401


async def test_a_token_without_the_guilds_scope_cannot_list_guilds(emulator):
    async with aiohttp.ClientSession() as http:
        code = parse_qs(urlsplit(await decide(http, emulator, BOB, scope="identify")).query)["code"][0]
        _status, token = await exchange(http, emulator, code)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        async with http.get(emulator.api_base + "/users/@me/guilds", headers=headers) as resp:
            assert resp.status == 401
        async with http.get(emulator.api_base + "/users/@me", headers=headers) as resp:
            assert resp.status == 200


async def test_a_reused_code_is_refused_and_revokes_what_it_issued(emulator):
    async with aiohttp.ClientSession() as http:
        code = parse_qs(urlsplit(await decide(http, emulator, ALICE)).query)["code"][0]
        status, token = await exchange(http, emulator, code)
        assert status == 200
        status, body = await exchange(http, emulator, code)
        assert status == 400 and body["error"] == "invalid_grant"
        async with http.get(
            emulator.api_base + "/users/@me", headers={"Authorization": f"Bearer {token['access_token']}"}
        ) as resp:
            assert resp.status == 401  # RFC 6749 §4.1.2: the replay revoked the first token


async def test_the_token_request_must_match_the_client_and_the_redirect(emulator):
    async with aiohttp.ClientSession() as http:
        code = parse_qs(urlsplit(await decide(http, emulator, ALICE)).query)["code"][0]
        status, body = await exchange(http, emulator, code, client_secret="wrong")
        assert status == 401 and body["error"] == "invalid_client"
        status, body = await exchange(http, emulator, code, redirect_uri="http://127.0.0.1:9/other")
        assert status == 400 and body["error"] == "invalid_grant"
        status, body = await exchange(http, emulator, "not-a-code")
        assert status == 400 and body["error"] == "invalid_grant"
        status, body = await exchange(http, emulator, code, grant_type="password")
        assert status == 400 and body["error"] == "unsupported_grant_type"
        status, _ = await exchange(http, emulator, code)  # the failed attempts did not use the code up
        assert status == 200


async def test_cancelling_redirects_with_access_denied(emulator):
    async with aiohttp.ClientSession() as http:
        location = await decide(http, emulator, ALICE, decision="cancel")
        query = parse_qs(urlsplit(location).query)
        assert query["error"] == ["access_denied"] and query["state"] == ["s1"] and "code" not in query
