"""Iframe-mode dashboards: the bundle's ``dashboard/`` files in a sandbox, and the RPC bridge's endpoint.

The console page frames ``dashboard/index.html`` with ``sandbox="allow-scripts"`` (no
``allow-same-origin``), and every file is served with a CSP that sandboxes it again (so
opening a file's URL directly is just as contained), allows scripts, styles, images and
fonts only from the frame's own file prefix, and no network at all (``connect-src 'none'``,
no forms). The plugin's script therefore runs in an opaque origin: it cannot read the
console's cookies or DOM, nor call the console's API. Its only way to data is
``postMessage`` to the console page (``static/dashboard_frame.js``), which checks the
message came from that frame and calls :func:`rpc` with the person's session.

A sandboxed frame's requests do not carry the console's (SameSite) session cookie, so the
file URLs hold a ticket instead: the session's key and an HMAC, keyed with the session's
CSRF secret, over guild, plugin and installed version. A ticket works while the session
lives, for that install's version only, and only for a member of the guild.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from maidcore.records import utcnow
from maidcore.web.bodies import json_object
from maidcore.web.console import dashboards, pages, security
from maidcore.web.console.dashboard_manifest import load_stored
from maidcore.web.console.viewer import Level, Viewer

routes = web.RouteTableDef()

#: Largest file the frame serves; a dashboard is a page, not a download mirror.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: The file kinds a dashboard is made of; anything else in dashboard/ is not served.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
#: A handler name as the frame may ask for it (the runner adds the ``dashboard.`` prefix).
METHOD = re.compile(r"^(dashboard\.)?[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$")
TICKET = re.compile(r"^([0-9a-f]{64})\.([0-9a-f]{64})$")


def _mac(who_csrf: str, guild_id: str, plugin_id: str, version: str) -> str:
    message = f"dashboard-frame|{guild_id}|{plugin_id}|{version}".encode()
    return hmac.new(who_csrf.encode(), message, hashlib.sha256).hexdigest()


def ticket(who: Viewer, guild_id: str, plugin_id: str, version: str) -> str:
    """The path segment that lets the sandboxed frame load this install's files (see the module docstring)."""
    return f"{who.session.session_hash}.{_mac(who.csrf_token, guild_id, plugin_id, version)}"


def frame_base(who: Viewer, guild_id: str, plugin_id: str, version: str) -> str:
    """The URL prefix of an install's dashboard files; ``index.html`` under it is the frame's page."""
    return f"/servers/{guild_id}/plugins/{plugin_id}/dashboard/frame/{ticket(who, guild_id, plugin_id, version)}/"


def safe_relative(path: str) -> str | None:
    """``path`` as a plain relative file path under ``dashboard/``, or ``None`` if it could step outside it."""
    if not path or len(path) > 512 or "\\" in path or "\x00" in path or path.startswith("/"):
        return None
    parts = path.split("/")
    if any(p in ("", ".", "..") or ":" in p for p in parts):
        return None
    return "/".join(parts)


def _origin(request: web.Request) -> str:
    public = (request.app[security.PLATFORM].settings.web.public_url or "").rstrip("/")
    if public:
        scheme, _, rest = public.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"
    return f"{request.scheme}://{request.host}"


def frame_csp(origin: str, prefix: str) -> str:
    """The policy of every served file: sandboxed, no network, resources from the frame's own files only."""
    own = f"{origin}{prefix}"
    return "; ".join(
        [
            "sandbox allow-scripts",
            "default-src 'none'",
            f"script-src {own}",
            f"style-src {own} 'unsafe-inline'",
            f"img-src {own} data: blob:",
            f"font-src {own}",
            f"media-src {own}",
            "connect-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
            f"frame-ancestors {origin}",
        ]
    )


async def _viewer_of_ticket(request: web.Request, guild_id: str, plugin_id: str, version: str) -> bool:
    match = TICKET.match(request.match_info["ticket"])
    if match is None:
        return False
    platform = request.app[security.PLATFORM]
    session = await platform.records.get_session(match.group(1))
    if session is None or session.expires_at <= utcnow():
        return False
    settings = platform.settings.web
    who = Viewer.of(session, admins=settings.admins, reviewers=settings.reviewers)
    expected = _mac(who.csrf_token, guild_id, plugin_id, version)
    return hmac.compare_digest(expected, match.group(2)) and who.level(guild_id) >= Level.VIEWER


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=message, headers={"Cache-Control": "no-store"})


