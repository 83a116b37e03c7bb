"""The Developer Portal: create a plugin, upload zips, read findings, publish, and run it (logs, metrics, secrets).

A plugin's developer is whoever created it or first uploaded it (their Discord
user id is the developer name the records keep); platform admins see every plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from maidcore.marketplace import publishing, review
from maidcore.marketplace.errors import MarketplaceError, Refused
from maidcore.marketplace.findings import as_dicts
from maidcore.marketplace.tokens import create_token
from maidcore.marketplace.upgrades import required_capabilities
from maidcore.marketplace.versions import latest_published
from maidcore.records import PluginRecord, Role, VersionStatus
from maidcore.scope import Scope
from maidcore.web.console import guilds, live, pages, security
from maidcore.web.console.capability_text import by_tier
from maidcore.web.console.catalogue import hosts
from maidcore.web.console.hints import FIX_HINTS
from maidcore.web.console.viewer import Viewer

routes = web.RouteTableDef()

MAX_UPLOAD = 10 * 1024 * 1024
TEMPLATES = {
    "basic": "Answers !ping with Pong! (message handler)",
    "slash": "A /hello slash command",
    "welcome": "Greets new members in a channel set with /welcome-channel (KV)",
    "cron": "Two scheduled tasks (daily summary, heartbeat)",
}
PERIODS = ("1h", "24h", "7d", "30d", "90d")  # SDK contract §4.8
PLUGIN_ID_HELP = "3-32 characters: a lowercase letter first, then lowercase letters, digits or _"


def _platform(request: web.Request) -> Any:
    return request.app[security.PLATFORM]


async def owned(request: web.Request, plugin_id: str) -> tuple[Viewer, PluginRecord]:
    """The signed-in developer of ``plugin_id`` (or a platform admin); else a refusal."""
    who = pages.signed_in(request)
    plugin = await _platform(request).records.get_plugin(plugin_id)
    if plugin is None:
        raise pages.Refusal(
            404, "No such plugin", f"There is no plugin {plugin_id!r}. Create it on the Developer Portal."
        )
    if not who.owns(plugin):
        raise pages.Refusal(
            403,
            "Not your plugin",
            f"Plugin {plugin_id!r} belongs to another developer; only its developer and platform admins manage it.",
        )
    return who, plugin


def _back_to_plugin(request: web.Request) -> str:
    pid = request.match_info.get("plugin_id")
    return f"/dev/plugins/{pid}" if pid else "/dev"


# --- the list and creating ---------------------------------------------------------------


async def _portal_rows(request: web.Request, who: Viewer) -> list[dict[str, Any]]:
    records = _platform(request).records
    rows = []
    for plugin in await records.list_plugins():
        if not who.owns(plugin):
            continue
        versions = await records.list_versions(plugin.plugin_id)
        installs = await records.list_installs(plugin_id=plugin.plugin_id)
        published = await latest_published(records, plugin.plugin_id)
        rows.append(
            {
                "plugin": plugin,
                "latest": versions[-1] if versions else None,
                "published": published,
                "installs": len(installs),
                "name": (versions[-1].manifest.get("name") if versions else None) or plugin.plugin_id,
            }
        )
    return rows


@routes.get("/dev")
@pages.page
async def portal(request: web.Request) -> web.Response:
    """Signed in: your plugins (platform admins: every plugin), and API tokens for the CLI."""
    who = pages.signed_in(request)
    rows = await _portal_rows(request, who)
    return pages.render(request, "portal.html", title="Developer Portal", rows=rows, new_token=None)


@routes.post("/dev/tokens")
@pages.action(lambda request: "/dev")
async def new_token(request: web.Request) -> web.Response:
    """Signed in: an API token acting as you (developer role), shown once, for `curl` and scripts."""
    who = pages.signed_in(request)
    token, _record = await create_token(_platform(request).records, Role.DEVELOPER, who.developer)
    rows = await _portal_rows(request, who)
    return pages.render(request, "portal.html", title="Developer Portal", rows=rows, new_token=token)


@routes.get("/dev/new")
@pages.page
async def new_plugin_form(request: web.Request) -> web.Response:
    pages.signed_in(request)
    template = request.query.get("template", "")
    values = {"plugin_id": request.query.get("plugin_id", "")[:64], "template": template * (template in TEMPLATES)}
    return pages.render(
        request, "plugin_new.html", title="New plugin", templates=TEMPLATES, values=values, id_help=PLUGIN_ID_HELP
    )


_NEW_FORM = web.RequestKey("new_plugin_form", dict)


def _new_again(request: web.Request) -> str:
    """Back to the form with what was typed in it (a refused id is shown to be fixed, not typed again)."""
    sent = request.get(_NEW_FORM) or {}
    return "/dev/new?" + urlencode(sent) if sent else "/dev/new"


@routes.post("/dev/new")
@pages.action(_new_again)
async def create_plugin(request: web.Request) -> web.Response:
    """Signed in: reserve a plugin id for yourself; the page then offers a starter project to download."""
    who = pages.signed_in(request)
    data = await pages.form(request)
    pid = str(data.get("plugin_id", "")).strip()
    template = str(data.get("template", "basic"))
    request[_NEW_FORM] = {"plugin_id": pid, "template": template}
    if not review._ID.match(pid):
        raise ValueError(f"plugin id {pid!r} is not valid: {PLUGIN_ID_HELP}")
    if template not in TEMPLATES:
        raise ValueError(f"choose a starter template: {', '.join(TEMPLATES)}")
    records = _platform(request).records
    existing = await records.get_plugin(pid)
    if existing is not None and existing.developer != who.developer:
        raise ValueError(f"plugin id {pid!r} is taken by another developer; choose another")
    if existing is None:
        await records.add_plugin(PluginRecord(plugin_id=pid, developer=who.developer))
    return pages.redirect(
        f"/dev/plugins/{pid}?template={template}",
        flash=("ok", f"Plugin {pid} is yours. Download the starter project, change it, and upload its zip here."),
    )


def _starter_zip(plugin_id: str, template: str) -> bytes:
    """The SDK's ``mmo new`` project for this id, zipped (the project's files at the zip's root)."""
    with tempfile.TemporaryDirectory(prefix="maidcore-starter-") as tmp:
        target = Path(tmp) / plugin_id
        done = subprocess.run(
            [sys.executable, "-m", "mmo_maid_sdk.cli", "new", plugin_id, "-t", str(target), "--template", template],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise MarketplaceError(f"the starter project could not be made: {done.stderr.strip() or done.stdout}")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(target.rglob("*")):
                if path.is_file():
                    zf.write(path, f"{plugin_id}/{path.relative_to(target).as_posix()}")
        return out.getvalue()


@routes.get("/dev/plugins/{plugin_id}/starter.zip")
@pages.page
async def starter(request: web.Request) -> web.Response:
    """The plugin's developer: a starter project made by the SDK's ``mmo new``."""
    _who, plugin = await owned(request, request.match_info["plugin_id"])
    template = request.query.get("template", "basic")
    if template not in TEMPLATES:
        raise pages.Refusal(400, "Unknown template", f"Choose one of: {', '.join(TEMPLATES)}.")
    data = await asyncio.to_thread(_starter_zip, plugin.plugin_id, template)
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{plugin.plugin_id}-starter.zip"'},
    )


