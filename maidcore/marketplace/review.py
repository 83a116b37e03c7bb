"""Review orchestration: intake, every registered check, and the status that follows.

submitted → rejected (any error finding) | needs_human_review (a tier shift,
or a check that crashed) | approved → published (``publishing.publish``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yourbot_sdk.review import Bundle

from maidcore import metrics
from maidcore.bundles import BundleUnavailable
from maidcore.layers import Finding, ReviewCheck, Severity
from maidcore.manifest import ManifestError, load_manifest
from maidcore.marketplace.errors import Conflict, Forbidden, NotFound, Refused
from maidcore.marketplace.findings import as_dicts, has_errors
from maidcore.marketplace.intake import unpack_bundle
from maidcore.marketplace.versions import latest_published, version_key
from maidcore.records import PluginRecord, VersionRecord, VersionStatus

if TYPE_CHECKING:
    from maidcore.platform import Platform

log = logging.getLogger(__name__)

#: Finding codes that send a version to a person instead of approving it.
HUMAN_REVIEW_CODES = frozenset({"tier_shift", "check_failed"})
_ID = re.compile(r"^[a-z][a-z0-9_]{2,31}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")


@dataclass
class ReviewReport:
    """Findings of one review and the status they lead to."""

    findings: list[Finding]
    status: VersionStatus

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "ok": self.ok, "findings": as_dicts(self.findings)}


def run_checks(checks: Mapping[str, ReviewCheck], bundle: Bundle, previous: Bundle | None) -> list[Finding]:
    """Every check on ``bundle``; a check that raises becomes a ``check_failed`` finding, never a crash."""
    findings: list[Finding] = []
    for name, check in checks.items():
        try:
            findings.extend(check(bundle, previous))
        except Exception as exc:  # a broken third-party check must not take the review down
            log.exception("review check %s failed", name)
            findings.append(
                Finding(
                    "check_failed",
                    Severity.WARNING,
                    f"review check {name!r} crashed ({exc.__class__.__name__}: {exc}); a reviewer must look",
                )
            )
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: (order[f.severity], f.path or "", f.line or 0, f.code))


def decide(findings: list[Finding]) -> VersionStatus:
    if has_errors(findings):
        return VersionStatus.REJECTED
    if any(f.code in HUMAN_REVIEW_CODES for f in findings):
        return VersionStatus.NEEDS_HUMAN_REVIEW
    return VersionStatus.APPROVED


def review_path(checks: Mapping[str, ReviewCheck], path: Path, previous: Path | None = None) -> ReviewReport:
    """Intake and every check on a zip or plugin directory, submitting nothing (``maidcore review``)."""
    with tempfile.TemporaryDirectory(prefix="maidcore-review-") as tmp:
        intake = unpack_bundle(Path(path), Path(tmp) / "bundle")
        if not intake.ok:
            return ReviewReport(intake.findings, VersionStatus.REJECTED)
        prev = Bundle.unpacked(previous) if previous is not None else None
        findings = [*intake.findings, *run_checks(checks, intake.bundle(), prev)]
        return ReviewReport(findings, decide(findings))


def normalised_manifest(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest as the platform stores it (legacy capability keys folded), raw when it does not load."""
    try:
        manifest, _ = load_manifest(dict(raw))
    except ManifestError:
        return dict(raw)
    return manifest.model_dump(mode="json", exclude_none=True)