@routes.get("/servers/{guild_id}/plugins/{plugin_id}/dashboard/frame/{ticket}/{path:.*}")
async def frame_file(request: web.Request) -> web.StreamResponse:
    """One file of the install's ``dashboard/`` folder, for the sandboxed frame (404 for anything else)."""
    gid, pid = request.match_info["guild_id"], request.match_info["plugin_id"]
    rel = safe_relative(request.match_info["path"])
    if rel is None:
        return web.Response(status=400, text="a dashboard file path is relative, under dashboard/, without '..'")
    platform = request.app[security.PLATFORM]
    install = await platform.records.get_install(gid, pid)
    version = await platform.records.get_version(pid, install.version) if install is not None else None
    if version is None or not await _viewer_of_ticket(request, gid, pid, version.version):
        raise _not_found("no such dashboard (the link is for another session or version; reload the dashboard)")
    board = await load_stored(platform, version)
    if not board.iframe:
        raise _not_found(f"{pid} {version.version} has no iframe dashboard")
    root = (await platform.bundles.bundle_dir(version)) / "dashboard"
    path = root / rel
    content_type = CONTENT_TYPES.get(Path(rel).suffix.lower())
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except OSError:
        inside = False
    if not inside or not path.is_file():
        raise _not_found(f"dashboard/{rel} is not in the bundle")
    if content_type is None:
        kinds = ", ".join(sorted(CONTENT_TYPES))
        raise _not_found(f"dashboard/{rel} is not a file kind dashboards serve ({kinds})")
    if path.stat().st_size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        raise _not_found(f"dashboard/{rel} is over {limit} MiB; dashboards serve smaller files")
    # built from checked parts only (an installed guild and plugin id, a ticket that matched): nothing injected
    prefix = f"/servers/{gid}/plugins/{pid}/dashboard/frame/{request.match_info['ticket']}/"
    origin = _origin(request)
    return web.Response(
        body=path.read_bytes(),
        headers={
            "Content-Type": content_type,
            "Content-Security-Policy": frame_csp(origin, prefix),
            "X-Frame-Options": "SAMEORIGIN",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "private, no-store",
        },
    )


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/dashboard/rpc")
async def rpc(request: web.Request) -> web.Response:
    """Members of the guild: call one of the plugin's ``@on_dashboard`` handlers for its iframe dashboard.

    Body ``{"method": name, "params": {...}}``; answers ``{"result": ...}`` or ``{"error": str}``
    (200 for a handler's own error, like a widget). Only the plugin's dashboard handlers are
    reachable (the runner prefixes ``dashboard.``), and only while its dashboard is an iframe one:
    a manifest dashboard's handlers stay behind their widgets' permission levels. The handler's
    params get ``viewer_level`` (``viewer``, ``manager`` or ``owner``) so it can refuse by level.
    """
    if security.viewer(request) is None:
        return web.json_response({"error": "sign in first"}, status=401)
    try:
        _who, _guild, (install, _version), board, level = await dashboards.context(request)
    except pages.Refusal as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    if not board.iframe:
        return web.json_response({"error": "this plugin's dashboard is not an iframe dashboard"}, status=404)
    settings = request.app[security.PLATFORM].settings.web
    body = await json_object(request, max_bytes=settings.max_json_body_bytes, max_depth=settings.max_json_depth)
    method, params = body.get("method"), body.get("params", {})
    if not isinstance(method, str) or not METHOD.match(method):
        return web.json_response({"error": '"method" must be a dashboard handler name like "stats"'}, status=400)
    if not isinstance(params, dict):
        return web.json_response({"error": '"params" must be an object'}, status=400)
    params = {**params, "viewer_level": level.name.lower()}  # set here, never taken from the page
    try:
        result: Any = await dashboards.call(request, install, method, params)
    except dashboards.WidgetError as exc:
        return web.json_response({"error": str(exc)})
    return web.json_response({"result": result}, dumps=dashboards.dumps)


__all__ = ["frame_base", "frame_csp", "routes", "safe_relative", "ticket"]
