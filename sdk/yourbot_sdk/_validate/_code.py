"""Syntax and imports of every scanned ``.py`` file; requirements.txt."""

from __future__ import annotations

import ast
import re
import sys

from ..spec.manifest import SDK_DISTRIBUTIONS, SDK_IMPORT_NAMES
from ._ast import facts, nodes
from ._findings import Finding, error, warning
from ._policy import MODULES

#: Top-level modules the blocked-code check reports (``import_not_bundled`` leaves them to it).
FORBIDDEN_MODULES = frozenset(name.split(".")[0] for name in MODULES)
SDK_REQUIREMENTS = frozenset(d.replace("-", "_") for d in SDK_DISTRIBUTIONS)
# Distribution names whose import name differs.
KNOWN_IMPORT_NAMES = {
    "pyyaml": {"yaml"},
    "beautifulsoup4": {"bs4"},
    "pillow": {"PIL"},
    "python_dateutil": {"dateutil"},
    "scikit_learn": {"sklearn"},
    "opencv_python": {"cv2"},
    "python_dotenv": {"dotenv"},
    "attrs": {"attr", "attrs"},
    "protobuf": {"google"},
    "pyjwt": {"jwt"},
    "mmo_maid_sdk": set(SDK_IMPORT_NAMES),
    "yourbot_sdk": set(SDK_IMPORT_NAMES),
}
REQ_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def check_syntax(bundle) -> list[Finding]:
    out = []
    scan = bundle.python_files() if hasattr(bundle, "python_files") else [p for p in bundle.files if p.endswith(".py")]
    for path in scan:
        if bundle.syntax_tree(path) is None:
            exc = bundle.syntax_error(path) if hasattr(bundle, "syntax_error") else None
            if bundle.text(path) is None:
                out.append(error("syntax_error", "the file is not UTF-8 text; save it as UTF-8", path))
            else:
                msg = exc.msg if exc is not None else "does not compile"
                out.append(
                    error("syntax_error", f"{msg}; fix it so the file compiles", path, getattr(exc, "lineno", None))
                )
    return out


def _requirement_names(bundle) -> tuple[set[str], list[Finding]]:
    text = bundle.text("requirements.txt") if "requirements.txt" in bundle.files else None
    names: set[str] = set()
    findings: list[Finding] = []
    if text is None:
        return names, findings
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith("-"):
            findings.append(
                error(
                    "requirements_invalid",
                    f"option line {line!r} is not allowed; list plain requirements only",
                    "requirements.txt",
                    lineno,
                )
            )
            continue
        if "://" in line or line.startswith((".", "/", "~")) or " @ " in line:
            findings.append(
                error(
                    "requirements_invalid",
                    f"{line!r} is a URL or a path; list a package name from PyPI",
                    "requirements.txt",
                    lineno,
                )
            )
            continue
        match = REQ_NAME.match(line)
        if not match:
            findings.append(
                error("requirements_invalid", f"{line!r} is not a PEP 508 requirement", "requirements.txt", lineno)
            )
            continue
        names.add(_norm(match.group(1)))
    return names, findings


def requirements(bundle) -> list[str]:
    """The requirement lines to install for a bundle (SDK lines dropped: the platform provides the SDK)."""
    text = bundle.text("requirements.txt") if "requirements.txt" in bundle.files else None
    out = []
    for raw in (text or "").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = REQ_NAME.match(line)
        if match and _norm(match.group(1)) not in SDK_REQUIREMENTS:
            out.append(line)
    return out


def check_imports(bundle) -> list[Finding]:
    """Imports must be stdlib, bundled, the SDK, or listed in requirements.txt; requirements.txt must be plain."""
    names, out = _requirement_names(bundle)
    allowed = set()
    for n in names:
        allowed |= KNOWN_IMPORT_NAMES.get(n, {n})
    top_level = {p.split("/", 1)[0].removesuffix(".py") for p in bundle.files if "/" in p or p.endswith(".py")}
    stdlib = set(sys.stdlib_module_names) | {"__future__", "__main__", *SDK_IMPORT_NAMES}
    for path, mf in facts(bundle).items():
        seen: set[str] = set()
        in_try = _guarded_imports(mf.tree)
        for node in nodes(mf.tree):
            roots = []
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            for root in roots:
                if root in stdlib or root in top_level or _norm(root) in allowed or root in allowed or root in seen:
                    continue
                if root in FORBIDDEN_MODULES or id(node) in in_try:
                    continue
                seen.add(root)
                out.append(
                    warning(
                        "import_not_bundled",
                        f"imports {root!r}, which is not in the standard library, not bundled and not in "
                        f"requirements.txt; add it to requirements.txt (the sandbox has no network)",
                        path,
                        node.lineno,
                    )
                )
    return out


def _guarded_imports(tree: ast.Module) -> set[int]:
    """Imports inside ``try: ... except ImportError`` (optional dependencies)."""
    out = set()
    for node in nodes(tree):
        if isinstance(node, ast.Try) and any(
            h.type is not None and any(n in ast.unparse(h.type) for n in ("ImportError", "ModuleNotFoundError"))
            for h in node.handlers
        ):
            for stmt in node.body:
                for inner in ast.walk(stmt):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        out.add(id(inner))
    return out
