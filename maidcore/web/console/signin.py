"""Sign-in with Discord: the OAuth2 authorization-code flow, and the console session it opens.

``/auth/login`` sends the person to Discord's authorize page with a fresh ``state``
(kept in a short-lived HttpOnly cookie); ``/auth/callback`` checks the state,
exchanges the code at the token endpoint, reads ``users/@me`` and
``users/@me/guilds`` and stores a session whose random token goes into the
session cookie (only its sha256 is stored). In local mode the event source hands
out the emulator's own OAuth2 application, so the flow is the production one.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from maidcore.records import ConsoleSession, utcnow
from maidcore.web.console import pages, security

if TYPE_CHECKING:
    from maidcore.platform import Platform

log = logging.getLogger(__name__)

SCOPES = "identify guilds"
STATE_COOKIE = "mc_oauth_state"
STATE_SECONDS = 600
CALLBACK_PATH = "/auth/callback"


@dataclass(frozen=True)
class DiscordOAuth2:
    """Where and as which application people sign in; an event source offers one (``oauth2_endpoints()``)."""

    authorize_url: str
    token_url: str
    api_base: str  # users/@me and users/@me/guilds live under it
    client_id: str | None = None  # None: taken from settings.web.oauth_client_id
    client_secret: str | None = None


class SignInFailed(Exception):
    """Signing in did not work; ``str()`` says why in words a person can act on."""


def endpoints(platform: Platform) -> DiscordOAuth2:
    """The OAuth2 endpoints and credentials to use now; ``SignInFailed`` when sign-in is not configured."""
    offer = getattr(platform.events, "oauth2_endpoints", None)
    found = offer() if callable(offer) else None
    if not isinstance(found, DiscordOAuth2):
        raise SignInFailed(
            "sign-in with Discord is unavailable: the event source "
            f"({platform.settings.event_source!r}) offers no Discord OAuth2 endpoints"
        )
    web_settings = platform.settings.web
    client_id = found.client_id or web_settings.oauth_client_id
    secret = found.client_secret or (
        web_settings.oauth_client_secret.get_secret_value() if web_settings.oauth_client_secret else None
    )
    if not client_id or not secret:
        raise SignInFailed(
            "sign-in with Discord is not configured: set web.oauth_client_id and web.oauth_client_secret "
            "(MAIDCORE_WEB__OAUTH_CLIENT_ID / MAIDCORE_WEB__OAUTH_CLIENT_SECRET) to your Discord application's "
            "OAuth2 client, and add <console address>/auth/callback to its redirects"
        )
    return DiscordOAuth2(found.authorize_url, found.token_url, found.api_base, client_id, secret)


def redirect_uri(request: web.Request) -> str:
    public = request.app[security.PLATFORM].settings.web.public_url
    base = public.rstrip("/") if public else f"{request.scheme}://{request.host}"
    return base + CALLBACK_PATH


def _safe_next(target: str | None) -> str:
    """Only same-site paths: ``/x`` but never ``//host`` or a scheme."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def login(request: web.Request) -> web.StreamResponse:
    """Anyone: go to Discord's authorize page."""
    platform = request.app[security.PLATFORM]
    try:
        oauth = endpoints(platform)
    except SignInFailed as exc:
        return await pages.error_page(request, 503, "Sign-in unavailable", str(exc))
    state = secrets.token_urlsafe(24)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": oauth.client_id,
            "scope": SCOPES,
            "state": state,
            "redirect_uri": redirect_uri(request),
            "prompt": "consent",
        }
    )
    response = pages.redirect(f"{oauth.authorize_url}?{query}")
    target = _safe_next(request.query.get("next"))
    security.set_cookie(request, response, STATE_COOKIE, f"{state}|{target}", max_age=STATE_SECONDS)
    return response


