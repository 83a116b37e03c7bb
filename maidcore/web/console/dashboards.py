"""Plugin dashboards for one guild: the page layout server-side, each widget's data from the plugin.

A widget's data is the plugin's ``@plugin.on_dashboard`` handler's answer, asked
through the runner with that guild's context (calls the handler makes act for
that guild). Each widget loads on its own, so a handler that fails or is slow
shows its error in its widget and never takes the page down. Forms save through
their save handler after the console checked every value against the field.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from aiohttp import web
from markdown_it import MarkdownIt

from maidcore.runner.rpc import RemoteError
from maidcore.runner.worker import WorkerParked, WorkerStarting
from maidcore.web.console import dashboard_frame, dashboard_manifest, guilds, pages, security
from maidcore.web.console.dashboard_manifest import Dashboard, Widget
from maidcore.web.console.viewer import Level

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class WidgetError(Exception):
    """What a widget shows instead of its data; ``str()`` is for the person looking at it."""


def _platform(request: web.Request) -> Any:
    return request.app[security.PLATFORM]


async def context(request: web.Request) -> tuple[Any, dict[str, Any], Any, Dashboard, Level]:
    """Viewer, guild, install, dashboard and the viewer's level; refusals for anyone not in the guild."""
    gid, pid = request.match_info["guild_id"], request.match_info["plugin_id"]
    who = pages.signed_in(request)
    level = who.level(gid)
    if level < Level.VIEWER:
        raise pages.Refusal(403, "Members only", f"Dashboards of guild {gid} are for its members.")
    platform = _platform(request)
    install = await platform.records.get_install(gid, pid)
    if install is None:
        raise pages.Refusal(404, "Not installed", f"{pid} is not installed on this server.")
    version = await platform.records.get_version(pid, install.version)
    board = await dashboard_manifest.load_stored(platform, version) if version is not None else Dashboard()
    guild = who.guild(gid) or {"id": gid, "name": (await guilds.names(platform, [gid]))[gid]}
    return who, guild, (install, version), board, level


@routes.get("/servers/{guild_id}/plugins/{plugin_id}/dashboard")
@pages.page
async def dashboard(request: web.Request) -> web.Response:
    """Members of the guild: the plugin's dashboard, each widget shown to the levels it names."""
    who, guild, (install, version), board, level = await context(request)
    visible = [p for p in board.pages if level >= p.permission]
    wanted = request.query.get("page")
    current = next((p for p in visible if p.id == wanted), visible[0] if visible else None)
    return pages.render(
        request,
        "dashboard.html",
        title=f"{(version.manifest.get('name') if version else None) or install.plugin_id} dashboard",
        guild=guild,
        install=install,
        version=version,
        board=board,
        pages_visible=visible,
        current=current,
        level=level,
        manages=level >= Level.MANAGER,
        base=f"/servers/{guild['id']}/plugins/{install.plugin_id}/dashboard",
        frame=dashboard_frame.frame_base(who, guild["id"], install.plugin_id, version.version) + "index.html"
        if board.iframe and version is not None
        else None,
    )


async def call(request: web.Request, install: Any, method: str, params: dict[str, Any]) -> Any:
    """The plugin's ``@on_dashboard(method)`` answer for this install; ``WidgetError`` says what went wrong."""
    runner = _platform(request).runner
    if runner is None or not hasattr(runner, "call_dashboard"):
        raise WidgetError("the plugin runner is not running on this node")
    if not install.enabled:
        raise WidgetError("the plugin is disabled on this server; enable it to see its data")
    try:
        result = await runner.call_dashboard(install.server_id, install.plugin_id, method, params)
    except LookupError:
        raise WidgetError("the plugin is not running on this server") from None
    except WorkerParked as exc:
        if exc.parked:  # the reason (the worker's stderr) is for its developer: it is in the plugin's logs
            raise WidgetError(
                "the plugin's worker is stopped after repeated crashes (parked); its developer finds why in the "
                "plugin's logs, and a change to this install (disable and enable it, an update) gives it another try"
            ) from None
        raise WidgetError("the plugin's worker is shut down on this node (the node is stopping)") from None
    except WorkerStarting:
        raise WidgetError(
            "the plugin's worker is still starting (the machine is busy, or it is restarting after a crash); "
            "reload in a moment"
        ) from None
    except ConnectionError:
        raise WidgetError("the plugin's worker stopped while answering (it crashed or restarted); try again") from None
    except RemoteError as exc:
        code = exc.error.get("code") if isinstance(exc.error, dict) else None
        if code == -32601:
            raise WidgetError(f'the plugin has no @plugin.on_dashboard("{method}") handler') from None
        raise WidgetError(f"the plugin answered with an error: {exc}") from None
    except TimeoutError:
        raise WidgetError(f"the plugin's {method} handler did not answer in time") from None
    if not isinstance(result, dict):
        raise WidgetError(f"the {method} handler returned {type(result).__name__}, not an object")
    if isinstance(result.get("error"), str):  # the SDK answers a handler's exception as {"error": str(exc)}
        raise WidgetError(f"the {method} handler failed: {result['error']}")
    return result


def _widget(board: Dashboard, request: web.Request, level: Level) -> Widget:
    widget = board.widget(request.match_info["address"])
    page = board.page_of(request.match_info["address"])
    if widget is None or page is None:
        raise web.HTTPNotFound(text="no such widget")
    if level < widget.permission:
        raise web.HTTPForbidden(text=f"this widget is for the guild's {widget.permission.name.lower()}s")
    return widget


def _params(widget: Widget, board: Dashboard, **extra: Any) -> dict[str, Any]:
    page = board.page_of(widget.address)
    return {"widget_id": widget.id, "page_id": page.id if page else "", **extra}