# --- uploading ---------------------------------------------------------------------------


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _upload_name(filename: str | None) -> str:
    """The name the developer's file had (so errors name *their* zip), made safe to store under."""
    name = _UNSAFE_NAME.sub("_", PurePosixPath((filename or "").replace("\\", "/")).name).strip("._")[:100]
    return name if name.lower().endswith(".zip") and len(name) > 4 else "bundle.zip"


async def _receive(request: web.Request, folder: Path) -> Path | None:
    """Copy the multipart ``bundle`` file into ``folder`` under its own name; None when no file was sent."""
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise MarketplaceError("the upload is over 10 MB; bundles may be 10 MB zipped") from None
    field = form.get("bundle")
    if not isinstance(field, web.FileField):
        return None
    dest = folder / _upload_name(field.filename)

    def copy() -> int:
        field.file.seek(0)
        folder.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as out:
            shutil.copyfileobj(field.file, out, 256 * 1024)
            return out.tell()

    return dest if await asyncio.to_thread(copy) else None


@routes.post("/dev/upload")
async def upload(request: web.Request) -> web.Response:
    """Signed in: a zip (multipart field ``bundle``) is reviewed at once; answers the version page to go to.

    Scripts send ``Accept: application/json`` and get ``{"location", "status"}`` (or ``{"error"}``);
    a plain form gets a redirect.
    """
    who = pages.signed_in(request)
    wants_json = "application/json" in request.headers.get("Accept", "")
    expect = request.query.get("plugin")
    back = f"/dev/plugins/{expect}" if expect else "/dev"

    def refuse(message: str, status: int = 400, findings: list[dict] | None = None) -> web.Response:
        if wants_json:  # the page lists the findings under the message
            return web.json_response({"error": message, "findings": findings or []}, status=status)
        listed = "; ".join(f["message"] for f in (findings or [])[:3])
        return pages.redirect(back, flash=("error", f"{message}: {listed}" if listed else message))

    platform = _platform(request)
    folder = platform.data_dir / "uploads" / uuid.uuid4().hex
    try:
        try:
            if not request.content_type.startswith("multipart/"):
                return refuse("send the zip as multipart/form-data in a field named bundle")
            tmp = await _receive(request, folder)
            if tmp is None:
                return refuse("choose a plugin zip to upload (the bundle field was empty)")
            if expect:
                with zipfile.ZipFile(tmp) as zf, contextlib.suppress(KeyError, ValueError, AttributeError):
                    declared = json.loads(zf.read("manifest.json")).get("id")
                    if declared and declared != expect:
                        return refuse(
                            f"this zip is plugin {declared!r} (manifest.json id), not {expect!r}; "
                            f"upload it on {declared}'s page or fix the id"
                        )
            record = await review.submit(platform, who.developer, tmp, is_admin=who.is_admin)
        except Refused as exc:
            return refuse(str(exc), 422, as_dicts(exc.findings))
        except zipfile.BadZipFile:
            return refuse("the upload is not a zip file; build it with `mmo bundle`", 422)
        except MarketplaceError as exc:
            return refuse(str(exc), exc.status)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    location = f"/dev/plugins/{record.plugin_id}/versions/{record.version}"
    if wants_json:
        return web.json_response({"location": location, "status": record.status.value}, status=201)
    return pages.redirect(location, flash=("ok", f"{record.plugin_id} {record.version} uploaded and reviewed."))


