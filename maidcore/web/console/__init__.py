"""The web console: Developer Portal, marketplace, server admin console, reviewer queue and plugin dashboards.

Served beside the HTTP API by ``maidcore serve`` on the web port; people sign
in with Discord (OAuth2). ``add_console(app)`` adds every page to an API app.
See docs/console.md.
"""

from __future__ import annotations

from aiohttp import web

from maidcore.web.console import (
    catalogue,
    cluster,
    dashboard_frame,
    dashboards,
    home,
    live,
    portal,
    reviews,
    security,
    servers,
)


def add_console(app: web.Application) -> None:
    """Register the console's pages on ``app`` (its middleware must already include ``security.middleware``)."""
    live.setup(app)
    for module in (home, catalogue, portal, servers, dashboards, dashboard_frame, reviews, cluster):
        app.add_routes(module.routes)


__all__ = ["add_console", "security"]
