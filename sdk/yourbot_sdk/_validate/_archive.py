"""Safe unpacking of a plugin zip (contract §1): every entry is vetted before a byte is written.

Used by ``mmo validate`` (into a temporary directory) and by the platform's
intake (into the bundle store). Sizes are counted while streaming, never
trusted from headers, and the output appears at ``dest`` only once complete.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ._findings import ERROR, Finding, error, warning

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_zipped: int = 10 * MB
    max_unpacked: int = 40 * MB
    max_files: int = 200
    max_entries: int = 1000  # every entry, directories and junk included
    max_ratio: int = 100  # uncompressed / compressed, per entry ...
    ratio_floor: int = 1 * MB  # ... for entries larger than this


LIMITS = Limits()
_CHUNK = 256 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")

#: Never part of a bundle: excluded from directories silently, from zips with a ``junk_file`` warning.
JUNK_DIRS = frozenset({"__pycache__", ".git"})


def is_junk(parts: tuple[str, ...]) -> bool:
    return any(p in JUNK_DIRS for p in parts[:-1]) or parts[-1] in JUNK_DIRS or parts[-1].endswith(".pyc")


def _fmt(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n} bytes"


def _entry_kind(info: zipfile.ZipInfo) -> str:
    """``file``, ``dir``, ``symlink`` or ``special`` from the entry's Unix mode (when it has one)."""
    mode = info.external_attr >> 16
    fmt = stat.S_IFMT(mode) if info.create_system == 3 else 0
    if fmt == stat.S_IFLNK:
        return "symlink"
    if fmt in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        return "special"
    if fmt == stat.S_IFDIR or info.filename.endswith("/"):
        return "dir"
    return "file"


def split_entry_name(name: str) -> tuple[str, ...] | str:
    """The safe path segments of an entry name, or a sentence saying why the name is unsafe."""
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "is an absolute path; entries must be relative to the zip root"
    parts = [p for p in re.split(r"[\\/]", name.rstrip("/\\")) if p not in ("", ".")]
    if ".." in parts:
        return "contains a '..' segment; entries must stay inside the bundle"
    if not parts:
        return "has an empty name"
    return tuple(parts)


def _key(parts: tuple[str, ...]) -> str:
    """Names that collide on a case-insensitive or Unicode-normalising filesystem map to the same key."""
    return unicodedata.normalize("NFC", "/".join(parts)).casefold()


@dataclass
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]


def scan_zip(zf: zipfile.ZipFile, limits: Limits = LIMITS) -> tuple[list[_Entry], list[Finding]]:
    """Vet every entry header; returns the regular files to extract and the findings."""
    findings: list[Finding] = []
    files: list[_Entry] = []
    seen: dict[str, str] = {}
    dirs: set[str] = set()
    declared = 0
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        return [], [
            error(
                "bundle_too_large",
                f"the zip holds {len(infos)} entries; a bundle may hold at most {limits.max_files} files "
                f"({limits.max_entries} entries with directories)",
            )
        ]
    for info in infos:
        name = info.filename
        parts = split_entry_name(name)
        if isinstance(parts, str):
            findings.append(error("unsafe_path", f"zip entry {name!r} {parts}", name))
            continue
        kind = _entry_kind(info)
        shown = "/".join(parts)
        if kind == "symlink":
            findings.append(
                error("unsafe_path", f"zip entry {shown!r} is a symbolic link; ship the file itself", shown)
            )
            continue
        if kind == "special":
            findings.append(
                error("unsafe_path", f"zip entry {shown!r} is a device, FIFO or socket; only regular files", shown)
            )
            continue
        if info.flag_bits & 0x1:
            findings.append(
                error("encrypted_entry", f"zip entry {shown!r} is encrypted; upload an unencrypted zip", shown)
            )
            continue
        key = _key(parts)
        for i in range(1, len(parts)):
            dirs.add(_key(parts[:i]))
        if kind == "dir":
            dirs.add(key)
            continue
        if key in seen:
            other = seen[key]
            how = "twice" if other == shown else f"and as {other!r} (same name on a case-insensitive filesystem)"
            findings.append(error("unsafe_path", f"zip entry {shown!r} appears {how}; keep one", shown))
            continue
        seen[key] = shown
        if is_junk(parts):
            findings.append(
                warning(
                    "junk_file", f"{shown} is build or VCS debris and was not unpacked; leave it out of the zip", shown
                )
            )
            continue
        declared += info.file_size
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            findings.append(
                error(
                    "compression_bomb",
                    f"{shown} expands {ratio}x ({_fmt(info.compress_size)} → {_fmt(info.file_size)}); "
                    f"entries over {_fmt(limits.ratio_floor)} may expand at most {limits.max_ratio}x",
                    shown,
                )
            )
        files.append(_Entry(info, parts))
    for key, shown in seen.items():
        if key in dirs:
            findings.append(
                error("unsafe_path", f"{shown!r} is both a file and a directory in the zip; keep one", shown)
            )
    if len(files) > limits.max_files:
        findings.append(
            error("bundle_too_large", f"the zip holds {len(files)} files; a bundle may hold at most {limits.max_files}")
        )
    if declared > limits.max_unpacked:
        findings.append(
            error(
                "bundle_too_large",
                f"the zip unpacks to {_fmt(declared)}; a bundle may unpack to at most {_fmt(limits.max_unpacked)}",
            )
        )
    findings.extend(_root_findings({e.parts for e in files}))
    return files, findings