# --- one plugin --------------------------------------------------------------------------


async def _denied_summary(platform: Any, plugin_id: str, declared: frozenset[str]) -> list[dict[str, Any]]:
    by_cap: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "servers": set(), "last_at": None})
    for d in await platform.records.list_denied_calls(plugin_id=plugin_id):
        entry = by_cap[d.capability]
        entry["count"] += d.count
        entry["servers"].add(d.server_id)
        entry["last_at"] = max(filter(None, [entry["last_at"], d.last_at]))
        entry["method"] = entry.get("method") or d.last_method
    return [
        {
            "capability": cap,
            "count": e["count"],
            "servers": len(e["servers"]),
            "last_at": e["last_at"],
            "method": e["method"],
            "declared": cap in declared,
        }
        for cap, e in sorted(by_cap.items())
    ]


@routes.get("/dev/plugins/{plugin_id}")
@pages.page
async def plugin_page(request: web.Request) -> web.Response:
    """The plugin's developer: versions and statuses, upload, where it is installed, refused calls."""
    who, plugin = await owned(request, request.match_info["plugin_id"])
    platform = _platform(request)
    records = platform.records
    versions = list(reversed(await records.list_versions(plugin.plugin_id)))
    installs = await records.list_installs(plugin_id=plugin.plugin_id)
    names = await guilds.names(platform, [i.server_id for i in installs], who.session.guilds)
    published = await latest_published(records, plugin.plugin_id)
    declared = required_capabilities(published.manifest) if published else frozenset()
    return pages.render(
        request,
        "plugin.html",
        title=plugin.plugin_id,
        plugin=plugin,
        versions=versions,
        installs=installs,
        names=names,
        published=published,
        denied=await _denied_summary(platform, plugin.plugin_id, declared),
        starter_template=request.query.get("template"),
        templates=TEMPLATES,
        tab="overview",
    )


@routes.get("/dev/plugins/{plugin_id}/versions/{version}")
@pages.page
async def version_page(request: web.Request) -> web.Response:
    """The plugin's developer: one version's review (findings with file:line and how to fix), and publishing."""
    _who, plugin = await owned(request, request.match_info["plugin_id"])
    record = await review.get_version(_platform(request), plugin.plugin_id, request.match_info["version"])
    caps = required_capabilities(record.manifest)
    current = await latest_published(_platform(request).records, plugin.plugin_id)
    return pages.render(
        request,
        "version.html",
        title=f"{plugin.plugin_id} {record.version}",
        plugin=plugin,
        record=record,
        findings=record.findings,
        hints=FIX_HINTS,
        capabilities=by_tier(caps),
        hosts=hosts(record.manifest, caps),
        current=current,
        can_publish=record.status == VersionStatus.APPROVED,
        tab="versions",
    )


