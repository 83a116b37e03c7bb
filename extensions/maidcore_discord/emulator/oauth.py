"""Discord's OAuth2 authorization-code flow, emulated: an authorize page, the token endpoint, bearer tokens.

The emulator's application is its bot's application (client id = ``APPLICATION_ID``)
with a client secret made at start. The authorize page lets a person pick which
emulator user signs in; the rest follows Discord's documented behaviour: a code
lives 10 minutes and works once (a second use is ``invalid_grant`` and revokes
what the first use issued), the ``redirect_uri`` of the token request must equal
the authorize one, access tokens last 7 days and carry their scopes
(``identify`` for ``users/@me``, ``guilds`` for ``users/@me/guilds``).
"""

from __future__ import annotations

import base64
import html
import secrets
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from maidcore_discord.emulator import permissions as perms
from maidcore_discord.emulator.state import APPLICATION_ID

if TYPE_CHECKING:
    from maidcore_discord.emulator.server import Emulator

AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_PATHS = ("/api/oauth2/token", "/api/v10/oauth2/token")
REVOKE_PATHS = ("/api/oauth2/token/revoke", "/api/v10/oauth2/token/revoke")
CODE_SECONDS = 600
TOKEN_SECONDS = 7 * 24 * 3600
SCOPES = frozenset(
    {"identify", "email", "guilds", "guilds.members.read", "connections", "bot", "applications.commands"}
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass
class Grant:
    """What one authorization gave: a user, scopes, and the tokens issued from it."""

    user_id: str
    scopes: frozenset[str]
    redirect_uri: str
    code_expires: float
    code_used: bool = False
    tokens: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Token:
    user_id: str
    scopes: frozenset[str]
    expires: float
    grant: Grant


class OAuth2:
    """The emulator's OAuth2 provider state and routes."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.client_id = APPLICATION_ID
        self.client_secret = secrets.token_urlsafe(24)
        #: Redirect URIs the application accepts; empty = any http(s) URI on a loopback host.
        self.redirect_uris: set[str] = set()
        self.codes: dict[str, Grant] = {}
        self.access_tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(AUTHORIZE_PATH, self.authorize_page)
        app.router.add_post(AUTHORIZE_PATH, self.authorize_decision)
        for path in TOKEN_PATHS:
            app.router.add_post(path, self.token)
        for path in REVOKE_PATHS:
            app.router.add_post(path, self.revoke)

    # --- bearer tokens (REST) ----------------------------------------------------------

    def bearer(self, access_token: str) -> Token | None:
        """The live token, or ``None`` when unknown, expired or revoked."""
        token = self.access_tokens.get(access_token)
        if token is None or token.expires < time.time():
            return None
        return token

    def user_guilds(self, user_id: str) -> list[dict[str, Any]]:
        """``GET /users/@me/guilds``: partial guilds with the user's guild-level permissions."""
        out = []
        for guild in self.emulator.state.guilds.values():
            if user_id not in guild["members"]:
                continue
            out.append(
                {
                    "id": guild["id"],
                    "name": guild["name"],
                    "icon": guild["icon"],
                    "banner": None,
                    "owner": guild["owner_id"] == user_id,
                    "permissions": str(perms.base_permissions(guild, user_id)),
                    "features": list(guild["features"]),
                }
            )
        return sorted(out, key=lambda g: int(g["id"]))

    # --- authorize -----------------------------------------------------------------

    def _redirect_allowed(self, uri: str) -> bool:
        if self.redirect_uris:
            return uri in self.redirect_uris
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_HOSTS and not parts.fragment

    def _check_request(self, query: Any) -> tuple[str | None, dict[str, str]]:
        """An error shown on the page (never redirected), and the request's parameters."""
        params = {k: query.get(k, "") for k in ("client_id", "redirect_uri", "response_type", "scope", "state")}
        if params["client_id"] != self.client_id:
            return f"Unknown application (client_id {params['client_id']!r}).", params
        if not params["redirect_uri"] or not self._redirect_allowed(params["redirect_uri"]):
            return f"Invalid OAuth2 redirect_uri {params['redirect_uri']!r}.", params
        return None, params

    async def authorize_page(self, request: web.Request) -> web.Response:
        problem, params = self._check_request(request.query)
        if problem is not None:
            return _page(
                "Authorization failed", f'<p class="problem" data-testid="oauth-error">{html.escape(problem)}</p>'
            )
        scopes = params["scope"].split()
        redirect_error = self._scope_error(params)
        if redirect_error:
            raise web.HTTPFound(_with_query(params["redirect_uri"], redirect_error))
        people = [u for u in self.emulator.state.users.values() if not u.get("bot")]
        choices = "".join(
            f'<label class="person"><input type="radio" name="user_id" value="{html.escape(u["id"])}"'
            f'{" checked" if i == 0 else ""} data-testid="oauth-user-{html.escape(u["username"])}">'
            f"<span>{html.escape(u.get('global_name') or u['username'])}</span>"
            f"<small>@{html.escape(u['username'])}</small></label>"
            for i, u in enumerate(people)
        )
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k != "response_type"
        )
        scope_text = {
            "identify": "Access your username, avatar, and banner",
            "guilds": "Know what servers you're in and what you may do there",
            "email": "Access your email address",
        }
        listed = "".join(f"<li>{html.escape(scope_text.get(s, s))}</li>" for s in scopes)
        body = f"""
<p class="app"><strong>maidcore</strong> wants to access your account</p>
<form method="post" action="{AUTHORIZE_PATH}">
  {hidden}
  <fieldset><legend>Sign in as</legend>{choices}</fieldset>
  <p>This will allow the developer of maidcore to:</p>
  <ul class="scopes">{listed}</ul>
  <div class="actions">
    <button type="submit" name="decision" value="cancel" class="secondary" data-testid="oauth-cancel">Cancel</button>
    <button type="submit" name="decision" value="authorize" data-testid="oauth-authorize">Authorize</button>
  </div>
</form>"""
        return _page("Authorize access", body)

    def _scope_error(self, params: dict[str, str]) -> dict[str, str] | None:
        base = {"state": params["state"]} if params["state"] else {}
        if params.get("response_type") not in (None, "code"):
            return {"error": "unsupported_response_type", **base}
        scopes = params["scope"].split()
        if not scopes or any(s not in SCOPES for s in scopes):
            return {"error": "invalid_scope", "error_description": f"invalid scope {params['scope']!r}", **base}
        return None

    async def authorize_decision(self, request: web.Request) -> web.Response:
        form = await request.post()
        problem, params = self._check_request(form)
        if problem is not None:
            return _page(
                "Authorization failed", f'<p class="problem" data-testid="oauth-error">{html.escape(problem)}</p>'
            )
        base = {"state": params["state"]} if params["state"] else {}
        if form.get("decision") != "authorize":
            raise web.HTTPFound(
                _with_query(
                    params["redirect_uri"],
                    {"error": "access_denied", "error_description": "The resource owner denied the request", **base},
                )
            )
        scope_error = self._scope_error({**params, "response_type": "code"})
        if scope_error:
            raise web.HTTPFound(_with_query(params["redirect_uri"], scope_error))
        user_id = str(form.get("user_id", ""))
        user = self.emulator.state.users.get(user_id)
        if user is None or user.get("bot"):
            return _page("Authorization failed", '<p class="problem" data-testid="oauth-error">Pick a user.</p>')
        code = secrets.token_urlsafe(22)
        self.codes[code] = Grant(
            user_id=user_id,
            scopes=frozenset(params["scope"].split()),
            redirect_uri=params["redirect_uri"],
            code_expires=time.time() + CODE_SECONDS,
        )
        raise web.HTTPFound(_with_query(params["redirect_uri"], {"code": code, **base}))

    # --- token ---------------------------------------------------------------------

    def _client(self, request: web.Request, form: Any) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            cid, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        return cid == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def _issue(self, grant: Grant) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        token = Token(grant.user_id, grant.scopes, time.time() + TOKEN_SECONDS, grant)
        self.access_tokens[access] = token
        self.refresh_tokens[refresh] = token
        grant.tokens.update((access, refresh))
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "refresh_token": refresh,
            "scope": " ".join(sorted(grant.scopes)),
        }

    def _revoke_grant(self, grant: Grant) -> None:
        for value in grant.tokens:
            self.access_tokens.pop(value, None)
            self.refresh_tokens.pop(value, None)
        grant.tokens.clear()

    async def token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error("invalid_request", "the body must be application/x-www-form-urlencoded", 400)
        form = await request.post()
        if not self._client(request, form):
            return _oauth_error("invalid_client", "unknown client or wrong client_secret", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            code = str(form.get("code", ""))
            grant = self.codes.get(code)
            if grant is None or grant.code_expires < time.time():
                return _oauth_error("invalid_grant", 'Invalid "code" in request.', 400)
            if grant.code_used:  # RFC 6749 §4.1.2: a replayed code revokes what it issued
                self._revoke_grant(grant)
                return _oauth_error("invalid_grant", 'Invalid "code" in request.', 400)
            if form.get("redirect_uri") != grant.redirect_uri:
                return _oauth_error("invalid_grant", 'Invalid "redirect_uri" in request.', 400)
            grant.code_used = True
            return web.json_response(self._issue(grant))
        if grant_type == "refresh_token":
            token = self.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
            if token is None:
                return _oauth_error("invalid_grant", 'Invalid "refresh_token" in request.', 400)
            return web.json_response(self._issue(token.grant))
        return _oauth_error("unsupported_grant_type", f"unsupported grant_type {grant_type!r}", 400)

    async def revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not self._client(request, form):
            return _oauth_error("invalid_client", "unknown client or wrong client_secret", 401)
        value = str(form.get("token", ""))
        token = self.access_tokens.get(value) or self.refresh_tokens.get(value)
        if token is not None:
            self._revoke_grant(token.grant)
        return web.json_response({})


def _oauth_error(error: str, description: str, status: int) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(params)


def _page(title: str, body: str) -> web.Response:
    css = resources.files("maidcore_discord.emulator").joinpath("static", "oauth.css").read_text(encoding="utf-8")
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Discord emulator</title><style>{css}</style></head>"
        f'<body><main class="card"><h1>{html.escape(title)}</h1>{body}</main></body></html>'
    )
    return web.Response(text=text, content_type="text/html")