def _root_findings(paths: set[tuple[str, ...]]) -> list[Finding]:
    findings = []
    for required, code in (("manifest.json", "manifest_missing"), ("__main__.py", "entry_missing")):
        if (required,) in paths:
            continue
        nested = sorted("/".join(p) for p in paths if p[-1] == required)
        hint = f"; found {nested[0]} — zip the plugin folder's contents, not the folder itself" if nested else ""
        findings.append(error(code, f"no {required} at the bundle root{hint}", required))
    return findings


class _Refused(Exception):
    def __init__(self, finding: Finding) -> None:
        self.finding = finding


def _stream(zf: zipfile.ZipFile, entry: _Entry, target: Path, budget: int, limits: Limits) -> int:
    """Copy one entry, counting bytes; refuses as soon as it outgrows its header, the budget or the ratio."""
    shown = "/".join(entry.parts)
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(entry.info) as src, open(target, "xb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > entry.info.file_size:
                raise _Refused(
                    error(
                        "bundle_too_large",
                        f"{shown} unpacks beyond the {entry.info.file_size} bytes its header declares; "
                        "the zip is forged",
                        shown,
                    )
                )
            if written > budget:
                raise _Refused(
                    error("bundle_too_large", f"the zip unpacks beyond {_fmt(limits.max_unpacked)} (at {shown})", shown)
                )
            if written > limits.ratio_floor and written > limits.max_ratio * max(entry.info.compress_size, 1):
                raise _Refused(
                    error("compression_bomb", f"{shown} expands more than {limits.max_ratio}x; refused", shown)
                )
            out.write(chunk)
    return written


def _staging_for(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    return staging


def _commit(staging: Path, dest: Path) -> None:
    if dest.is_dir() and not any(dest.iterdir()):
        dest.rmdir()
    os.rename(staging, dest)  # atomic on one filesystem; fails if dest holds anything


def extract_zip(src: Path, dest: Path, limits: Limits = LIMITS) -> list[Finding]:
    """Unpack ``src`` to ``dest`` (absent or empty) if it is safe; on any error nothing appears at ``dest``."""
    size = src.stat().st_size
    if size > limits.max_zipped:
        return [error("bundle_too_large", f"the zip is {_fmt(size)}; upload at most {_fmt(limits.max_zipped)} zipped")]
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as exc:
        return [error("bad_archive", f"{src.name} is not a readable zip file ({exc})")]
    with zf:
        entries, findings = scan_zip(zf, limits)
        if any(f.severity == ERROR for f in findings):
            return findings
        staging = _staging_for(dest)
        try:
            budget = limits.max_unpacked
            for entry in entries:
                budget -= _stream(zf, entry, staging.joinpath(*entry.parts), budget, limits)
            _commit(staging, dest)
        except _Refused as refused:
            shutil.rmtree(staging, ignore_errors=True)
            return [*findings, refused.finding]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            return [*findings, error("bad_archive", f"the zip could not be unpacked: {exc}")]
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return findings
