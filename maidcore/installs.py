"""Installing plugin versions on servers, and granting them capabilities.

An install is a plugin version on one server with the capabilities that
server approved. Capabilities the version requests but the server did not
grant stay blocked (``CapabilityDenied``) until ``grant`` adds them; every
change goes to the runner through ``platform.install_changed`` so it takes
effect live. The marketplace (Review) reuses these functions.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from maidcore import capabilities
from maidcore.bundles import ignore, tree_digest
from maidcore.layers import DependencyInstallError
from maidcore.manifest import Manifest, ManifestError, load_manifest, read_manifest
from maidcore.progress import requirements_progress
from maidcore.records import InstallRecord, PluginRecord, VersionRecord, VersionStatus, utcnow
from maidcore.requirements import installable
from maidcore.slash_commands import CommandClash, check_clash

if TYPE_CHECKING:
    from maidcore.platform import Platform

log = logging.getLogger(__name__)

LOCAL_NOTE = "installed locally"
ALL: Literal["all"] = "all"


class InstallError(Exception):
    """An install, grant or uninstall was refused; ``str()`` says what is wrong and what would be right."""


def bundle_digest(root: Path) -> str:
    """sha256 over a bundle's files (``maidcore.bundles.tree_digest``): the name of its blob."""
    return tree_digest(root)


def _requirements(bundle_dir: Path, label: str) -> list[str]:
    """The bundle's requirements to install (the platform's SDK left out); ``InstallError`` on a refused line."""
    path = bundle_dir / "requirements.txt"
    if not path.is_file():
        return []
    try:
        return installable(path.read_text(encoding="utf-8").splitlines())
    except DependencyInstallError as exc:
        raise InstallError(f"the requirements of {label} could not be installed: {exc}") from None


def _unpack(source: Path, workdir: Path) -> Path:
    """Vet and copy (directory) or unpack (zip) the bundle through the marketplace intake; return its root."""
    if not source.exists():
        raise InstallError(f"plugin bundle {source} does not exist; pass a plugin directory or a .zip bundle")
    from maidcore.marketplace.intake import unpack_bundle

    result = unpack_bundle(source, workdir / "bundle")
    if not result.ok:
        errors = [f for f in result.findings if str(getattr(f.severity, "value", f.severity)) == "error"]
        lines = "; ".join(f"{f.code}: {f.message}" for f in errors) or "unpacking failed"
        raise InstallError(f"bundle {source} was refused: {lines}")
    return result.root


def _check_grants(manifest: Manifest, grants: Iterable[str]) -> frozenset[str]:
    requested = manifest.effective_capabilities()
    grants = frozenset(grants)
    unknown = sorted(g for g in grants if g not in capabilities.CATALOGUE)
    if unknown:
        raise InstallError(
            f"unknown capabilit{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"known: {', '.join(sorted(capabilities.CATALOGUE))}"
        )
    not_requested = sorted(grants - requested)
    if not_requested:
        raise InstallError(
            f"{manifest.id} {manifest.version} does not request {', '.join(not_requested)}; "
            f"it requests: {', '.join(sorted(requested)) or 'nothing'}"
        )
    return grants