async def _exchange(oauth: DiscordOAuth2, code: str, redirect: str) -> str:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
    credentials = base64.b64encode(f"{oauth.client_id}:{oauth.client_secret}".encode()).decode()
    timeout = aiohttp.ClientTimeout(total=15)
    headers = {"Authorization": f"Basic {credentials}"}
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.post(oauth.token_url, data=form, headers=headers) as resp,
    ):
        body = await resp.json(content_type=None)
        if resp.status != 200 or not isinstance(body, dict) or "access_token" not in body:
            detail = (body.get("error_description") or body.get("error")) if isinstance(body, dict) else None
            raise SignInFailed(f"Discord did not accept the sign-in code ({detail or resp.status}); sign in again")
        return str(body["access_token"])


async def _read(oauth: DiscordOAuth2, access_token: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    headers = {"Authorization": f"Bearer {access_token}"}
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as http:
        async with http.get(oauth.api_base + "/users/@me") as resp:
            if resp.status != 200:
                raise SignInFailed(f"Discord refused to say who you are (HTTP {resp.status}); sign in again")
            user = await resp.json()
        async with http.get(oauth.api_base + "/users/@me/guilds") as resp:
            if resp.status != 200:
                raise SignInFailed(f"Discord refused to list your servers (HTTP {resp.status}); sign in again")
            guilds = await resp.json()
    return user, guilds


def _guild(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(g.get("id")),
        "name": str(g.get("name") or g.get("id")),
        "icon": g.get("icon"),
        "owner": bool(g.get("owner")),
        "permissions": str(g.get("permissions") or "0"),
    }


async def callback(request: web.Request) -> web.StreamResponse:
    """Anyone coming back from Discord: check ``state``, exchange the code, open a session."""
    platform = request.app[security.PLATFORM]
    held = request.cookies.get(STATE_COOKIE, "")
    expected, _, target = held.partition("|")
    given = request.query.get("state", "")
    if not expected or not secrets.compare_digest(expected, given):
        response = await pages.error_page(
            request,
            400,
            "Sign-in failed",
            "The sign-in answer does not match a sign-in started here (wrong or missing state); "
            "it may be stale or forged. Start again from Sign in.",
        )
        security.clear_cookie(request, response, STATE_COOKIE)
        return response
    if "error" in request.query:
        reason = request.query.get("error_description") or request.query["error"]
        response = await pages.error_page(request, 400, "Sign-in cancelled", f"Discord said: {reason}.")
        security.clear_cookie(request, response, STATE_COOKIE)
        return response
    code = request.query.get("code", "")
    try:
        if not code:
            raise SignInFailed("Discord sent no code back; sign in again")
        oauth = endpoints(platform)
        access = await _exchange(oauth, code, redirect_uri(request))
        user, guilds = await _read(oauth, access)
    except (SignInFailed, aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("console sign-in failed: %s", exc)
        response = await pages.error_page(request, 400, "Sign-in failed", str(exc))
        security.clear_cookie(request, response, STATE_COOKIE)
        return response
    token = secrets.token_urlsafe(32)
    hours = platform.settings.web.session_hours
    session = ConsoleSession(
        session_hash=hash_session(token),
        user_id=str(user["id"]),
        username=str(user.get("global_name") or user.get("username") or user["id"]),
        avatar=user.get("avatar"),
        guilds=[_guild(g) for g in guilds if isinstance(g, dict) and g.get("id")],
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    await platform.records.put_session(session)
    await platform.records.delete_expired_sessions()  # sign-ins sweep the ended ones
    log.info("console sign-in", extra={"user_id": session.user_id, "guilds": len(session.guilds)})
    response = pages.redirect(_safe_next(target))
    security.clear_cookie(request, response, STATE_COOKIE)
    security.set_session_cookie(request, response, token, max_age=int(hours * 3600))
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """Signed in: end the session (POST with the CSRF token)."""
    viewer = security.viewer(request)
    if viewer is not None:
        await request.app[security.PLATFORM].records.delete_session(viewer.session.session_hash)
    response = pages.redirect("/")
    security.clear_session_cookie(request, response)
    return response


def hash_session(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
