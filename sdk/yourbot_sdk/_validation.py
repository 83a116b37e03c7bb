"""The official SDK's validation entry points, over this SDK's static checks (``yourbot_sdk._validate``).

Plugins and tools written against the official ``_validation`` module keep working:
``validate_artifact`` reviews a zipped bundle the way the platform does, ``ValidationResult``/
``Finding`` carry the findings, and the manifest helpers read capabilities (the union of all four
keys) and dashboard methods. Finding codes are this SDK's (``docs/review.md``).
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .spec.capabilities import declared_capabilities
from .spec.manifest import DASHBOARD_WIDTHS, WIDGET_PERMISSIONS

__all__ = [
    "VALID_WIDGET_TYPES",
    "VALID_WIDTHS",
    "Finding",
    "ValidationResult",
    "iter_manifest_widgets",
    "manifest_capabilities",
    "manifest_declared_rpc_names",
    "manifest_widget_rpc_names",
    "validate_artifact",
    "validate_dashboard_manifest",
    "write_manifest_capabilities",
]

VALID_WIDGET_TYPES = {"stat_card", "chart", "table", "text", "alert", "progress_bar", "list", "markdown", "form"}
V2_WIDGET_TYPES = {"image", "key_value", "timeline", "badge_list", "user_list", "heading", "divider", "action_button"}
V2_CONTAINER_TYPES = {"section", "tabs"}
VALID_WIDTHS = set(DASHBOARD_WIDTHS)


@dataclass
class Finding:
    severity: str
    code: str
    message: str
    path: str | None = None
    line: int | None = None
    hint: str | None = None


@dataclass
class ValidationResult:
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        severity: str,
        code: str,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.findings.append(Finding(severity, code, message, path, line, hint))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def to_payload(self) -> dict[str, Any]:
        def one(f: Finding) -> dict[str, Any]:
            out = {"severity": f.severity, "code": f.code, "message": f.message}
            for key in ("path", "line", "hint"):
                if getattr(f, key) is not None:
                    out[key] = getattr(f, key)
            return out

        return {
            "errors": [one(f) for f in self.errors],
            "warnings": [one(f) for f in self.warnings],
            "has_errors": self.has_errors,
        }


def validate_artifact(
    *,
    plugin_id: str,
    version: str,
    artifact_bytes: bytes,
    effective_manifest: dict | None = None,
    stored_dashboard_manifest: dict | None = None,
) -> ValidationResult:
    """Review a zipped bundle: every static check, plus the manifest's id and version against the platform's."""
    from . import _plugin
    from ._validate import validate

    _plugin.no_run = True
    result = ValidationResult()
    try:
        with zipfile.ZipFile(io.BytesIO(artifact_bytes)) as zf:
            manifest_text = zf.read("manifest.json").decode("utf-8") if "manifest.json" in zf.namelist() else None
    except zipfile.BadZipFile:
        result.add("error", "bundle_invalid", "the artifact is not a zip archive")
        return result
    import json

    try:
        manifest = json.loads(manifest_text) if manifest_text is not None else None
    except ValueError:
        manifest = None
    if isinstance(manifest, dict):
        if manifest.get("id") != plugin_id:
            result.add(
                "error",
                "manifest_plugin_id_mismatch",
                f'manifest.json id is "{manifest.get("id")}", but this plugin is "{plugin_id}" on the platform.',
                path="manifest.json",
                hint=f'Change "id": "{plugin_id}" in manifest.json; the platform-side id is authoritative.',
            )
        if manifest.get("version") != version:
            result.add(
                "error",
                "manifest_version_mismatch",
                f'manifest.json version is "{manifest.get("version")}", but this version is "{version}" here.',
                path="manifest.json",
                hint=f'Set "version": "{version}" in manifest.json.',
            )
    with tempfile.TemporaryDirectory(prefix="yourbot-artifact-") as tmp:
        archive = Path(tmp) / "bundle.zip"
        archive.write_bytes(artifact_bytes)
        for f in validate(archive):
            if f.severity in ("error", "warning"):
                result.add(f.severity, f.code, f.message, path=f.path, line=f.line)
    return result


def iter_manifest_widgets(page: dict) -> Any:
    """Every widget of a page, containers (sections, tabs) included, depth first."""
    for widget in page.get("widgets") or []:
        if not isinstance(widget, dict):
            continue
        yield widget
        for child_key in ("widgets", "children"):
            for child in widget.get(child_key) or []:
                if isinstance(child, dict):
                    yield from iter_manifest_widgets({"widgets": [child]})
        for tab in widget.get("tabs") or []:
            if isinstance(tab, dict):
                yield from iter_manifest_widgets(tab)


def manifest_widget_rpc_names(manifest: dict) -> set:
    """The handler names a dashboard manifest's widgets call (``rpc_method`` and ``save_rpc_method``)."""
    names = set()
    for page in manifest.get("pages") or []:
        if isinstance(page, dict):
            for widget in iter_manifest_widgets(page):
                for key in ("rpc_method", "save_rpc_method", "save_method"):
                    value = widget.get(key)
                    if isinstance(value, str) and value:
                        names.add(value.removeprefix("dashboard."))
    return names


def manifest_declared_rpc_names(manifest: dict) -> set:
    """Names declared in a dashboard manifest's ``rpc`` block."""
    out = set()
    for entry in manifest.get("rpc") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            out.add(entry["name"])
        elif isinstance(entry, str):
            out.add(entry)
    return out


def validate_dashboard_manifest(manifest: dict) -> list:
    """Problems with a dashboard manifest's shape, one string each (empty when it is fine)."""
    errors: list[str] = []
    pages = manifest.get("pages") if isinstance(manifest, dict) else None
    if not isinstance(pages, list):
        return ['a dashboard manifest needs "pages": [{id, title, widgets}]']
    for i, page in enumerate(pages):
        if not isinstance(page, dict) or not page.get("id") or not page.get("title"):
            errors.append(f"Page {i}: needs an id and a title")
            continue
        if page.get("permission") is not None and page["permission"] not in WIDGET_PERMISSIONS:
            errors.append(f"Page {i}: invalid permission {page['permission']!r}")
        for j, widget in enumerate(page.get("widgets") or []):
            where = f"Page {i} widget {j}"
            if not isinstance(widget, dict):
                errors.append(f"{where}: must be an object")
                continue
            kind = widget.get("type")
            if kind not in VALID_WIDGET_TYPES | V2_WIDGET_TYPES | V2_CONTAINER_TYPES:
                errors.append(f"{where}: unknown type {kind!r}")
            width = widget.get("width")
            if width is not None and width not in VALID_WIDTHS:
                errors.append(f"{where}: invalid width {width!r} (valid: {sorted(VALID_WIDTHS)})")
            permission = widget.get("permission")
            if permission is not None and permission not in WIDGET_PERMISSIONS:
                errors.append(f"{where}: invalid permission {permission!r}")
            refresh = widget.get("refresh_seconds")
            if refresh is not None and (not isinstance(refresh, int) or not 5 <= refresh <= 3600):
                errors.append(f"{where}: refresh_seconds must be an integer 5-3600")
    return errors


def manifest_capabilities(manifest: dict) -> list[str]:
    """The capabilities a manifest declares: the union of all four keys, sorted."""
    return declared_capabilities(manifest)


def write_manifest_capabilities(manifest: dict, caps: Any) -> None:
    """Store ``caps`` under ``capabilities_required`` (and ``capabilities_requested``, which older readers use)."""
    names = list(caps)
    manifest["capabilities_required"] = names
    manifest["capabilities_requested"] = list(names)
