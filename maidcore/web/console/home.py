"""The start page: what each role can do here, and for a signed-in person what waits for them."""

from __future__ import annotations

from aiohttp import web

from maidcore.records import VersionStatus
from maidcore.web.console import pages, security, signin

routes = web.RouteTableDef()
routes.get("/auth/login")(signin.login)
routes.get(signin.CALLBACK_PATH)(signin.callback)
routes.post("/auth/logout")(signin.logout)
routes.get("/static/{name}")(pages.static)


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    """Browsers ask for it whatever the page says: the console's icon."""
    return web.Response(
        body=pages.STATIC["icon.svg"], content_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@routes.get("/")
@pages.page
async def home(request: web.Request) -> web.Response:
    """Anyone: a landing page; signed in, an overview of their plugins, servers and reviews."""
    who = security.viewer(request)
    if who is None:
        return pages.render(request, "home.html", title="maidcore")
    records = request.app[security.PLATFORM].records
    mine = []
    waiting_review = 0
    for plugin in await records.list_plugins():
        versions = None
        if plugin.developer == who.developer:
            versions = await records.list_versions(plugin.plugin_id)
            mine.append({"plugin_id": plugin.plugin_id, "latest": versions[-1] if versions else None})
        if who.is_reviewer:
            versions = versions if versions is not None else await records.list_versions(plugin.plugin_id)
            waiting_review += sum(1 for v in versions if v.status == VersionStatus.NEEDS_HUMAN_REVIEW)
    servers = []
    for guild in who.managed_guilds():
        installs = await records.list_installs(server_id=guild["id"])
        requests = [d for d in await records.list_denied_calls(server_id=guild["id"]) if not d.dismissed]
        servers.append(
            {
                "guild": guild,
                "installs": len(installs),
                "requests": len(requests),
                "upgrades": sum(1 for i in installs if i.pending_version),
            }
        )
    return pages.render(request, "home.html", title="Home", mine=mine, servers=servers, waiting_review=waiting_review)
