"""§1 layout and limits of an unpacked bundle, and compiled code by content (zip hazards are caught while unpacking)."""

from __future__ import annotations

import os

from ._archive import LIMITS, _fmt
from ._content import sniff
from ._findings import Finding, error

BINARY_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".exe")


def check_layout(bundle) -> list[Finding]:
    out: list[Finding] = []
    files = set(bundle.files)
    if "manifest.json" not in files:
        out.append(
            error(
                "manifest_missing",
                "no manifest.json at the bundle root; create one (mmo new writes a template)",
                "manifest.json",
            )
        )
    if "__main__.py" not in files:
        out.append(
            error(
                "entry_missing",
                "no __main__.py at the bundle root; it must build a Plugin() and call run()",
                "__main__.py",
            )
        )
    for path in sorted(files):
        kind, archived = sniff(bundle.root / path)
        if kind is not None:
            out.append(
                error(
                    "binary_file",
                    f"{path} is {kind}; bundles may hold Python source and data only (compiled code cannot be "
                    "reviewed) — ship the source",
                    path,
                )
            )
        elif path.lower().endswith(BINARY_SUFFIXES):
            out.append(
                error("binary_file", f"{path} is a native binary; bundles may hold Python source and data only", path)
            )
        if archived:
            out.append(
                error(
                    "nested_archive",
                    f"{path} is a zip archive holding Python code ({', '.join(archived)}); code inside an archive "
                    "can be imported (zipimport) but is not reviewed — unpack it into the bundle",
                    path,
                )
            )
    if len(files) > LIMITS.max_files:
        out.append(error("bundle_too_large", f"{len(files)} files; a bundle may hold at most {LIMITS.max_files}"))
    total = 0
    for path in files:
        try:
            total += os.stat(bundle.root / path).st_size
        except OSError:
            continue
    if total > LIMITS.max_unpacked:
        out.append(
            error("bundle_too_large", f"the bundle holds {_fmt(total)}; at most {_fmt(LIMITS.max_unpacked)} unpacked")
        )
    return out
