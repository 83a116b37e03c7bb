"""What every console request goes through: the session cookie, CSRF on every state change, security headers.

- The session cookie is HttpOnly, SameSite=Lax (a link from Discord still finds you
  signed in; other sites' POSTs do not carry it), and Secure with the ``__Host-``
  prefix whenever the console is served over TLS (``web.public_url`` https, or a TLS socket).
- Every POST/PUT/PATCH/DELETE outside ``/api/`` (bearer tokens, no cookies) must
  carry the session's CSRF token, as the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header; a missing or wrong one is refused with 403.
- Every response gets a Content-Security-Policy that allows only this origin's
  scripts and styles (no inline script, no CDN), no framing of the console, frames
  only from here (iframe dashboards, sandboxed by their own policy), and forms
  posting only here.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from maidcore.records import utcnow
from maidcore.web.auth import PLATFORM
from maidcore.web.console.viewer import Viewer

__all__ = ["CSP", "PLATFORM", "VIEWER", "middleware", "viewer"]

SESSION_COOKIE = "mc_session"
SECURE_SESSION_COOKIE = "__Host-mc_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
VIEWER: web.RequestKey[Viewer | None] = web.RequestKey("viewer", object)  # type: ignore[arg-type]

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "font-src 'self'",
        "frame-src 'self'",  # iframe dashboards only: their own CSP sandboxes them (dashboard_frame.py)
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_secure(request: web.Request) -> bool:
    public = request.app[PLATFORM].settings.web.public_url or ""
    return request.secure or public.startswith("https://")


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, secure=is_secure(request), samesite="Lax"
    )


def clear_cookie(request: web.Request, response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path="/", secure=is_secure(request), httponly=True, samesite="Lax")


def session_cookie_name(request: web.Request) -> str:
    return SECURE_SESSION_COOKIE if is_secure(request) else SESSION_COOKIE


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str, *, max_age: int) -> None:
    set_cookie(request, response, session_cookie_name(request), token, max_age=max_age)


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    clear_cookie(request, response, session_cookie_name(request))


def viewer(request: web.Request) -> Viewer | None:
    """The signed-in person, or ``None``."""
    return request.get(VIEWER)


async def _load_viewer(request: web.Request) -> Viewer | None:
    token = request.cookies.get(session_cookie_name(request))
    if not token or len(token) > 200:
        return None
    platform = request.app[PLATFORM]
    session = await platform.records.get_session(hashlib.sha256(token.encode()).hexdigest())
    if session is None or session.expires_at <= utcnow():
        return None
    web_settings = platform.settings.web
    return Viewer.of(session, admins=web_settings.admins, reviewers=web_settings.reviewers)


async def _csrf_ok(request: web.Request, who: Viewer | None) -> bool:
    if who is None:
        return False
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()  # aiohttp keeps the parsed form for the handler
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return given is not None and secrets.compare_digest(given, who.csrf_token)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        return await handler(request)
    who = await _load_viewer(request)
    request[VIEWER] = who
    if request.method not in SAFE_METHODS and not await _csrf_ok(request, who):
        from maidcore.web.console import pages

        response: web.StreamResponse = await pages.error_page(
            request,
            403,
            "Form expired",
            "This form was not sent from a page of this console (missing or wrong CSRF token), or your "
            "session ended. Reload the page and try again."
            if who
            else "Sign in first.",
        )
    else:
        try:
            response = await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
            if request.method not in ("GET", "HEAD") or "text/html" not in request.headers.get("Accept", ""):
                _harden(exc, who)
                raise
            from maidcore.web.console import pages

            # a stale or mistyped link in a browser: the console's page, with its navigation and a way back
            said = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else ""
            response = await pages.error_page(
                request,
                exc.status,
                "Page not found" if exc.status == 404 else "Not a page",
                said
                or (
                    f"Nothing is at {request.path}. It may have moved, or the link is mistyped."
                    if exc.status == 404
                    else f"{request.path} only takes a form sent from its page; go back and use the form."
                ),
            )
        except web.HTTPException as exc:
            _harden(exc, who)
            raise
    if not response.prepared:  # a live stream sets its own headers before it starts
        _harden(response, who)
    return response


def _harden(response: web.StreamResponse, who: Viewer | None) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if who is not None:
        response.headers.setdefault("Cache-Control", "no-store")
