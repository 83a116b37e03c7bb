"""The server admin console, per guild: installs, the capability picker, permission requests, upgrades, logs.

Every page and action here needs Manage Server on the guild (see ``viewer``).
Grants, upgrades, enable/disable and uninstall go through the same functions as
the API and the CLI, so they reach the runner at once (live).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from maidcore import installs as install_ops
from maidcore.marketplace import upgrades
from maidcore.marketplace.upgrades import required_capabilities
from maidcore.marketplace.versions import latest_published, version_key
from maidcore.records import InstallRecord, VersionRecord
from maidcore.web.console import dashboard_manifest, guilds, live, pages, portal, security
from maidcore.web.console.capability_text import by_tier, describe
from maidcore.web.console.catalogue import hosts, published_listings
from maidcore.web.console.viewer import Level

routes = web.RouteTableDef()


def _platform(request: web.Request) -> Any:
    return request.app[security.PLATFORM]


def _guild_of(request: web.Request) -> dict[str, Any]:
    gid = request.match_info["guild_id"]
    who = pages.guild_admin(request, gid)
    return who.guild(gid) or {"id": gid, "name": gid, "owner": False, "permissions": "0"}


def _back(request: web.Request) -> str:
    gid, pid = request.match_info.get("guild_id"), request.match_info.get("plugin_id")
    return f"/servers/{gid}/plugins/{pid}" if pid else f"/servers/{gid}"


def _back_to_guild(request: web.Request) -> str:
    return f"/servers/{request.match_info['guild_id']}"


async def _version(platform: Any, plugin_id: str, version: str) -> VersionRecord | None:
    return await platform.records.get_version(plugin_id, version)


def capability_diff(old: VersionRecord | None, new: VersionRecord) -> dict[str, Any]:
    """What changes between two versions: capabilities added and removed (with tiers), hosts added and removed."""
    old_caps = required_capabilities(old.manifest) if old else frozenset()
    new_caps = required_capabilities(new.manifest)
    old_hosts = set((old.manifest if old else {}).get("proxy_domains_requested") or [])
    new_hosts = set(new.manifest.get("proxy_domains_requested") or [])
    added = by_tier(new_caps - old_caps)
    old_top = max((describe(c)["tier_rank"] for c in old_caps), default=-1)
    return {
        "added": added,
        "removed": by_tier(old_caps - new_caps),
        "kept": by_tier(new_caps & old_caps),
        "hosts_added": sorted(new_hosts - old_hosts),
        "hosts_removed": sorted(old_hosts - new_hosts),
        "tier_up": any(c["tier_rank"] > old_top for c in added),
    }


# --- the guild list ---------------------------------------------------------------------


@routes.get("/servers")
@pages.page
async def servers(request: web.Request) -> web.Response:
    """Signed in: guilds you manage, and guilds where you can open a plugin dashboard."""
    who = pages.signed_in(request)
    platform = _platform(request)
    records = platform.records
    managed, viewable = [], []
    known = {g["id"]: g for g in who.session.guilds}
    ids = list(known)
    if who.is_admin:  # platform admins reach every guild that has installs
        ids += [i.server_id for i in await records.list_installs() if i.server_id not in known]
    names = await guilds.names(platform, ids, who.session.guilds)
    for gid in dict.fromkeys(ids):
        installed = await records.list_installs(server_id=gid)
        entry = {"id": gid, "name": names.get(gid, gid), "installs": installed}
        if who.manages(gid):
            requests = [d for d in await records.list_denied_calls(server_id=gid) if not d.dismissed]
            entry["requests"] = len(requests)
            entry["upgrades"] = sum(1 for i in installed if i.pending_version)
            managed.append(entry)
        else:
            boards = []
            for install in installed:
                version = await _version(platform, install.plugin_id, install.version)
                if install.enabled and version and (await dashboard_manifest.load_stored(platform, version)).shown:
                    boards.append(install.plugin_id)
            if boards:
                viewable.append({**entry, "dashboards": boards})
    return pages.render(request, "servers.html", title="Servers", managed=managed, viewable=viewable)


@routes.get("/servers/install")
@pages.page
async def install_redirect(request: web.Request) -> web.Response:
    """The marketplace's "Install on" form: to the picker of the chosen guild."""
    gid, pid = request.query.get("guild", ""), request.query.get("plugin", "")
    if not gid.isdigit() or not pid:
        raise pages.Refusal(400, "Choose a server", "Pick the server to install on and the plugin.")
    return pages.redirect(f"/servers/{gid}/install/{pid}")


