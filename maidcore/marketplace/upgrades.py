"""Installs with capability approval, and moving installed servers to newly published versions.

A new version that needs no capability beyond what the running version
requested replaces it on every server at once (grants kept). One that needs
more leaves each server on its old version with a pending request listing the
new capabilities; an admin grants them (the upgrade happens live) or declines.
Records and the runner notification go through ``maidcore.installs``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from yourbot_sdk.spec.capabilities import effective_capabilities

from maidcore import installs
from maidcore.capabilities import CATALOGUE
from maidcore.manifest import ManifestError, load_manifest
from maidcore.marketplace.errors import Conflict, MarketplaceError, NotFound
from maidcore.marketplace.versions import latest_published, version_key
from maidcore.records import InstallRecord, VersionRecord, VersionStatus

if TYPE_CHECKING:
    from maidcore.platform import Platform

log = logging.getLogger(__name__)


def required_capabilities(manifest: Mapping[str, Any]) -> frozenset[str]:
    """Declared plus auto-added capabilities (what an installer approves)."""
    try:
        model, _ = load_manifest(dict(manifest))
    except ManifestError:
        return frozenset(effective_capabilities(dict(manifest)))
    return model.effective_capabilities()


def shown(caps: Iterable[str]) -> list[dict[str, str]]:
    """Capabilities as installers see them: highest tier first, each with its tier."""
    return [
        {"capability": c, "tier": CATALOGUE[c].label}
        for c in sorted(caps, key=lambda c: (-CATALOGUE[c], c))
        if c in CATALOGUE
    ]


async def _published(platform: Platform, plugin_id: str, version: str | None) -> VersionRecord:
    if version is None:
        record = await latest_published(platform.records, plugin_id)
        if record is None:
            raise NotFound(f"plugin {plugin_id!r} has no published version")
        return record
    record = await platform.records.get_version(plugin_id, version)
    if record is None or record.status != VersionStatus.PUBLISHED:
        raise NotFound(f"{plugin_id} {version} is not a published version")
    return record


async def install_published(
    platform: Platform, server_id: str, plugin_id: str, approved: Iterable[str], version: str | None = None
) -> InstallRecord:
    """Install a published version with the capabilities the server approved: all it is shown, or some.

    Those left out stay blocked: a call needing one is refused and shows up as a
    permission request the admin can grant later, without reinstalling.
    """
    record = await _published(platform, plugin_id, version)
    required = required_capabilities(record.manifest)
    approved = frozenset(approved)
    extra = sorted(approved - required)
    if extra:
        raise MarketplaceError(
            f"{plugin_id} {record.version} does not ask for {', '.join(extra)}; approve only what it shows"
        )
    try:
        return await installs.install(platform, await platform.bundles.bundle_dir(record), server_id, approved)
    except installs.InstallError as exc:
        raise MarketplaceError(str(exc)) from None


async def _version_caps(platform: Platform, plugin_id: str, version: str) -> frozenset[str]:
    record = await platform.records.get_version(plugin_id, version)
    return required_capabilities(record.manifest) if record is not None else frozenset()


async def roll_out(platform: Platform, new: VersionRecord) -> dict[str, list[str]]:
    """After publishing: move servers whose grants cover ``new`` to it; leave a request on the others."""
    required = required_capabilities(new.manifest)
    upgraded: list[str] = []
    pending: list[str] = []
    for install in await platform.records.list_installs(plugin_id=new.plugin_id):
        if version_key(install.version) >= version_key(new.version):
            continue
        running = await _version_caps(platform, new.plugin_id, install.version)
        if required - running:
            await platform.records.put_install(replace(install, pending_version=new.version))
            await platform.install_changed(install.server_id, new.plugin_id)
            pending.append(install.server_id)
            continue
        try:
            await installs.install(
                platform, await platform.bundles.bundle_dir(new), install.server_id, sorted(install.granted & required)
            )
        except Exception:  # one server's failure must not stop the others
            log.exception("upgrade of %s on %s failed", new.plugin_id, install.server_id)
            continue
        upgraded.append(install.server_id)
    log.info(
        "version rolled out",
        extra={"plugin_id": new.plugin_id, "version": new.version, "upgraded": len(upgraded), "pending": len(pending)},
    )
    return {"upgraded": upgraded, "pending": pending}


async def _install(platform: Platform, server_id: str, plugin_id: str) -> InstallRecord:
    record = await platform.records.get_install(server_id, plugin_id)
    if record is None:
        raise NotFound(f"plugin {plugin_id!r} is not installed on server {server_id}")
    return record


async def upgrade_request(platform: Platform, install: InstallRecord) -> dict[str, Any] | None:
    """What a pending upgrade asks for, or ``None`` when there is none."""
    if not install.pending_version:
        return None
    running = await _version_caps(platform, install.plugin_id, install.version)
    wanted = await _version_caps(platform, install.plugin_id, install.pending_version)
    return {
        "server_id": install.server_id,
        "plugin_id": install.plugin_id,
        "version": install.version,
        "pending_version": install.pending_version,
        "new_capabilities": shown(wanted - running),
    }


async def upgrade_requests(platform: Platform, *, server_id: str | None = None) -> list[dict[str, Any]]:
    out = []
    for install in await platform.records.list_installs(server_id=server_id):
        request = await upgrade_request(platform, install)
        if request is not None:
            out.append(request)
    return out


async def grant(platform: Platform, server_id: str, plugin_id: str, approved: Iterable[str]) -> InstallRecord:
    """Grant capabilities: with a pending upgrade, approve its new capabilities (the upgrade happens live)."""
    install = await _install(platform, server_id, plugin_id)
    approved = frozenset(approved)
    if not install.pending_version:
        try:
            return await installs.grant(platform, server_id, plugin_id, sorted(approved))
        except installs.InstallError as exc:
            raise MarketplaceError(str(exc)) from None
    new = await platform.records.get_version(plugin_id, install.pending_version)
    if new is None:
        raise NotFound(f"the pending version {install.pending_version} of {plugin_id} has no record")
    running = await _version_caps(platform, plugin_id, install.version)
    required = required_capabilities(new.manifest)
    needed = required - running
    missing = sorted(needed - approved)
    if missing:
        raise MarketplaceError(
            f"upgrading {plugin_id} to {new.version} needs: {', '.join(sorted(needed))}; "
            f"not approved: {', '.join(missing)}"
        )
    grants = (install.granted & required) | (approved & required)
    try:
        return await installs.install(platform, await platform.bundles.bundle_dir(new), server_id, sorted(grants))
    except installs.InstallError as exc:
        raise MarketplaceError(str(exc)) from None


async def decline(platform: Platform, server_id: str, plugin_id: str) -> InstallRecord:
    """Decline a pending upgrade: the server keeps its version."""
    install = await _install(platform, server_id, plugin_id)
    if not install.pending_version:
        raise Conflict(f"{plugin_id} on server {server_id} has no pending upgrade")
    install = replace(install, pending_version=None)
    await platform.records.put_install(install)
    await platform.install_changed(server_id, plugin_id)
    return install


async def uninstall(platform: Platform, server_id: str, plugin_id: str) -> InstallRecord:
    try:
        return await installs.uninstall(platform, server_id, plugin_id)
    except installs.InstallError as exc:
        raise NotFound(str(exc)) from None
