"""A plugin bundle as the checks read it: a directory, its file list, the parsed manifest, cached syntax trees."""

from __future__ import annotations

import ast
import json
import os
import shutil
import stat
import warnings
from pathlib import Path
from typing import Any

from ._archive import LIMITS, Limits, _commit, _fmt, _root_findings, _staging_for, is_junk
from ._findings import ERROR, Finding, error

#: What ``mmo bundle`` leaves out of a directory (and ``validate`` ignores in one).
EXCLUDED_DIRS = frozenset({"tests", "venv", ".venv", "dist", "__pycache__", ".git", "node_modules"})
EXCLUDED_FILES = frozenset({"conftest.py", "events.yaml", "events.json"})


def list_directory(root: Path) -> tuple[list[str], list[Finding]]:
    """The files ``mmo bundle`` would ship from ``root`` (sorted POSIX paths), and unsafe entries found."""
    files: list[str] = []
    findings: list[Finding] = []

    def walk(directory: Path, prefix: str) -> None:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.name.startswith(".") or is_junk((entry.name,)):
                continue
            if entry.is_symlink():
                findings.append(error("unsafe_path", f"{rel} is a symbolic link; copy the real file in", rel))
                continue
            if entry.is_dir(follow_symlinks=False):
                if (not prefix and entry.name in EXCLUDED_DIRS) or entry.name in ("__pycache__", "node_modules"):
                    continue
                walk(Path(entry.path), rel + "/")
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            if not stat.S_ISREG(mode):
                findings.append(error("unsafe_path", f"{rel} is a device, FIFO or socket; only regular files", rel))
                continue
            if entry.name in EXCLUDED_FILES and (not prefix or entry.name == "conftest.py"):
                continue
            files.append(rel)

    walk(root, "")
    return files, findings


def list_unpacked(root: Path) -> list[str]:
    """Every regular file under an unpacked bundle (it already is exactly what was shipped)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath).relative_to(root).as_posix()
        for name in sorted(filenames):
            out.append(name if base == "." else f"{base}/{name}")
    return out


class _DuplicateKey(ValueError):
    """A JSON object names one key twice (json.loads would keep only the last)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(f"key {key!r} appears twice")
        seen[key] = value
    return seen


class Bundle:
    """A read-only bundle directory (implements the platform's ``BundleView``)."""

    def __init__(self, root: Path, files: list[str] | tuple[str, ...], *, from_zip: bool = False) -> None:
        self.root = Path(root)
        self.files = tuple(files)
        self.from_zip = from_zip
        self._fileset = frozenset(self.files)
        self._texts: dict[str, str | None] = {}
        self._trees: dict[str, ast.Module | None] = {}
        self._syntax_errors: dict[str, SyntaxError] = {}
        self.manifest_problem: str | None = None
        self.manifest: dict[str, Any] = self._load_manifest()

    @classmethod
    def from_directory(cls, root: Path) -> tuple[Bundle, list[Finding]]:
        files, findings = list_directory(root)
        return cls(root, files), findings

    @classmethod
    def unpacked(cls, root: Path) -> Bundle:
        return cls(root, list_unpacked(root), from_zip=True)

    def _load_manifest(self) -> dict[str, Any]:
        if "manifest.json" not in self._fileset:
            self.manifest_problem = "missing"
            return {}
        raw = (self.root / "manifest.json").read_bytes()
        try:
            data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
        except UnicodeDecodeError:
            self.manifest_problem = "manifest.json is not UTF-8; save it as UTF-8"
            return {}
        except _DuplicateKey as exc:
            self.manifest_problem = f"manifest.json: {exc}; keep one"
            return {}
        except json.JSONDecodeError as exc:
            self.manifest_problem = (
                f"manifest.json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            )
            return {}
        if not isinstance(data, dict):
            self.manifest_problem = f"manifest.json must hold a JSON object, not {type(data).__name__}"
            return {}
        return data

    def has(self, path: str) -> bool:
        return path in self._fileset

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            value = None
            if path in self._fileset:
                try:
                    value = (self.root / path).read_bytes().decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    value = None
            self._texts[path] = value
        return self._texts[path]

    def syntax_tree(self, path: str) -> ast.Module | None:
        if path not in self._trees:
            source = self.text(path)
            tree = None
            if source is not None:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        tree = ast.parse(source.removeprefix("\ufeff"), filename=path)  # a UTF-8 BOM is fine
                except (SyntaxError, ValueError) as exc:
                    if isinstance(exc, SyntaxError):
                        self._syntax_errors[path] = exc
                    else:
                        self._syntax_errors[path] = SyntaxError(str(exc))
            self._trees[path] = tree
        return self._trees[path]

    def syntax_error(self, path: str) -> SyntaxError | None:
        self.syntax_tree(path)
        return self._syntax_errors.get(path)

    def python_files(self) -> list[str]:
        """The ``.py`` files code checks read: every one that ships (tests/, venv/, conftest.py included).

        What ships is what the sandbox can import; ``mmo bundle`` already leaves tests and
        virtualenvs of a plugin directory out (``list_directory``).
        """
        return [p for p in self.files if p.endswith(".py")]


def copy_directory(src: Path, dest: Path, limits: Limits = LIMITS) -> list[Finding]:
    """Copy what ``mmo bundle`` would ship from ``src`` to ``dest`` within the §1 limits; nothing appears on error."""
    files, findings = list_directory(src)
    if len(files) > limits.max_files:
        findings.append(
            error(
                "bundle_too_large",
                f"the directory holds {len(files)} files; a bundle may hold at most {limits.max_files}",
            )
        )
    findings.extend(_root_findings({tuple(p.split("/")) for p in files}))
    if any(f.severity == ERROR for f in findings):
        return findings
    staging = _staging_for(dest)
    try:
        budget = limits.max_unpacked
        for rel in files:
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(src / rel, "rb") as fin, open(target, "xb") as fout:
                while chunk := fin.read(256 * 1024):
                    budget -= len(chunk)
                    if budget < 0:
                        raise OverflowError(rel)
                    fout.write(chunk)
        _commit(staging, dest)
    except OverflowError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        findings.append(
            error("bundle_too_large", f"the directory holds more than {_fmt(limits.max_unpacked)} (at {exc})", str(exc))
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return findings