# --- one guild ------------------------------------------------------------------------------


async def request_rows(platform: Any, guild_id: str) -> list[dict[str, Any]]:
    """Permission requests of a guild: calls refused for a capability the guild did not grant."""
    rows = []
    for d in await platform.records.list_denied_calls(server_id=guild_id):
        install = await platform.records.get_install(guild_id, d.plugin_id)
        if install is None:
            continue
        version = await _version(platform, d.plugin_id, install.version)
        requested = required_capabilities(version.manifest) if version else frozenset()
        rows.append(
            {
                "call": d,
                "cap": describe(d.capability),
                "name": (version.manifest.get("name") if version else None) or d.plugin_id,
                "grantable": d.capability in requested and d.capability not in install.granted,
                "granted": d.capability in install.granted,
            }
        )
    return rows


async def upgrade_rows(platform: Any, guild_id: str) -> list[dict[str, Any]]:
    rows = []
    for install in await platform.records.list_installs(server_id=guild_id):
        if not install.pending_version:
            continue
        new = await _version(platform, install.plugin_id, install.pending_version)
        if new is None:
            continue
        old = await _version(platform, install.plugin_id, install.version)
        rows.append({"install": install, "new": new, "diff": capability_diff(old, new)})
    return rows


async def live_fragment(platform: Any, guild_id: str, csrf_token: str, plugin_id: str | None = None) -> str:
    reqs = await request_rows(platform, guild_id)
    ups = await upgrade_rows(platform, guild_id)
    if plugin_id is not None:
        reqs = [r for r in reqs if r["call"].plugin_id == plugin_id]
        ups = [u for u in ups if u["install"].plugin_id == plugin_id]
    return pages.fragment(
        "requests.html", requests=reqs, upgrades=ups, guild_id=guild_id, csrf_token=csrf_token, single=plugin_id
    )


@routes.get("/servers/{guild_id}")
@pages.page
async def guild_page(request: web.Request) -> web.Response:
    """Server admin of the guild: installed plugins, permission requests and upgrades (live)."""
    guild = _guild_of(request)
    who = security.viewer(request)
    assert who is not None
    platform = _platform(request)
    rows = []
    for install in await platform.records.list_installs(server_id=guild["id"]):
        version = await _version(platform, install.plugin_id, install.version)
        requested = required_capabilities(version.manifest) if version else frozenset()
        rows.append(
            {
                "install": install,
                "name": (version.manifest.get("name") if version else None) or install.plugin_id,
                "blocked": sorted(requested - install.granted),
                "dashboard": bool(version and (await dashboard_manifest.load_stored(platform, version)).shown),
            }
        )
    installed = {r["install"].plugin_id for r in rows}
    available = [i for i in await published_listings(platform) if i["plugin_id"] not in installed]
    return pages.render(
        request,
        "guild.html",
        title=guild["name"],
        guild=guild,
        rows=rows,
        available=available,
        live_html=await live_fragment(platform, guild["id"], who.csrf_token),
        stream_url=f"/servers/{guild['id']}/live",
    )


@routes.get("/servers/{guild_id}/live")
async def guild_live(request: web.Request) -> web.StreamResponse:
    """Server admin of the guild: permission requests and upgrades as Server-Sent Events (HTML to swap in)."""
    gid = request.match_info["guild_id"]
    who = security.viewer(request)
    if who is None or not who.manages(gid):
        raise web.HTTPForbidden(text="Manage Server on this guild is needed")
    platform = _platform(request)
    plugin_id = request.query.get("plugin") or None

    async def render() -> str:
        return await live_fragment(platform, gid, who.csrf_token, plugin_id)

    poll = live.changed(render, "requests")
    await poll()  # the page holds the current state already
    return await live.stream(request, poll, interval=1.0)


# --- installing: the capability picker --------------------------------------------------------


