"""Bearer-token authentication and the per-role rules every route applies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from maidcore.marketplace.tokens import authenticate
from maidcore.records import Role, TokenRecord

PUBLIC = frozenset({"/api/openapi.yaml"})
PLATFORM: web.AppKey = web.AppKey("platform")
PRINCIPAL: web.RequestKey = web.RequestKey("principal", TokenRecord)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC or not request.path.startswith("/api/"):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return json_error(401, "send a token: Authorization: Bearer <token> (create one with `maidcore tokens create`)")
    principal = await authenticate(request.app[PLATFORM].records, token.strip())
    if principal is None:
        return json_error(401, "unknown or revoked token")
    request[PRINCIPAL] = principal
    return await handler(request)


def principal(request: web.Request) -> TokenRecord:
    return request[PRINCIPAL]


def require(request: web.Request, *roles: Role) -> TokenRecord:
    """The caller, if their role is one of ``roles`` (admin always passes); else 403."""
    who = principal(request)
    if who.role == Role.ADMIN or who.role in roles:
        return who
    allowed = ", ".join(r.value for r in (*roles, Role.ADMIN))
    raise web.HTTPForbidden(
        text=_json({"error": f"a {who.role.value} token may not call this; allowed roles: {allowed}"}),
        content_type="application/json",
    )


def forbid(message: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=_json({"error": message}), content_type="application/json")


def require_guild(request: web.Request, server_id: str) -> TokenRecord:
    """Server admins act on their own guild only."""
    who = require(request, Role.SERVER_ADMIN)
    if who.role == Role.SERVER_ADMIN and who.subject != server_id:
        raise forbid(f"this token manages guild {who.subject}, not {server_id}")
    return who


def _json(data: object) -> str:
    return json.dumps(data)
