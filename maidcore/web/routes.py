"""The HTTP API handlers (documented in ``openapi.yaml``); each states who may call it."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from maidcore.marketplace import publishing, review, upgrades
from maidcore.marketplace.errors import MarketplaceError, NotFound
from maidcore.marketplace.versions import latest_published
from maidcore.records import Role, VersionStatus
from maidcore.web import serialize
from maidcore.web.auth import PLATFORM, forbid, principal, require, require_guild
from maidcore.web.bodies import json_object

routes = web.RouteTableDef()
OPENAPI = Path(__file__).with_name("openapi.yaml")
MAX_UPLOAD = 10 * 1024 * 1024


def _platform(request: web.Request):
    return request.app[PLATFORM]


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object a route takes, within ``web.max_json_body_bytes`` and ``web.max_json_depth`` (else 400/413)."""
    limits = _platform(request).settings.web
    return await json_object(request, max_bytes=limits.max_json_body_bytes, max_depth=limits.max_json_depth)


def _strings(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MarketplaceError(f'"{key}" must be a list of capability names')
    return value


async def _owned_plugin(request: web.Request, plugin_id: str, *roles: Role) -> None:
    """Developers may touch only their own plugins; the other roles listed pass."""
    who = require(request, Role.DEVELOPER, *roles)
    plugin = await _platform(request).records.get_plugin(plugin_id)
    if plugin is None:
        raise NotFound(f"no plugin {plugin_id!r}")
    if who.role == Role.DEVELOPER and plugin.developer != who.subject:
        raise forbid(f"plugin {plugin_id!r} belongs to another developer")


@routes.get("/api/openapi.yaml")
async def openapi(request: web.Request) -> web.Response:
    """Anyone: this API's description."""
    return web.Response(text=OPENAPI.read_text(encoding="utf-8"), content_type="application/yaml")


@routes.get("/api/status")
async def status(request: web.Request) -> web.Response:
    """Admin: runner statistics."""
    require(request)
    runner = _platform(request).runner
    return web.json_response({"runner": runner.stats() if runner is not None else None})


async def _chunks(request: web.Request):
    """The bundle's bytes: the body itself, or the ``bundle`` file of a multipart/form-data body."""
    if request.content_type != "multipart/form-data":
        async for chunk in request.content.iter_chunked(256 * 1024):
            yield chunk
        return
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.name == "bundle":
            while chunk := await part.read_chunk(256 * 1024):
                yield chunk
            return
    raise MarketplaceError('the multipart body has no "bundle" file; send the zip in a field named bundle')


@routes.post("/api/plugins")
async def upload(request: web.Request) -> web.Response:
    """Developer: upload a bundle zip (the body, or a multipart ``bundle`` file); it is reviewed at once."""
    who = require(request, Role.DEVELOPER)
    developer = who.subject if who.role == Role.DEVELOPER else request.query.get("developer", who.subject)
    platform = _platform(request)
    uploads = platform.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    tmp = uploads / f"{uuid.uuid4().hex}.zip"
    try:
        size = 0
        with open(tmp, "wb") as out:
            async for chunk in _chunks(request):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    return web.json_response(
                        {"error": f"the upload is over {MAX_UPLOAD // (1024 * 1024)} MB; bundles may be 10 MB zipped"},
                        status=413,
                    )
                out.write(chunk)
        if size == 0:
            raise MarketplaceError(
                "send the bundle zip as the request body (Content-Type: application/zip) "
                'or as the file "bundle" of a multipart/form-data body'
            )
        record = await review.submit(platform, developer, tmp, is_admin=who.role == Role.ADMIN)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return web.json_response(serialize.version(record), status=201)


@routes.get("/api/plugins")
async def list_plugins(request: web.Request) -> web.Response:
    """Developer (own plugins), reviewer, admin: plugins with their versions."""
    who = require(request, Role.DEVELOPER, Role.REVIEWER)
    records = _platform(request).records
    out = []
    for plugin in await records.list_plugins():
        if who.role == Role.DEVELOPER and plugin.developer != who.subject:
            continue
        versions = await records.list_versions(plugin.plugin_id)
        out.append(
            {
                "plugin_id": plugin.plugin_id,
                "developer": plugin.developer,
                "versions": [serialize.version(v, findings=False) for v in versions],
            }
        )
    return web.json_response(out)


@routes.get("/api/plugins/{plugin_id}/versions/{version}")
async def version_detail(request: web.Request) -> web.Response:
    """Owner developer, reviewer, admin: a version's review results."""
    pid, ver = request.match_info["plugin_id"], request.match_info["version"]
    await _owned_plugin(request, pid, Role.REVIEWER)
    return web.json_response(serialize.version(await review.get_version(_platform(request), pid, ver)))


@routes.get("/api/reviews")
async def reviews(request: web.Request) -> web.Response:
    """Reviewer, admin: versions in a status (default ``needs_human_review``)."""
    require(request, Role.REVIEWER)
    wanted = request.query.get("status", VersionStatus.NEEDS_HUMAN_REVIEW.value)
    try:
        wanted_status = VersionStatus(wanted)
    except ValueError:
        raise MarketplaceError(f"status must be one of {', '.join(s.value for s in VersionStatus)}") from None
    records = _platform(request).records
    out = []
    for plugin in await records.list_plugins():
        for v in await records.list_versions(plugin.plugin_id):
            if v.status == wanted_status:
                out.append(serialize.version(v))
    return web.json_response(out)


async def _decide(request: web.Request, approve: bool) -> web.Response:
    who = require(request, Role.REVIEWER)
    body = await _body(request)
    note = body.get("note", "")
    if not isinstance(note, str):
        raise MarketplaceError('"note" must be a string')
    record = await review.human_review(
        _platform(request),
        request.match_info["plugin_id"],
        request.match_info["version"],
        reviewer=who.subject,
        approve=approve,
        note=note,
    )
    return web.json_response(serialize.version(record))


@routes.post("/api/plugins/{plugin_id}/versions/{version}/approve")
async def approve(request: web.Request) -> web.Response:
    """Reviewer, admin: approve a version waiting for human review."""
    return await _decide(request, True)


@routes.post("/api/plugins/{plugin_id}/versions/{version}/reject")
async def reject(request: web.Request) -> web.Response:
    """Reviewer, admin: reject a version waiting for human review (a note is required)."""
    return await _decide(request, False)


@routes.post("/api/plugins/{plugin_id}/versions/{version}/publish")
async def publish(request: web.Request) -> web.Response:
    """Owner developer, admin: publish an approved version and roll it out."""
    pid, ver = request.match_info["plugin_id"], request.match_info["version"]
    await _owned_plugin(request, pid)
    result = await publishing.publish(_platform(request), pid, ver)
    return web.json_response(result.as_dict())


def _listing(record) -> dict[str, Any]:
    m = record.manifest
    return {
        "plugin_id": record.plugin_id,
        "version": record.version,
        "name": m.get("name"),
        "description": m.get("description"),
        "author": m.get("author"),
        "tags": m.get("tags", []),
        "capabilities": upgrades.shown(upgrades.required_capabilities(m)),
        "proxy_domains": m.get("proxy_domains_requested", []),
        "slash_commands": [c.get("name") for c in m.get("slash_commands", []) if isinstance(c, dict)],
    }


@routes.get("/api/marketplace")
async def marketplace(request: web.Request) -> web.Response:
    """Any token: published plugins with the capabilities an installer approves."""
    records = _platform(request).records
    out = []
    for plugin in await records.list_plugins():
        latest = await latest_published(records, plugin.plugin_id)
        if latest is not None:
            out.append(_listing(latest))
    return web.json_response(out)


@routes.get("/api/marketplace/{plugin_id}")
async def marketplace_plugin(request: web.Request) -> web.Response:
    """Any token: one published plugin."""
    latest = await latest_published(_platform(request).records, request.match_info["plugin_id"])
    if latest is None:
        raise NotFound(f"plugin {request.match_info['plugin_id']!r} has no published version")
    return web.json_response(_listing(latest))


@routes.get("/api/servers/{server_id}/installs")
async def list_installs(request: web.Request) -> web.Response:
    """Server admin of that guild, admin: installs on a guild."""
    sid = request.match_info["server_id"]
    require_guild(request, sid)
    installs = await _platform(request).records.list_installs(server_id=sid)
    return web.json_response([serialize.install(i) for i in installs])


@routes.post("/api/servers/{server_id}/installs")
async def install(request: web.Request) -> web.Response:
    """Server admin of that guild, admin: install a published plugin with the capabilities approved (all or some)."""
    sid = request.match_info["server_id"]
    require_guild(request, sid)
    body = await _body(request)
    pid = body.get("plugin_id")
    if not isinstance(pid, str):
        raise MarketplaceError('"plugin_id" is required')
    version = body.get("version")
    record = await upgrades.install_published(
        _platform(request), sid, pid, _strings(body, "approve"), version if isinstance(version, str) else None
    )
    return web.json_response(serialize.install(record), status=201)


@routes.post("/api/servers/{server_id}/installs/{plugin_id}/grant")
async def grant(request: web.Request) -> web.Response:
    """Server admin of that guild, admin: grant capabilities (approving a pending upgrade's new ones)."""
    sid, pid = request.match_info["server_id"], request.match_info["plugin_id"]
    require_guild(request, sid)
    body = await _body(request)
    record = await upgrades.grant(_platform(request), sid, pid, _strings(body, "capabilities"))
    return web.json_response(serialize.install(record))


@routes.post("/api/servers/{server_id}/installs/{plugin_id}/decline")
async def decline(request: web.Request) -> web.Response:
    """Server admin of that guild, admin: decline a pending upgrade (the old version keeps running)."""
    sid, pid = request.match_info["server_id"], request.match_info["plugin_id"]
    require_guild(request, sid)
    return web.json_response(serialize.install(await upgrades.decline(_platform(request), sid, pid)))


@routes.get("/api/servers/{server_id}/permission-requests")
async def permission_requests(request: web.Request) -> web.Response:
    """Server admin of that guild, admin: calls refused for a capability the guild has not granted."""
    sid = request.match_info["server_id"]
    require_guild(request, sid)
    calls = await _platform(request).records.list_denied_calls(server_id=sid)
    return web.json_response([serialize.denied_call(d) for d in calls])


@routes.post("/api/servers/{server_id}/installs/{plugin_id}/dismiss")
async def dismiss(request: web.Request) -> web.Response:
    """Server admin of that guild, admin: hide a permission request (it keeps counting)."""
    sid, pid = request.match_info["server_id"], request.match_info["plugin_id"]
    require_guild(request, sid)
    capability = (await _body(request)).get("capability")
    if not isinstance(capability, str):
        raise MarketplaceError('"capability" is required: the capability of the request to dismiss')
    records = _platform(request).records
    if not any(d.capability == capability for d in await records.list_denied_calls(server_id=sid, plugin_id=pid)):
        raise NotFound(f"{pid} on server {sid} has no permission request for {capability}")
    await records.dismiss_denied_call(sid, pid, capability)
    return web.json_response({"dismissed": capability})


@routes.get("/api/servers/{server_id}/upgrades")
async def upgrade_requests(request: web.Request) -> web.Response:
    """Server admin of that guild, admin: pending upgrade requests with their new capabilities."""
    sid = request.match_info["server_id"]
    require_guild(request, sid)
    return web.json_response(await upgrades.upgrade_requests(_platform(request), server_id=sid))


@routes.delete("/api/servers/{server_id}/installs/{plugin_id}")
async def uninstall(request: web.Request) -> web.Response:
    """Server admin of that guild, admin: uninstall."""
    sid, pid = request.match_info["server_id"], request.match_info["plugin_id"]
    require_guild(request, sid)
    return web.json_response(serialize.install(await upgrades.uninstall(_platform(request), sid, pid)))


async def _scope(request: web.Request, plugin_id: str) -> str | None:
    """The server filter a caller may read logs/dead letters under: a server admin only their guild."""
    who = principal(request)
    server_id = request.query.get("server_id") or None
    if who.role == Role.SERVER_ADMIN:
        if server_id not in (None, who.subject):
            raise forbid(f"this token reads guild {who.subject} only, not {server_id}")
        if await _platform(request).records.get_install(who.subject, plugin_id) is None:
            raise NotFound(f"plugin {plugin_id!r} is not installed on guild {who.subject}")
        return who.subject
    await _owned_plugin(request, plugin_id)
    return server_id


@routes.get("/api/plugins/{plugin_id}/logs")
async def logs(request: web.Request) -> web.Response:
    """Owner developer, server admin (their guild), admin: a plugin's logs, newest first."""
    pid = request.match_info["plugin_id"]
    require(request, Role.DEVELOPER, Role.SERVER_ADMIN)
    server_id = await _scope(request, pid)
    try:
        limit = max(1, min(1000, int(request.query.get("limit", "100"))))
    except ValueError:
        raise MarketplaceError("limit must be an integer 1-1000") from None
    entries = await _platform(request).records.list_logs(plugin_id=pid, server_id=server_id, limit=limit)
    return web.json_response([serialize.log(e) for e in entries])


@routes.get("/api/plugins/{plugin_id}/dead-letters")
async def dead_letters(request: web.Request) -> web.Response:
    """Owner developer, server admin (their guild), admin: events given up on after every redelivery."""
    pid = request.match_info["plugin_id"]
    require(request, Role.DEVELOPER, Role.SERVER_ADMIN)
    server_id = await _scope(request, pid)
    letters = await _platform(request).records.list_dead_letters(plugin_id=pid, server_id=server_id)
    return web.json_response([serialize.dead_letter(d) for d in letters])