@routes.get("/servers/{guild_id}/install/{plugin_id}")
@pages.page
async def picker(request: web.Request) -> web.Response:
    """Server admin of the guild: each capability with its tier and what it unlocks; approve all or some."""
    guild = _guild_of(request)
    platform = _platform(request)
    pid = request.match_info["plugin_id"]
    record = await latest_published(platform.records, pid)
    if record is None:
        raise pages.Refusal(404, "Not in the marketplace", f"No published plugin is called {pid!r}.")
    existing = await platform.records.get_install(guild["id"], pid)
    caps = required_capabilities(record.manifest)
    return pages.render(
        request,
        "picker.html",
        title=f"Install {record.manifest.get('name') or pid}",
        guild=guild,
        record=record,
        capabilities=by_tier(caps),
        hosts=hosts(record.manifest, caps),
        existing=existing,
    )


@routes.post("/servers/{guild_id}/install/{plugin_id}")
@pages.action(lambda r: f"/servers/{r.match_info['guild_id']}/install/{r.match_info['plugin_id']}")
async def install(request: web.Request) -> web.Response:
    """Server admin of the guild: install the published plugin with the capabilities ticked (a subset is fine)."""
    guild = _guild_of(request)
    pid = request.match_info["plugin_id"]
    data = await pages.form(request)
    approved = pages.field_list(data, "capability") if "capability" in data else []
    record = await upgrades.install_published(_platform(request), guild["id"], pid, approved)
    blocked = len(required_capabilities((await _version(_platform(request), pid, record.version)).manifest)) - len(
        record.granted
    )
    note = (
        f" {blocked} capabilit{'y stays' if blocked == 1 else 'ies stay'} blocked until you grant it."
        if blocked
        else ""
    )
    return pages.redirect(
        f"/servers/{guild['id']}/plugins/{pid}", flash=("ok", f"Installed {pid} {record.version}.{note}")
    )


# --- one install -----------------------------------------------------------------------------


async def _install(request: web.Request) -> tuple[dict[str, Any], InstallRecord, VersionRecord]:
    guild = _guild_of(request)
    platform = _platform(request)
    pid = request.match_info["plugin_id"]
    install_record = await platform.records.get_install(guild["id"], pid)
    if install_record is None:
        raise pages.Refusal(404, "Not installed", f"{pid} is not installed on {guild['name']}.")
    version = await _version(platform, pid, install_record.version)
    if version is None:
        raise pages.Refusal(500, "Version missing", f"{pid} {install_record.version} has no record; reinstall it.")
    return guild, install_record, version


@routes.get("/servers/{guild_id}/plugins/{plugin_id}")
@pages.page
async def install_page(request: web.Request) -> web.Response:
    """Server admin of the guild: one install's capabilities, requests, upgrade, state and logs (live)."""
    guild, record, version = await _install(request)
    who = security.viewer(request)
    assert who is not None
    platform = _platform(request)
    requested = required_capabilities(version.manifest)
    caps = [{**c, "granted": c["capability"] in record.granted} for c in by_tier(requested)]
    entries = await platform.records.list_logs(plugin_id=record.plugin_id, server_id=guild["id"], limit=100)
    names = {guild["id"]: guild["name"]}
    return pages.render(
        request,
        "install.html",
        title=f"{record.plugin_id} on {guild['name']}",
        guild=guild,
        install=record,
        version=version,
        capabilities=caps,
        hosts=hosts(version.manifest, requested),
        dashboard=bool((await dashboard_manifest.load_stored(platform, version)).shown),
        live_html=await live_fragment(platform, guild["id"], who.csrf_token, record.plugin_id),
        stream_url=f"/servers/{guild['id']}/live?plugin={record.plugin_id}",
        entries=[portal.log_row(e, names) for e in entries],
        log_stream_url=f"/servers/{guild['id']}/plugins/{record.plugin_id}/logs/stream",
    )


