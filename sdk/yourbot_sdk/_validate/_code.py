"""Syntax and imports of every scanned ``.py`` file; requirements.txt."""

from __future__ import annotations

import ast
import re
import sys

from ..spec.manifest import SDK_IMPORT_NAMES
from ._ast import facts, nodes
from ._findings import Finding, error, warning
from ._policy import MODULES
from ._requirements import RequirementError, parse_requirement, requirement_lines

#: Top-level modules the blocked-code check reports (``import_not_bundled`` leaves them to it).
FORBIDDEN_MODULES = frozenset(name.split(".")[0] for name in MODULES)
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
    """The import-check names of the requirements, and a ``requirements_invalid`` error per refused line."""
    text = bundle.text("requirements.txt") if "requirements.txt" in bundle.files else None
    names: set[str] = set()
    findings: list[Finding] = []
    for lineno, line in requirement_lines(text or ""):
        try:
            names.add(_norm(parse_requirement(line).name))
        except RequirementError as exc:
            findings.append(error("requirements_invalid", str(exc), "requirements.txt", lineno))
    return names, findings


def requirements(bundle) -> list[str]:
    """The requirement lines to install (lines naming the platform's SDK dropped: the platform provides it).

    A line the parser refuses is kept, so that the installer refuses it loudly instead of it vanishing.
    """
    text = bundle.text("requirements.txt") if "requirements.txt" in bundle.files else None
    out = []
    for _, line in requirement_lines(text or ""):
        try:
            if parse_requirement(line).provided_by_platform:
                continue
        except RequirementError:
            pass
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