async def _store_version(platform: Platform, bundle: Path, manifest: Manifest, *, replace: bool) -> VersionRecord:
    """Store the bundle (and its prepared requirements) by content hash and record the version (once per version).

    The files go to the storage layer's blobs (every node fetches them from there)
    and to ``<data_dir>/bundles/<id>/<version>/`` (this node's copy). ``replace``:
    a version installed locally (never a reviewed one) takes this bundle's content.
    """
    records = platform.records
    requirements = _requirements(bundle, f"{manifest.id} {manifest.version}")  # refused lines: before anything else
    dest = platform.bundles.local_dir("bundles", manifest.id, manifest.version)
    existing = await records.get_version(manifest.id, manifest.version)
    if existing is not None and existing.status is VersionStatus.REJECTED:
        raise InstallError(
            f"{manifest.id} {manifest.version} was rejected by review ({existing.review_note or 'see its findings'}); "
            f"fix it and submit a new version"
        )
    if existing is not None:
        stored = existing.bundle_digest
        if stored is None and Path(existing.bundle_path).is_dir():  # recorded before digests
            stored = await asyncio.to_thread(tree_digest, Path(existing.bundle_path))
        if stored is not None and stored == await asyncio.to_thread(tree_digest, bundle):
            return existing
        if stored is not None and not (replace and existing.review_note == LOCAL_NOTE):
            raise InstallError(
                f"{manifest.id} {manifest.version} is already stored with different content (sha256 {stored}); "
                f"a version never changes once stored: bump 'version' in manifest.json"
            )
    if dest.exists():
        shutil.rmtree(dest)  # leftover of an interrupted install, or a local version being replaced
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(bundle, dest, ignore=ignore)

    site_path: str | None = None
    site_digest: str | None = None
    if requirements:
        site = platform.bundles.local_dir("sites", manifest.id, manifest.version)
        site.mkdir(parents=True, exist_ok=True)
        sandbox = platform.sandbox or platform.build_layer("sandbox_backend", platform.settings.sandbox_backend)
        try:
            async with requirements_progress(platform.data_dir, requirements, f"{manifest.id} {manifest.version}"):
                await sandbox.prepare_version(dest, site, requirements)
        except DependencyInstallError as exc:
            shutil.rmtree(dest, ignore_errors=True)
            shutil.rmtree(site, ignore_errors=True)
            raise InstallError(
                f"the requirements of {manifest.id} {manifest.version} could not be installed: {exc}"
            ) from None
        site_path = str(site)
        site_digest = await platform.bundles.store(site)

    if await records.get_plugin(manifest.id) is None:
        await records.add_plugin(PluginRecord(plugin_id=manifest.id, developer=manifest.author or "local"))
    version = VersionRecord(
        plugin_id=manifest.id,
        version=manifest.version,
        status=VersionStatus.PUBLISHED,
        manifest=manifest.model_dump(mode="json", exclude_none=True),
        bundle_path=str(dest),
        site_path=site_path,
        bundle_digest=await platform.bundles.store(dest),
        site_digest=site_digest,
        review_note=LOCAL_NOTE,
        published_at=utcnow(),
    )
    if existing is None:
        await records.add_version(version)
    else:
        await records.update_version(version)
    return version


async def install(
    platform: Platform,
    bundle_dir: Path | str,
    server_id: str,
    grants: Iterable[str] | Literal["all"] | None = None,
    *,
    replace: bool = False,
) -> InstallRecord:
    """Install the plugin at ``bundle_dir`` (directory or zip) on ``server_id`` with ``grants``.

    ``grants="all"`` grants every capability the version requests; ``None``
    keeps the grants of a previous install of the same plugin (those the new
    version still requests), else grants nothing. ``replace=True`` (replay,
    development) lets a version installed locally take new content without a
    version bump; a version that went through review never changes.
    """
    server_id = _server_id(server_id)
    _check_server_exists(platform, server_id)
    source = Path(bundle_dir).expanduser()
    with tempfile.TemporaryDirectory(prefix="maidcore-install-") as tmp:
        bundle = _unpack(source, Path(tmp))
        try:
            manifest, warnings = read_manifest(bundle)
        except ManifestError as exc:
            raise InstallError(str(exc)) from None
        if not (bundle / "__main__.py").is_file():
            raise InstallError(f"{source} has no __main__.py; a plugin bundle needs one at its root")
        for warning in warnings:
            log.warning("manifest of %s: %s", manifest.id, warning)
        await _check_command_names(platform, server_id, manifest)
        previous = await platform.records.get_install(server_id, manifest.id)
        if grants == ALL:
            granted = manifest.effective_capabilities()
        elif grants is None:
            granted = previous.granted & manifest.effective_capabilities() if previous else frozenset()
        else:
            granted = _check_grants(manifest, grants)
        version = await _store_version(platform, bundle, manifest, replace=replace)

    record = InstallRecord(server_id=server_id, plugin_id=manifest.id, version=version.version, granted=granted)
    await platform.records.put_install(record)
    await platform.install_changed(server_id, manifest.id)
    blocked = sorted(manifest.effective_capabilities() - granted)
    log.info(
        "installed",
        extra={
            "plugin_id": manifest.id,
            "version": manifest.version,
            "server_id": server_id,
            "granted": ",".join(sorted(granted)),
            "blocked": ",".join(blocked),
        },
    )
    return record


def _check_server_exists(platform: Platform, server_id: str) -> None:
    """In a local mode that knows its servers (the emulator's guilds), refuse an install on any other server.

    An install there would succeed and never receive an event. A local mode says what it knows with an
    optional ``known_servers()`` (id -> name, or ``None`` when it cannot tell yet); serving real users,
    nothing is checked (the bot may be invited after the install).
    """
    local = platform.local_mode()
    known_servers = getattr(local, "known_servers", None)
    known = known_servers() if callable(known_servers) else None
    if known is None or server_id in known:
        return
    listed = ", ".join(f"{sid} ({name})" for sid, name in sorted(known.items())) or "none"
    raise InstallError(
        f"server {server_id} is not a guild of the {local.name} (its guilds: {listed}); "
        "install on one of those, or add the guild on the emulator's page first"
    )