@routes.get("/servers/{guild_id}/plugins/{plugin_id}/logs/stream")
async def install_logs_stream(request: web.Request) -> web.StreamResponse:
    """Server admin of the guild: the plugin's log lines on this guild, live."""
    gid, pid = request.match_info["guild_id"], request.match_info["plugin_id"]
    who = security.viewer(request)
    if who is None or not who.manages(gid):
        raise web.HTTPForbidden(text="Manage Server on this guild is needed")
    platform = _platform(request)
    if await platform.records.get_install(gid, pid) is None:
        raise web.HTTPNotFound(text=f"{pid} is not installed on {gid}")
    guild = who.guild(gid) or {"name": gid}
    poll = portal.log_stream(platform, pid, gid, {gid: guild["name"]})
    await poll()
    return await live.stream(request, poll, interval=1.0)


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/grant")
@pages.action(_back)
async def grant(request: web.Request) -> web.Response:
    """Server admin: grant capabilities the installed version requests; takes effect on the next call."""
    guild, record, _version_record = await _install(request)
    caps = pages.field_list(await pages.form(request), "capability")
    await install_ops.grant(_platform(request), guild["id"], record.plugin_id, caps)
    return pages.redirect(
        _back_after(request),
        flash=("ok", f"Granted {', '.join(caps)} to {record.plugin_id}; it works from the next call."),
    )


def _back_after(request: web.Request) -> str:
    target = request.query.get("back")
    gid = request.match_info["guild_id"]
    return target if target and target.startswith(f"/servers/{gid}") and "//" not in target else _back(request)


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/revoke")
@pages.action(_back)
async def revoke(request: web.Request) -> web.Response:
    guild, record, _version_record = await _install(request)
    caps = pages.field_list(await pages.form(request), "capability")
    await install_ops.grant(_platform(request), guild["id"], record.plugin_id, caps, revoke=True)
    return pages.redirect(_back(request), flash=("ok", f"Revoked {', '.join(caps)} from {record.plugin_id}."))


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/dismiss")
@pages.action(_back)
async def dismiss(request: web.Request) -> web.Response:
    """Server admin: hide a permission request (it keeps counting; grant it later from the install page)."""
    guild, record, _version_record = await _install(request)
    cap = str((await pages.form(request)).get("capability", ""))
    await _platform(request).records.dismiss_denied_call(guild["id"], record.plugin_id, cap)
    return pages.redirect(_back_after(request), flash=("ok", f"Dismissed the request for {cap}."))


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/upgrade")
@pages.action(_back)
async def approve_upgrade(request: web.Request) -> web.Response:
    """Server admin: approve the pending version's new capabilities; the upgrade happens live."""
    guild, record, _version_record = await _install(request)
    if not record.pending_version:
        raise ValueError(f"{record.plugin_id} has no pending upgrade")
    platform = _platform(request)
    new = await _version(platform, record.plugin_id, record.pending_version)
    old = await _version(platform, record.plugin_id, record.version)
    assert new is not None
    added = [c["capability"] for c in capability_diff(old, new)["added"]]
    done = await upgrades.grant(platform, guild["id"], record.plugin_id, added)
    return pages.redirect(_back_after(request), flash=("ok", f"Upgraded {record.plugin_id} to {done.version}."))


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/decline")
@pages.action(_back)
async def decline_upgrade(request: web.Request) -> web.Response:
    guild, record, _version_record = await _install(request)
    await upgrades.decline(_platform(request), guild["id"], record.plugin_id)
    return pages.redirect(
        _back_after(request), flash=("ok", f"Declined; {record.plugin_id} stays on {record.version}.")
    )


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/enable")
@pages.action(_back)
async def enable(request: web.Request) -> web.Response:
    guild, record, _version_record = await _install(request)
    await install_ops.set_enabled(_platform(request), guild["id"], record.plugin_id, True)
    return pages.redirect(_back(request), flash=("ok", f"{record.plugin_id} is enabled."))


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/disable")
@pages.action(_back)
async def disable(request: web.Request) -> web.Response:
    guild, record, _version_record = await _install(request)
    await install_ops.set_enabled(_platform(request), guild["id"], record.plugin_id, False)
    return pages.redirect(_back(request), flash=("ok", f"{record.plugin_id} is disabled; its data and grants stay."))


@routes.post("/servers/{guild_id}/plugins/{plugin_id}/uninstall")
@pages.action(_back)
async def uninstall(request: web.Request) -> web.Response:
    guild, record, _version_record = await _install(request)
    await upgrades.uninstall(_platform(request), guild["id"], record.plugin_id)
    return pages.redirect(f"/servers/{guild['id']}", flash=("ok", f"Uninstalled {record.plugin_id}."))


__all__ = ["Level", "capability_diff", "routes", "version_key"]
