"""The HTTP API (aiohttp): marketplace, review, installs and operations, behind bearer tokens.

``create_app(platform)`` is what ``maidcore serve`` runs; routes are listed
in ``openapi.yaml``, served at ``/api/openapi.yaml``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from maidcore.marketplace.errors import MarketplaceError, Refused
from maidcore.marketplace.findings import as_dicts
from maidcore.web import probes
from maidcore.web.auth import PLATFORM, Handler, auth_middleware, json_error
from maidcore.web.routes import MAX_UPLOAD, routes

if TYPE_CHECKING:
    from maidcore.platform import Platform

log = logging.getLogger(__name__)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Marketplace refusals become JSON errors with their status; unexpected errors a logged 500."""
    try:
        return await handler(request)
    except Refused as exc:
        return json_error(exc.status, str(exc), findings=as_dicts(exc.findings))
    except MarketplaceError as exc:
        return json_error(exc.status, str(exc))
    except web.HTTPException:
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return json_error(500, "internal error; see the server log")


def create_app(platform: Platform) -> web.Application:
    """The API application for ``platform`` (its storage must be open; review checks are read from it)."""
    if not platform.review_checks:
        platform.review_checks = platform.extensions.review_checks()
    app = web.Application(middlewares=[error_middleware, auth_middleware], client_max_size=MAX_UPLOAD + 1024)
    app[PLATFORM] = platform
    app.add_routes(routes)
    app.add_routes(probes.routes)
    return app


__all__ = ["create_app"]