@routes.post("/dev/plugins/{plugin_id}/versions/{version}/publish")
@pages.action(lambda r: f"/dev/plugins/{r.match_info['plugin_id']}/versions/{r.match_info['version']}")
async def publish(request: web.Request) -> web.Response:
    """The plugin's developer: publish an approved version; it rolls out to the servers that have the plugin."""
    _who, plugin = await owned(request, request.match_info["plugin_id"])
    result = await publishing.publish(_platform(request), plugin.plugin_id, request.match_info["version"])
    parts = [f"Published {plugin.plugin_id} {result.version.version}."]
    if result.upgraded:
        parts.append(f"Upgraded live on {len(result.upgraded)} server(s).")
    if result.pending:
        parts.append(f"{len(result.pending)} server(s) must approve new capabilities first.")
    return pages.redirect(f"/dev/plugins/{plugin.plugin_id}", flash=("ok", " ".join(parts)))


# --- running it: logs, dead letters, metrics, secrets --------------------------------------


def log_row(entry: Any, names: dict[str, str]) -> dict[str, Any]:
    return {
        "at": entry.created_at.isoformat(),
        "server": names.get(entry.server_id, entry.server_id) if entry.server_id else "",
        "server_id": entry.server_id,
        "level": entry.level,
        "message": entry.message,
        "extra": entry.extra,
    }


def log_stream(platform: Any, plugin_id: str, server_id: str | None, names: dict[str, str]) -> live.Poll:
    """New log lines since the last poll (the records keep no id: newest time plus the lines seen at it)."""
    seen_at: list[Any] = [None]
    seen: set[tuple] = set()

    async def poll() -> list[tuple[str, Any]]:
        entries = await platform.records.list_logs(plugin_id=plugin_id, server_id=server_id, limit=200)
        fresh = []
        for e in reversed(entries):  # oldest first
            key = (e.created_at, e.server_id, e.level, e.message)
            if seen_at[0] is not None and (e.created_at < seen_at[0] or key in seen):
                continue
            fresh.append(e)
        if entries:
            newest = entries[0].created_at
            if newest != seen_at[0]:
                seen.clear()
            seen_at[0] = newest
            seen.update((e.created_at, e.server_id, e.level, e.message) for e in entries if e.created_at == newest)
        if seen_at[0] is None:
            return []
        return [("log", log_row(e, names)) for e in fresh]

    return poll


@routes.get("/dev/plugins/{plugin_id}/logs")
@pages.page
async def logs_page(request: web.Request) -> web.Response:
    """The plugin's developer: logs of every server (or one), live."""
    who, plugin = await owned(request, request.match_info["plugin_id"])
    platform = _platform(request)
    server = request.query.get("server") or None
    installs = await platform.records.list_installs(plugin_id=plugin.plugin_id)
    names = await guilds.names(platform, [i.server_id for i in installs], who.session.guilds)
    entries = await platform.records.list_logs(plugin_id=plugin.plugin_id, server_id=server, limit=200)
    query = f"?server={server}" if server else ""
    return pages.render(
        request,
        "logs.html",
        title=f"{plugin.plugin_id} logs",
        plugin=plugin,
        entries=[log_row(e, names) for e in entries],
        servers=names,
        server=server,
        stream_url=f"/dev/plugins/{plugin.plugin_id}/logs/stream{query}",
        tab="logs",
    )


@routes.get("/dev/plugins/{plugin_id}/logs/stream")
async def logs_stream(request: web.Request) -> web.StreamResponse:
    """The plugin's developer: new log lines as Server-Sent Events."""
    try:
        who, plugin = await owned(request, request.match_info["plugin_id"])
    except pages.Refusal as exc:
        raise web.HTTPForbidden(text=exc.message) from None
    platform = _platform(request)
    installs = await platform.records.list_installs(plugin_id=plugin.plugin_id)
    names = await guilds.names(platform, [i.server_id for i in installs], who.session.guilds)
    poll = log_stream(platform, plugin.plugin_id, request.query.get("server") or None, names)
    await poll()  # the page already shows what exists now
    return await live.stream(request, poll, interval=1.0)


@routes.get("/dev/plugins/{plugin_id}/dead-letters")
@pages.page
async def dead_letters(request: web.Request) -> web.Response:
    """The plugin's developer: events no worker acknowledged after every redelivery."""
    who, plugin = await owned(request, request.match_info["plugin_id"])
    platform = _platform(request)
    letters = await platform.records.list_dead_letters(plugin_id=plugin.plugin_id)
    names = await guilds.names(platform, [d.server_id for d in letters], who.session.guilds)
    return pages.render(
        request,
        "dead_letters.html",
        title=f"{plugin.plugin_id} dead letters",
        plugin=plugin,
        letters=list(reversed(letters)),
        names=names,
        tab="dead-letters",
    )


