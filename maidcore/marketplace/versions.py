"""Ordering versions and finding the one that serves."""

from __future__ import annotations

import re

from maidcore.layers import RecordStore
from maidcore.records import VersionRecord, VersionStatus

__all__ = ["latest_published", "version_key"]


def version_key(version: str) -> tuple:
    """Orders ``1.2.10`` after ``1.2.9`` and a release after its pre-releases (``1.0.0-rc1`` < ``1.0.0``)."""
    core, _, pre = version.partition("-")
    core = core.split("+", 1)[0]
    nums = tuple(int(p) if p.isdigit() else -1 for p in core.split("."))
    nums = nums + (0,) * (3 - len(nums))
    pre_key = tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.]", pre)) if pre else ()
    return (nums, 0 if pre else 1, pre_key)


async def latest_published(records: RecordStore, plugin_id: str) -> VersionRecord | None:
    """The greatest published version of a plugin (the one new installs get), or ``None``."""
    published = [v for v in await records.list_versions(plugin_id) if v.status == VersionStatus.PUBLISHED]
    return max(published, key=lambda v: version_key(v.version), default=None)
