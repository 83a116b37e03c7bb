"""Rendering console pages: the Jinja2 environment, static assets, redirects with a flash, refusals.

Pages are server-rendered (no build step, no CDN); a few small scripts under
``static/`` add drag and drop, live updates and charts on top of pages that
work without them.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from aiohttp import web
from pygments.formatters import HtmlFormatter

from maidcore.installs import InstallError
from maidcore.marketplace.errors import MarketplaceError
from maidcore.records import utcnow
from maidcore.web.console import security
from maidcore.web.console.viewer import Level, Viewer

FLASH_COOKIE = "mc_flash"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _read_static() -> dict[str, bytes]:
    root = resources.files("maidcore.web.console").joinpath("static")
    files = {f.name: f.read_bytes() for f in root.iterdir() if f.name[f.name.rfind(".") :] in STATIC_TYPES}
    # colours of highlighted code (reviewer queue), made by Pygments for its own class names
    files["code.css"] = HtmlFormatter(style="friendly").get_style_defs(".code").encode()
    return files


STATIC = _read_static()
STATIC_VERSION = {name: hashlib.sha256(data).hexdigest()[:12] for name, data in STATIC.items()}


def static_url(name: str) -> str:
    """``/static/<name>?v=<content hash>``: cached for a year, a new build changes the URL."""
    return f"/static/{name}?v={STATIC_VERSION[name]}"


async def static(request: web.Request) -> web.Response:
    """Anyone: the console's CSS and scripts."""
    name = request.match_info["name"]
    data = STATIC.get(name)
    if data is None:
        raise web.HTTPNotFound()
    cache = "public, max-age=31536000, immutable" if request.query.get("v") == STATIC_VERSION[name] else "no-cache"
    return web.Response(body=data, content_type=STATIC_TYPES[name[name.rfind(".") :]], headers={"Cache-Control": cache})


def _ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = (utcnow() - value).total_seconds()
    if seconds < 45:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("min", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 and unit != 'min' else ''} ago"
    return "just now"


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("maidcore.web.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals["static"] = static_url
ENV.filters["ago"] = _ago
ENV.filters["when"] = _when
ENV.filters["iso"] = lambda v: v.isoformat() if v else ""
ENV.filters["tojson_attr"] = lambda v: json.dumps(v, separators=(",", ":"))


def redirect(location: str, *, flash: tuple[str, str] | None = None) -> web.Response:
    """A 303 to ``location`` (a POST answered with a page to GET), optionally carrying a one-time message."""
    response = web.Response(status=303, headers={"Location": location})
    if flash is not None:
        kind, text = flash
        response.set_cookie(
            FLASH_COOKIE, quote(json.dumps([kind, text[:500]])), path="/", httponly=True, samesite="Lax"
        )
    return response


def _take_flash(request: web.Request) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        kind, text = json.loads(unquote(raw))
    except (ValueError, TypeError):
        return None
    return (str(kind), str(text))


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """A full page from ``templates/<template>`` with the layout's context (viewer, CSRF token, flash)."""
    who = security.viewer(request)
    flash = _take_flash(request)
    html = ENV.get_template(template).render(
        viewer=who,
        csrf_token=who.csrf_token if who else "",
        flash=flash,
        path=request.path,
        Level=Level,
        **context,
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    if flash is not None:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response


def fragment(template: str, **context: Any) -> str:
    """A partial template rendered alone (the live updates send these)."""
    return ENV.get_template(template).render(Level=Level, **context)


async def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    return render(request, "error.html", status=status, title=title, message=message)


class Refusal(Exception):
    """A page this person may not see; rendered as an error page with ``status``."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def signed_in(request: web.Request) -> Viewer:
    who = security.viewer(request)
    if who is None:
        raise web.HTTPFound("/auth/login?next=" + quote(request.path_qs, safe="/"))
    return who


def reviewer(request: web.Request) -> Viewer:
    who = signed_in(request)
    if not who.is_reviewer:
        raise Refusal(
            403,
            "Reviewers only",
            "The review queue is for reviewers. A platform admin adds reviewers by Discord user id "
            f"(web.reviewers); yours is {who.user_id}.",
        )
    return who


def guild_admin(request: web.Request, guild_id: str) -> Viewer:
    who = signed_in(request)
    if not (guild_id.isascii() and guild_id.isdigit()):  # a platform admin manages every guild, but only real ones
        raise Refusal(404, "No such server", f"{guild_id!r} is not a Discord server id (those are all digits).")
    if not who.manages(guild_id):
        guild = who.guild(guild_id)
        what = f"“{guild['name']}”" if guild else f"guild {guild_id}"
        raise Refusal(
            403,
            "Server admins only",
            f"Managing plugins on {what} needs the Manage Server permission there"
            + ("" if guild else " (and you are not a member of it)")
            + ". If it was given to you after you signed in, sign out and in again.",
        )
    return who


def page(handler: Handler) -> Handler:
    """A GET page: refusals render as error pages, marketplace errors (not found, ...) too."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refusal as exc:
            return await error_page(request, exc.status, exc.title, exc.message)
        except MarketplaceError as exc:
            return await error_page(request, exc.status, "Not possible", str(exc))

    return wrapped


def action(back: Callable[[web.Request], str]) -> Callable[[Handler], Handler]:
    """A form POST: on success the handler redirects; a refused change goes ``back`` with the reason shown."""

    def deco(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except Refusal as exc:
                return await error_page(request, exc.status, exc.title, exc.message)
            except (MarketplaceError, InstallError, ValueError) as exc:
                return redirect(back(request), flash=("error", str(exc)))

        return wrapped

    return deco


async def form(request: web.Request) -> dict[str, Any]:
    """The posted form as a dict of str (lists for repeated names)."""
    data = await request.post()
    out: dict[str, Any] = {}
    for key in data:
        values = data.getall(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


def field_list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