async def _check_command_names(platform: Platform, server_id: str, manifest: Manifest) -> None:
    """Refuse a version whose slash commands another plugin installed on the server already declares."""
    if not manifest.slash_commands:
        return
    existing: dict[str, list[dict]] = {}
    for other in await platform.records.list_installs(server_id=server_id):
        if other.plugin_id == manifest.id:
            continue
        version = await platform.records.get_version(other.plugin_id, other.version)
        if version is not None:
            existing[other.plugin_id] = list(version.manifest.get("slash_commands") or [])
    try:
        check_clash(existing, manifest.id, [{"name": c.name} for c in manifest.slash_commands])
    except CommandClash as exc:
        raise InstallError(str(exc)) from None


async def _get_install(platform: Platform, server_id: str, plugin_id: str) -> InstallRecord:
    record = await platform.records.get_install(server_id, plugin_id)
    if record is None:
        installed = sorted(r.plugin_id for r in await platform.records.list_installs(server_id=server_id))
        raise InstallError(
            f"plugin {plugin_id!r} is not installed on server {server_id}; "
            f"installed there: {', '.join(installed) or 'nothing'}"
        )
    return record


async def requested_capabilities(platform: Platform, record: InstallRecord) -> frozenset[str]:
    """The effective capabilities the installed version requests."""
    version = await platform.records.get_version(record.plugin_id, record.version)
    if version is None:
        raise InstallError(f"version {record.version} of {record.plugin_id} has no record; reinstall it")
    return load_manifest(version.manifest)[0].effective_capabilities()


async def grant(
    platform: Platform,
    server_id: str,
    plugin_id: str,
    caps: Iterable[str] | Literal["all"],
    *,
    revoke: bool = False,
) -> InstallRecord:
    """Add (or with ``revoke=True`` remove) capabilities of an install; takes effect live."""
    server_id = _server_id(server_id)
    record = await _get_install(platform, server_id, plugin_id)
    version = await platform.records.get_version(plugin_id, record.version)
    if version is None:
        raise InstallError(f"version {record.version} of {plugin_id} has no record; reinstall it")
    manifest = load_manifest(version.manifest)[0]
    caps = manifest.effective_capabilities() if caps == ALL else _check_grants(manifest, caps)
    granted = record.granted - caps if revoke else record.granted | caps
    record = replace(record, granted=frozenset(granted))
    await platform.records.put_install(record)
    await platform.install_changed(server_id, plugin_id)
    if not revoke:  # a permission request for a capability now granted is answered
        for cap in caps:
            await platform.records.delete_denied_calls(server_id, plugin_id, cap)
    log.info(
        "capabilities revoked" if revoke else "capabilities granted",
        extra={"plugin_id": plugin_id, "server_id": server_id, "granted": ",".join(sorted(granted))},
    )
    return record


async def set_enabled(platform: Platform, server_id: str, plugin_id: str, enabled: bool) -> InstallRecord:
    """Enable or disable an install without removing it."""
    record = replace(await _get_install(platform, _server_id(server_id), plugin_id), enabled=enabled)
    await platform.records.put_install(record)
    await platform.install_changed(record.server_id, plugin_id)
    return record


async def uninstall(platform: Platform, server_id: str, plugin_id: str) -> InstallRecord:
    """Remove the install and the hosts its admins approved; the stored bundle stays (other servers or a
    reinstall may use it)."""
    server_id = _server_id(server_id)
    record = await _get_install(platform, server_id, plugin_id)
    await platform.records.delete_install(server_id, plugin_id)
    await platform.records.clear_host_approvals(server_id, plugin_id)
    await platform.records.delete_denied_calls(server_id, plugin_id)
    await platform.install_changed(server_id, plugin_id)
    log.info("uninstalled", extra={"plugin_id": plugin_id, "server_id": server_id})
    return record


def _server_id(server_id: str | int) -> str:
    text = str(server_id).strip()
    if not text.isdigit():
        raise InstallError(f"server id must be a Discord guild id (a decimal snowflake), got {server_id!r}")
    return text


def describe(record: InstallRecord, requested: frozenset[str] | None = None) -> dict[str, object]:
    """An install as JSON-able data for the CLI and logs."""
    data: dict[str, object] = {
        "server_id": record.server_id,
        "plugin_id": record.plugin_id,
        "version": record.version,
        "enabled": record.enabled,
        "granted": sorted(record.granted),
        "installed_at": record.installed_at.isoformat(),
    }
    if requested is not None:
        data["blocked"] = sorted(requested - record.granted)
    if record.pending_version:
        data["pending_version"] = record.pending_version
    return data
