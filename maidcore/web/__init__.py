"""The web port (aiohttp): the HTTP API behind bearer tokens, and the web console behind Discord sign-in.

``create_app(platform)`` is what ``maidcore serve`` runs; API routes are listed
in ``openapi.yaml``, served at ``/api/openapi.yaml``; the console's pages are
in ``maidcore.web.console``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from maidcore.marketplace.errors import MarketplaceError, Refused
from maidcore.marketplace.findings import as_dicts
from maidcore.web import probes, secrets
from maidcore.web.auth import PLATFORM, Handler, auth_middleware, json_error
from maidcore.web.console import add_console
from maidcore.web.console import security as console_security
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
        platform.review_checks = platform.extensions.review_checks(platform.settings)
    app = web.Application(
        middlewares=[error_middleware, auth_middleware, console_security.middleware],
        client_max_size=MAX_UPLOAD + 64 * 1024,
    )
    app[PLATFORM] = platform
    app.add_routes(routes)
    app.add_routes(probes.routes)
    app.add_routes(secrets.routes)
    add_console(app)
    return app


__all__ = ["create_app"]