@routes.post("/dev/plugins/{plugin_id}/dead-letters/{letter_id}/delete")
@pages.action(lambda r: f"/dev/plugins/{r.match_info['plugin_id']}/dead-letters")
async def delete_dead_letter(request: web.Request) -> web.Response:
    _who, plugin = await owned(request, request.match_info["plugin_id"])
    records = _platform(request).records
    letter_id = int(request.match_info["letter_id"])
    if letter_id not in {d.id for d in await records.list_dead_letters(plugin_id=plugin.plugin_id)}:
        raise ValueError(f"dead letter {letter_id} is not one of {plugin.plugin_id}'s")
    await records.delete_dead_letter(letter_id)
    return pages.redirect(f"/dev/plugins/{plugin.plugin_id}/dead-letters", flash=("ok", "Dead letter deleted."))


async def metric_series(platform: Any, plugin_id: str, server_id: str, metric: str, period: str) -> dict[str, Any]:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    return await platform.storage.metrics.query(Scope(server_id, plugin_id), metric, period, "sum", None)


@routes.get("/dev/plugins/{plugin_id}/metrics")
@pages.page
async def metrics_page(request: web.Request) -> web.Response:
    """The plugin's developer: its own metrics and the platform's counters, per server, as charts."""
    who, plugin = await owned(request, request.match_info["plugin_id"])
    platform = _platform(request)
    installs = await platform.records.list_installs(plugin_id=plugin.plugin_id)
    names = await guilds.names(platform, [i.server_id for i in installs], who.session.guilds)
    server = request.query.get("server") or (installs[0].server_id if installs else None)
    period = request.query.get("period", "24h")
    if period not in PERIODS:
        period = "24h"
    charts = []
    if server is not None:
        for metric in await platform.storage.metrics.names(plugin.plugin_id, server):
            data = await metric_series(platform, plugin.plugin_id, server, metric, period)
            charts.append({"metric": metric, "data": data})
    return pages.render(
        request,
        "metrics.html",
        title=f"{plugin.plugin_id} metrics",
        plugin=plugin,
        servers=names,
        server=server,
        period=period,
        periods=PERIODS,
        charts=charts,
        tab="metrics",
    )


@routes.get("/dev/plugins/{plugin_id}/secrets")
@pages.page
async def secrets_page(request: web.Request) -> web.Response:
    """The plugin's developer: default secrets (every server without its own value reads them)."""
    _who, plugin = await owned(request, request.match_info["plugin_id"])
    keys = await _platform(request).storage.secrets.list_defaults(plugin.plugin_id)
    return pages.render(
        request, "secrets.html", title=f"{plugin.plugin_id} secrets", plugin=plugin, keys=keys, tab="secrets"
    )


@routes.post("/dev/plugins/{plugin_id}/secrets")
@pages.action(lambda r: f"/dev/plugins/{r.match_info['plugin_id']}/secrets")
async def set_secret(request: web.Request) -> web.Response:
    _who, plugin = await owned(request, request.match_info["plugin_id"])
    data = await pages.form(request)
    key, value = str(data.get("key", "")).strip(), str(data.get("value", ""))
    secrets = _platform(request).storage.secrets
    try:
        await secrets.set_default(plugin.plugin_id, key, value)
    except Exception as exc:  # InvalidArgument says which field is wrong
        raise ValueError(getattr(exc, "message", str(exc))) from None
    return pages.redirect(f"/dev/plugins/{plugin.plugin_id}/secrets", flash=("ok", f"Default secret {key} saved."))


@routes.post("/dev/plugins/{plugin_id}/secrets/{key}/delete")
@pages.action(lambda r: f"/dev/plugins/{r.match_info['plugin_id']}/secrets")
async def delete_secret(request: web.Request) -> web.Response:
    _who, plugin = await owned(request, request.match_info["plugin_id"])
    key = request.match_info["key"]
    try:
        await _platform(request).storage.secrets.delete_default(plugin.plugin_id, key)
    except Exception as exc:
        raise ValueError(getattr(exc, "message", str(exc))) from None
    return pages.redirect(f"/dev/plugins/{plugin.plugin_id}/secrets", flash=("ok", f"Default secret {key} deleted."))


__all__ = ["routes"]
