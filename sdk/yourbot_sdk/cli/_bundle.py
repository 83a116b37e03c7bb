"""``yourbot validate`` and ``yourbot bundle``: the review's static checks locally, and the deterministic zip."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from . import UsageError, prog

_EPOCH = (1980, 1, 1, 0, 0, 0)


def _validate(path: Path) -> list[Any]:
    from .. import _plugin

    _plugin.no_run = True
    try:
        from .._validate import validate
    except ImportError as exc:  # the checks ship with the SDK; this only happens in a broken install
        raise UsageError(f"the static checks are not available in this install ({exc})") from None
    return list(validate(path))


def _line(finding: Any) -> str:
    where = finding.path or "."
    if finding.line:
        where = f"{where}:{finding.line}"
    return f"{finding.severity.upper()} {finding.code} {where}: {finding.message}"


def _identity_findings(target: Path, plugin_id: str | None, version: str | None) -> list[Any]:
    """``--id``/``--version``: the manifest must name the plugin and version the platform has."""
    if plugin_id is None and version is None:
        return []
    from .._validate import ERROR, Finding

    text = None
    if target.is_dir() and (target / "manifest.json").is_file():
        text = (target / "manifest.json").read_text(encoding="utf-8")
    elif target.is_file():
        try:
            with zipfile.ZipFile(target) as zf:
                text = zf.read("manifest.json").decode("utf-8")
        except (KeyError, zipfile.BadZipFile, OSError, UnicodeDecodeError):
            text = None
    try:
        manifest = json.loads(text) if text is not None else None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        return []  # the checks already report a missing or broken manifest
    out = []
    for field, expected, what in (("id", plugin_id, "plugin id"), ("version", version, "version")):
        if expected is not None and manifest.get(field) != expected:
            out.append(
                Finding(
                    ERROR,
                    "manifest_plugin_id_mismatch" if field == "id" else "manifest_version_mismatch",
                    "manifest.json",
                    None,
                    f'manifest.json {field} is {manifest.get(field)!r} but the platform {what} is "{expected}"; '
                    f'set "{field}": "{expected}"',
                )
            )
    return out


def command_validate(
    path: str, *, as_json: bool = False, plugin_id: str | None = None, version: str | None = None
) -> int:
    target = Path(path)
    if not target.exists():
        raise UsageError(f"{target} does not exist; give a plugin directory or a .zip")
    findings = [*_identity_findings(target, plugin_id, version), *_validate(target)]
    if as_json:
        print(json.dumps([_as_dict(f) for f in findings], indent=2))
    else:
        for f in findings:
            print(_line(f))
        errors = sum(f.severity == "error" for f in findings)
        warnings = sum(f.severity == "warning" for f in findings)
        print(f"{errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if any(f.severity == "error" for f in findings) else 0


def _as_dict(f: Any) -> dict[str, Any]:
    return {"severity": f.severity, "code": f.code, "path": f.path, "line": f.line, "message": f.message}


def command_bundle(path: str, output: str | None) -> int:
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"{root} is not a plugin directory")
    findings = _validate(root)
    errors = [f for f in findings if f.severity == "error"]
    for f in findings:
        print(_line(f), file=sys.stderr)
    if errors:
        print(f"{prog()} bundle: refusing to bundle, {len(errors)} error(s) found", file=sys.stderr)
        return 1
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    from .._validate import LIMITS, list_directory

    files, unsafe = list_directory(root)
    if unsafe:
        for f in unsafe:
            print(_line(f), file=sys.stderr)
        return 1
    dest = Path(output) if output else root / "dist" / f"{manifest['id']}-{manifest['version']}.zip"
    unpacked = sum((root / rel).stat().st_size for rel in files)
    problems = []
    if len(files) > LIMITS.max_files:
        problems.append(f"{len(files)} files (limit {LIMITS.max_files})")
    if unpacked > LIMITS.max_unpacked:
        problems.append(f"{unpacked} bytes unpacked (limit {LIMITS.max_unpacked})")
    if problems:
        print(f"{prog()} bundle: bundle_too_large: {'; '.join(problems)}", file=sys.stderr)
        return 1
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(files):
            info = zipfile.ZipInfo(rel, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, (root / rel).read_bytes())
    size = tmp.stat().st_size
    if size > LIMITS.max_zipped:
        tmp.unlink()
        print(f"{prog()} bundle: bundle_too_large: {size} bytes zipped (limit {LIMITS.max_zipped})", file=sys.stderr)
        return 1
    tmp.replace(dest)
    print(f"{dest} ({size} bytes, {len(files)} files)")
    return 0