async def _picker_options(request: web.Request, guild_id: str, widget: Widget) -> dict[str, Any]:
    kinds = {f["type"] for f in widget.fields}
    out: dict[str, Any] = {}
    platform = _platform(request)
    if "channel" in kinds:
        out["channels"] = await guilds.channels(platform, guild_id)
    if "role" in kinds:
        out["roles"] = await guilds.roles(platform, guild_id)
    return out


@routes.get("/servers/{guild_id}/plugins/{plugin_id}/dashboard/widgets/{address}")
async def widget_data(request: web.Request) -> web.Response:
    """Members who may see the widget: its data (``{"data"}`` or ``{"error"}``, always 200 for a handler error)."""
    if security.viewer(request) is None:
        return web.json_response({"error": "sign in first"}, status=401)
    try:
        _who, guild, (install, _version), board, level = await context(request)
    except pages.Refusal as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    widget = _widget(board, request, level)
    if widget.rpc is None:
        return web.json_response({"data": {}})
    try:
        data = await call(request, install, widget.rpc, _params(widget, board))
    except WidgetError as exc:
        return web.json_response({"error": str(exc)})
    if widget.type == "markdown":
        data = {**data, "html": MARKDOWN.render(str(data.get("markdown") or data.get("text") or ""))}
    if widget.type == "form":
        values = data.get("values") if isinstance(data.get("values"), dict) else data
        data = {"values": values, **await _picker_options(request, guild["id"], widget)}
    return web.json_response({"data": data}, dumps=dumps)


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def clean_values(widget: Widget, raw: Any, choices: dict[str, Any]) -> dict[str, Any]:
    """The posted values checked against the form's fields; ``ValueError`` names the first bad one."""
    if not isinstance(raw, dict):
        raise ValueError("send the form's values as an object")
    out: dict[str, Any] = {}
    for f in widget.fields:
        key, kind, label = f["key"], f["type"], f["label"]
        value = raw.get(key)
        if value in (None, "", []):
            if f.get("required"):
                raise ValueError(f"{label} is required")
            out[key] = False if kind == "toggle" else ([] if kind == "multi_select" else None)
            continue
        allowed = {o["value"] for o in f.get("options") or []}
        if kind in ("number", "range"):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{label} must be a number") from None
            low, high = f.get("min"), f.get("max")
            if (low is not None and number < float(low)) or (high is not None and number > float(high)):
                raise ValueError(f"{label} must be between {low} and {high}")
            value = int(number) if number.is_integer() else number
        elif kind == "toggle":
            value = value is True or str(value).lower() in ("true", "on", "1", "yes")
        elif kind == "color":
            if not isinstance(value, str) or not COLOR.match(value):
                raise ValueError(f"{label} must be a colour like #5b5bd6")
        elif kind == "date":
            if not isinstance(value, str) or not DATE.match(value):
                raise ValueError(f"{label} must be a date YYYY-MM-DD")
        elif kind == "select":
            if str(value) not in allowed:
                raise ValueError(f"{label} must be one of its options")
            value = str(value)
        elif kind == "multi_select":
            items = value if isinstance(value, list) else [value]
            if any(str(v) not in allowed for v in items):
                raise ValueError(f"{label} must be chosen from its options")
            value = [str(v) for v in items]
        elif kind in ("channel", "role"):
            known = {c["id"] for c in choices.get("channels" if kind == "channel" else "roles", [])}
            if str(value) not in known:
                raise ValueError(f"{label} must be a {kind} of this server")
            value = str(value)
        else:
            value = str(value)
            if len(value) > 4000:
                raise ValueError(f"{label} is longer than 4000 characters")
        out[key] = value
    return out


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/dashboard/widgets/{address}/save")
async def save(request: web.Request) -> web.Response:
    """Members at the form's level (managers by default): check the values, then call the save handler."""
    if security.viewer(request) is None:
        return web.json_response({"error": "sign in first"}, status=401)
    try:
        _who, guild, (install, _version), board, level = await context(request)
    except pages.Refusal as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    widget = _widget(board, request, level)
    if widget.type != "form" or widget.save_rpc is None:
        return web.json_response({"error": "this widget cannot be saved"}, status=400)
    try:
        body = await request.json()
        raw = body.get("values") if isinstance(body, dict) else None
        values = clean_values(widget, raw, await _picker_options(request, guild["id"], widget))
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    try:
        result = await call(request, install, widget.save_rpc, _params(widget, board, values=values))
    except WidgetError as exc:
        return web.json_response({"error": str(exc)}, status=502)
    log.info("dashboard form saved", extra={"plugin_id": install.plugin_id, "server_id": install.server_id})
    message = result.get("message") if isinstance(result.get("message"), str) else "Saved."
    return web.json_response({"ok": True, "message": message, "values": values})


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/dashboard/widgets/{address}/action")
async def action(request: web.Request) -> web.Response:
    """Members at the button's level (managers by default): run the button's handler."""
    if security.viewer(request) is None:
        return web.json_response({"error": "sign in first"}, status=401)
    try:
        _who, _guild, (install, _version), board, level = await context(request)
    except pages.Refusal as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    widget = _widget(board, request, level)
    if widget.type != "action_button" or widget.rpc is None:
        return web.json_response({"error": "this widget is not an action button"}, status=400)
    try:
        result = await call(request, install, widget.rpc, _params(widget, board, action=widget.id))
    except WidgetError as exc:
        return web.json_response({"error": str(exc)}, status=502)
    message = result.get("message") if isinstance(result.get("message"), str) else "Done."
    return web.json_response({"ok": True, "message": message})


__all__ = ["routes"]
