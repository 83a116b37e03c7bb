"""Publishing: prepare an approved version to run, then make it the serving version in one record update.

Requirements are installed into a staging site directory that is renamed into
place only when complete; the record flips to ``published`` last. A failure
at any step leaves no trace and the previously published version serving.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yourbot_sdk.review import Bundle, requirements

from maidcore.marketplace.errors import Conflict, PublishFailed
from maidcore.marketplace.review import get_version
from maidcore.marketplace.upgrades import roll_out
from maidcore.marketplace.versions import latest_published, version_key
from maidcore.progress import requirements_progress
from maidcore.records import VersionRecord, VersionStatus, utcnow

if TYPE_CHECKING:
    from maidcore.platform import Platform

log = logging.getLogger(__name__)


@dataclass
class PublishResult:
    version: VersionRecord
    upgraded: list[str] = field(default_factory=list)  # servers moved to it
    pending: list[str] = field(default_factory=list)  # servers asked to grant new capabilities

    def as_dict(self) -> dict[str, Any]:
        return {
            "plugin_id": self.version.plugin_id,
            "version": self.version.version,
            "status": self.version.status.value,
            "upgraded": self.upgraded,
            "pending": self.pending,
        }


def _sandbox(platform: Platform):
    return platform.sandbox or platform.build_layer("sandbox_backend", platform.settings.sandbox_backend)


async def publish(platform: Platform, plugin_id: str, version: str) -> PublishResult:
    """Publish an approved version and roll it out to the servers that have the plugin."""
    record = await get_version(platform, plugin_id, version)
    if record.status != VersionStatus.APPROVED:
        raise Conflict(f"{plugin_id} {version} is {record.status.value}; only approved versions can be published")
    current = await latest_published(platform.records, plugin_id)
    if current is not None and version_key(current.version) >= version_key(version):
        raise Conflict(f"{plugin_id} {current.version} is already published; publish a greater version")

    bundle_dir = await platform.bundles.bundle_dir(record)
    reqs = requirements(Bundle.unpacked(bundle_dir))
    site: Path | None = None
    site_digest: str | None = None
    if reqs:
        site = platform.bundles.local_dir("sites", plugin_id, version)
        staging = site.parent / f".{version}.partial-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        try:
            async with requirements_progress(platform.data_dir, reqs, f"{plugin_id} {version}"):
                await _sandbox(platform).prepare_version(bundle_dir, staging, reqs)
            if site.exists():
                shutil.rmtree(site)
            staging.rename(site)
            site_digest = await platform.bundles.store(site)  # every node fetches it from here
        except Exception as exc:
            shutil.rmtree(staging, ignore_errors=True)
            log.warning("publishing %s %s failed: %s", plugin_id, version, exc)
            raise PublishFailed(
                f"{plugin_id} {version} could not be prepared ({exc.__class__.__name__}: {exc}); "
                f"{'version ' + current.version if current else 'no version'} keeps serving"
            ) from exc
    published = replace(
        record,
        status=VersionStatus.PUBLISHED,
        site_path=str(site) if site else None,
        site_digest=site_digest,
        published_at=utcnow(),
    )
    try:
        await platform.records.update_version(published)
    except Exception:
        if site is not None:
            shutil.rmtree(site, ignore_errors=True)
        raise
    log.info("version published", extra={"plugin_id": plugin_id, "version": version})
    rolled = await roll_out(platform, published)
    return PublishResult(published, rolled["upgraded"], rolled["pending"])
