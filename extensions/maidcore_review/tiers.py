"""Platform-only checks: they compare a bundle with the previous published version."""

from __future__ import annotations

from collections.abc import Iterable

from yourbot_sdk.spec.capabilities import effective_capabilities
from yourbot_sdk.spec.manifest import proxy_domains

from maidcore.capabilities import CATALOGUE, highest_tier
from maidcore.layers import BundleView, Finding, Severity
from maidcore.marketplace.versions import version_key

#: Findings with this code send a version to human review instead of approving it.
TIER_SHIFT = "tier_shift"


def _manifest_ok(bundle: BundleView | None) -> bool:
    return bundle is not None and isinstance(bundle.manifest, dict) and bool(bundle.manifest)


def check_version_greater(bundle: BundleView, previous: BundleView | None) -> Iterable[Finding]:
    """A new version must be greater than the last published one."""
    if not _manifest_ok(bundle) or not _manifest_ok(previous):
        return []
    new, old = bundle.manifest.get("version"), previous.manifest.get("version")  # type: ignore[union-attr]
    if not isinstance(new, str) or not isinstance(old, str):
        return []
    if version_key(new) <= version_key(old):
        return [
            Finding(
                "version_not_greater",
                Severity.ERROR,
                f'version "{new}" is not greater than the published "{old}"; bump "version" in manifest.json',
                "manifest.json",
            )
        ]
    return []


def _domains(bundle: BundleView) -> set[str]:
    return set(proxy_domains(dict(bundle.manifest)))


def tier_shift(bundle: BundleView, previous: BundleView | None) -> list[str]:
    """Each way ``bundle`` asks for more than ``previous`` (nothing, for a first version, counts as Safe)."""
    new_caps = effective_capabilities(dict(bundle.manifest))
    old_caps = effective_capabilities(dict(previous.manifest)) if previous is not None else set()
    new_tier, old_tier = highest_tier(new_caps), highest_tier(old_caps)
    shifts = []
    if previous is not None:
        for cap in sorted(new_caps - old_caps):
            shifts.append(f"new capability {cap} ({CATALOGUE[cap].label})")
    if new_tier > old_tier:
        raised = sorted(c for c in new_caps if CATALOGUE[c] == new_tier)
        shifts.append(f"tier rises from {old_tier.label} to {new_tier.label} ({', '.join(raised)})")
    old_domains = _domains(previous) if previous is not None else set()
    for domain in sorted(_domains(bundle) - old_domains):
        shifts.append(f"new proxy domain {domain}")
    return shifts


def check_tier_shift(bundle: BundleView, previous: BundleView | None) -> Iterable[Finding]:
    """More capabilities, a higher tier or new proxy domains than the previous version: a person must look."""
    if not _manifest_ok(bundle):
        return []
    shifts = tier_shift(bundle, previous)
    if not shifts:
        return []
    against = f"version {previous.manifest.get('version')}" if previous is not None else "no previous version"
    return [
        Finding(
            TIER_SHIFT,
            Severity.WARNING,
            f"asks for more than {against}: {'; '.join(shifts)}; a reviewer must approve it",
            "manifest.json",
        )
    ]