async def submit(platform: Platform, developer: str, src: Path, *, is_admin: bool = False) -> VersionRecord:
    """Take an uploaded bundle through intake and review and record the version with its status.

    Raises ``Refused`` (nothing recorded) when intake refuses the bundle or its
    id/version cannot be recorded, ``Forbidden`` when the plugin id belongs to
    another developer, ``Conflict`` when that version was already submitted.
    """
    records = platform.records
    uploads = platform.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    staging = uploads / uuid.uuid4().hex
    try:
        intake = await asyncio.to_thread(unpack_bundle, Path(src), staging / "bundle")
        if not intake.ok:
            raise Refused("the bundle was refused at intake", intake.findings)
        bundle = intake.bundle()
        plugin_id, version = bundle.manifest.get("id"), bundle.manifest.get("version")
        if (
            not isinstance(plugin_id, str)
            or not _ID.match(plugin_id)
            or not isinstance(version, str)
            or not (_VERSION.match(version) and ".." not in version)
        ):
            findings = [*intake.findings, *run_checks(platform.review_checks, bundle, None)]
            raise Refused("manifest.json needs a valid id and version before the bundle can be recorded", findings)

        plugin = await records.get_plugin(plugin_id)
        if plugin is not None and plugin.developer != developer and not is_admin:
            raise Forbidden(f"plugin {plugin_id!r} belongs to another developer; choose another id")
        existing = await records.get_version(plugin_id, version)
        if existing is not None and existing.status != VersionStatus.REJECTED:
            raise Conflict(
                f"{plugin_id} {version} was already submitted (status {existing.status.value}); "
                'bump "version" in manifest.json'
            )
        previous_record = await latest_published(records, plugin_id)
        previous = await _previous_bundle(platform, previous_record)

        dest = platform.bundles.local_dir("bundles", plugin_id, version)
        if dest.exists():  # a rejected earlier upload of this version, replaced
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.joinpath("bundle").rename(dest)
        if plugin is None:
            await records.add_plugin(PluginRecord(plugin_id=plugin_id, developer=developer))
        record = VersionRecord(
            plugin_id=plugin_id,
            version=version,
            status=VersionStatus.SUBMITTED,
            manifest=normalised_manifest(bundle.manifest),
            bundle_path=str(dest),
            bundle_digest=await platform.bundles.store(dest),  # every node fetches it from here
            findings=as_dicts(intake.findings),
        )
        if existing is None:
            await records.add_version(record)
        else:
            await records.update_version(record)

        checked = await asyncio.to_thread(run_checks, platform.review_checks, Bundle.unpacked(dest), previous)
        findings = [*intake.findings, *checked]
        status = decide(findings)
        record = replace(record, status=status, findings=as_dicts(findings))
        await records.update_version(record)
        log.info("version reviewed", extra={"plugin_id": plugin_id, "version": version, "status": status.value})
        metrics.REVIEW_OUTCOMES.labels(status.value).inc()
        return record
    finally:
        shutil.rmtree(staging, ignore_errors=True)


async def _previous_bundle(platform: Platform, record: VersionRecord | None) -> Bundle | None:
    """The latest published version's files (review compares against them); ``None`` if unreachable."""
    if record is None:
        return None
    try:
        return Bundle.unpacked(await platform.bundles.bundle_dir(record))
    except BundleUnavailable as exc:
        log.warning("reviewing without the previous version to compare: %s", exc)
        return None


async def get_version(platform: Platform, plugin_id: str, version: str) -> VersionRecord:
    record = await platform.records.get_version(plugin_id, version)
    if record is None:
        known = [v.version for v in await platform.records.list_versions(plugin_id)]
        raise NotFound(
            f"{plugin_id} has no version {version!r}; versions: {', '.join(known) or 'none (no such plugin)'}"
        )
    return record


async def human_review(
    platform: Platform, plugin_id: str, version: str, *, reviewer: str, approve: bool, note: str
) -> VersionRecord:
    """A reviewer's decision on a version waiting for human review (a note is required to reject)."""
    record = await get_version(platform, plugin_id, version)
    if record.status not in (VersionStatus.NEEDS_HUMAN_REVIEW, VersionStatus.SUBMITTED):
        raise Conflict(
            f"{plugin_id} {version} is {record.status.value}; only versions needing human review can be "
            "approved or rejected"
        )
    if not approve and not note.strip():
        raise Conflict("rejecting needs a note telling the developer what to change")
    status = VersionStatus.APPROVED if approve else VersionStatus.REJECTED
    verdict = "approved" if approve else "rejected"
    record = replace(record, status=status, review_note=f"{verdict} by {reviewer}" + (f": {note}" if note else ""))
    await platform.records.update_version(record)
    log.info("human review", extra={"plugin_id": plugin_id, "version": version, "status": status.value})
    metrics.REVIEW_DECISIONS.labels(verdict).inc()
    return record


__all__ = [
    "HUMAN_REVIEW_CODES",
    "ReviewReport",
    "decide",
    "get_version",
    "human_review",
    "review_path",
    "run_checks",
    "submit",
    "version_key",
]
