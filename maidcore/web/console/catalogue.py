"""The marketplace pages: every published plugin with what it may do, by tier, and its versions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from maidcore.marketplace.upgrades import required_capabilities
from maidcore.marketplace.versions import latest_published, version_key
from maidcore.records import VersionRecord, VersionStatus
from maidcore.web.console import pages, security
from maidcore.web.console.capability_text import by_tier

routes = web.RouteTableDef()


def hosts(manifest: dict[str, Any], caps: frozenset[str]) -> dict[str, list[str]]:
    """The outside hosts a version may reach: over HTTPS (``proxy:http``) and WebSocket (``proxy:websocket``)."""
    domains = [d for d in manifest.get("proxy_domains_requested") or [] if isinstance(d, str)]
    return {
        "http": domains if "proxy:http" in caps else [],
        "websocket": domains if "proxy:websocket" in caps else [],
    }


def listing(record: VersionRecord, published: list[VersionRecord] | None = None) -> dict[str, Any]:
    """One plugin version as the marketplace shows it."""
    m = record.manifest
    caps = required_capabilities(m)
    described = by_tier(caps)
    return {
        "plugin_id": record.plugin_id,
        "version": record.version,
        "name": m.get("name") or record.plugin_id,
        "description": m.get("description") or "",
        "author": m.get("author"),
        "tags": [t for t in m.get("tags") or [] if isinstance(t, str)],
        "capabilities": described,
        "highest_tier": described[0]["tier"] if described else "None",
        "hosts": hosts(m, caps),
        "slash_commands": [c.get("name") for c in m.get("slash_commands") or [] if isinstance(c, dict)],
        "cron": [c.get("spec") for c in m.get("cron") or [] if isinstance(c, dict)],
        "published_at": record.published_at,
        "versions": [
            {"version": v.version, "published_at": v.published_at}
            for v in sorted(published or [record], key=lambda v: version_key(v.version), reverse=True)
        ],
    }


async def published_listings(platform: Any) -> list[dict[str, Any]]:
    out = []
    for plugin in await platform.records.list_plugins():
        latest = await latest_published(platform.records, plugin.plugin_id)
        if latest is not None:
            out.append(listing(latest))
    return sorted(out, key=lambda item: item["name"].lower())


@routes.get("/marketplace")
@pages.page
async def marketplace(request: web.Request) -> web.Response:
    """Anyone: published plugins."""
    platform = request.app[security.PLATFORM]
    items = await published_listings(platform)
    query = request.query.get("q", "").strip().lower()
    if query:
        items = [
            i
            for i in items
            if query in f"{i['name']} {i['plugin_id']} {i['description']} {' '.join(i['tags'])}".lower()
        ]
    who = security.viewer(request)
    return pages.render(
        request,
        "marketplace.html",
        title="Marketplace",
        items=items,
        query=request.query.get("q", ""),
        managed=who.managed_guilds() if who else [],
    )


@routes.get("/marketplace/{plugin_id}")
@pages.page
async def marketplace_plugin(request: web.Request) -> web.Response:
    """Anyone: one published plugin with every published version."""
    platform = request.app[security.PLATFORM]
    pid = request.match_info["plugin_id"]
    versions = await platform.records.list_versions(pid)
    published = [v for v in versions if v.status == VersionStatus.PUBLISHED]
    if not published:
        raise pages.Refusal(404, "Not in the marketplace", f"No published plugin is called {pid!r}.")
    latest = max(published, key=lambda v: version_key(v.version))
    who = security.viewer(request)
    return pages.render(
        request,
        "marketplace_plugin.html",
        title=latest.manifest.get("name") or pid,
        item=listing(latest, published),
        managed=who.managed_guilds() if who else [],
    )
