"""HTTP API for domain-bound auth secrets (``secret_auth=``) and the hosts server admins approved.

Developers set a plugin's defaults; a server admin sets the server's own values (which win) and
sees or withdraws the hosts approved from inside the plugin (``allow_host``). Values are written,
never read back.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from maidcore.errors import InvalidArgument
from maidcore.marketplace.errors import MarketplaceError, NotFound
from maidcore.scope import Scope
from maidcore.web.auth import PLATFORM, require_guild
from maidcore.web.routes import _body, _owned_plugin

routes = web.RouteTableDef()


def _secret(data: dict[str, Any]) -> tuple[str, list[str]]:
    value, hosts = data.get("value"), data.get("hosts")
    if not isinstance(value, str):
        raise MarketplaceError('"value" must be the secret as a string')
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise MarketplaceError('"hosts" must be a list of the host names the secret may be sent to')
    return value, hosts


def _listing(infos: list[Any]) -> list[dict[str, Any]]:
    return [
        {"name": i.name, "server_id": i.server_id or None, "hosts": list(i.hosts), "updated_at": str(i.updated_at)}
        for i in infos
    ]


async def _set(request: web.Request, plugin_id: str, server_id: str) -> web.Response:
    value, hosts = _secret(await _body(request))
    name = request.match_info["name"]
    try:
        await request.app[PLATFORM].storage.secrets.set_auth(plugin_id, server_id, name, value, hosts)
    except InvalidArgument as exc:
        raise MarketplaceError(exc.message) from None
    stored = sorted({h.strip().lower() for h in hosts})
    return web.json_response({"name": name, "server_id": server_id or None, "hosts": stored})


async def _delete(request: web.Request, plugin_id: str, server_id: str) -> web.Response:
    name = request.match_info["name"]
    try:
        deleted = await request.app[PLATFORM].storage.secrets.delete_auth(plugin_id, server_id, name)
    except InvalidArgument as exc:
        raise MarketplaceError(exc.message) from None
    if not deleted:
        raise NotFound(f"no auth secret {name!r} of {plugin_id}" + (f" on {server_id}" if server_id else ""))
    return web.json_response({"deleted": name})


@routes.get("/api/plugins/{plugin_id}/auth-secrets")
async def plugin_secrets(request: web.Request) -> web.Response:
    """Developer (own plugin): the default auth secrets, names and hosts only."""
    plugin_id = request.match_info["plugin_id"]
    await _owned_plugin(request, plugin_id)
    return web.json_response(_listing(await request.app[PLATFORM].storage.secrets.list_auth(plugin_id, "")))


@routes.put("/api/plugins/{plugin_id}/auth-secrets/{name}")
async def put_plugin_secret(request: web.Request) -> web.Response:
    """Developer (own plugin): set a default auth secret, body ``{"value", "hosts"}``."""
    plugin_id = request.match_info["plugin_id"]
    await _owned_plugin(request, plugin_id)
    return await _set(request, plugin_id, "")


@routes.delete("/api/plugins/{plugin_id}/auth-secrets/{name}")
async def delete_plugin_secret(request: web.Request) -> web.Response:
    """Developer (own plugin): remove a default auth secret."""
    plugin_id = request.match_info["plugin_id"]
    await _owned_plugin(request, plugin_id)
    return await _delete(request, plugin_id, "")


@routes.get("/api/servers/{server_id}/installs/{plugin_id}/auth-secrets")
async def server_secrets(request: web.Request) -> web.Response:
    """Server admin: this server's own auth secrets and the plugin's defaults (names and hosts only)."""
    server_id, plugin_id = request.match_info["server_id"], request.match_info["plugin_id"]
    require_guild(request, server_id)
    secrets = request.app[PLATFORM].storage.secrets
    own = await secrets.list_auth(plugin_id, server_id)
    return web.json_response(_listing(own + await secrets.list_auth(plugin_id, "")))


@routes.put("/api/servers/{server_id}/installs/{plugin_id}/auth-secrets/{name}")
async def put_server_secret(request: web.Request) -> web.Response:
    """Server admin: set this server's own value of an auth secret, body ``{"value", "hosts"}``."""
    server_id, plugin_id = request.match_info["server_id"], request.match_info["plugin_id"]
    require_guild(request, server_id)
    return await _set(request, plugin_id, server_id)


@routes.delete("/api/servers/{server_id}/installs/{plugin_id}/auth-secrets/{name}")
async def delete_server_secret(request: web.Request) -> web.Response:
    """Server admin: remove this server's own value (the developer default applies again)."""
    server_id, plugin_id = request.match_info["server_id"], request.match_info["plugin_id"]
    require_guild(request, server_id)
    return await _delete(request, plugin_id, server_id)


@routes.get("/api/servers/{server_id}/installs/{plugin_id}/hosts")
async def approved_hosts(request: web.Request) -> web.Response:
    """Server admin: the hosts approved for the plugin on this server (``allow_host``)."""
    server_id, plugin_id = request.match_info["server_id"], request.match_info["plugin_id"]
    require_guild(request, server_id)
    rows = await request.app[PLATFORM].records.list_host_approvals(server_id=server_id, plugin_id=plugin_id)
    return web.json_response(
        [{"kind": a.kind, "host": a.host, "approved_by": a.approved_by, "at": a.created_at.isoformat()} for a in rows]
    )


@routes.delete("/api/servers/{server_id}/installs/{plugin_id}/hosts/{kind}/{host}")
async def revoke_approved_host(request: web.Request) -> web.Response:
    """Server admin: withdraw an approved host (``kind`` is ``http`` or ``ws``)."""
    server_id, plugin_id = request.match_info["server_id"], request.match_info["plugin_id"]
    kind, host = request.match_info["kind"], request.match_info["host"].lower()
    require_guild(request, server_id)
    if kind not in ("http", "ws"):
        raise MarketplaceError('kind must be "http" or "ws"')
    platform = request.app[PLATFORM]
    if not await platform.records.remove_host_approval(server_id, plugin_id, kind, host):
        raise NotFound(f"{host} is not an approved {kind} host of {plugin_id} on {server_id}")
    runner, broker = platform.runner, platform.websocket
    scope = Scope(server_id, plugin_id)
    approvals = getattr(runner, "approvals", None)
    if approvals is not None:  # a running server: forget its cached approvals, drop sockets to the host
        approvals.forget(scope)
        tenant = runner.tenant(server_id, plugin_id)
        if kind == "ws" and broker is not None and (tenant is None or host not in tenant.info.proxy_domains):
            await broker.close_scope(scope, f"host {host} was revoked", keep=lambda s: s.host != host, notify=True)
    return web.json_response({"revoked": host, "kind": kind})
