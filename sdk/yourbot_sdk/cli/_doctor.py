"""``yourbot doctor``: a pre-flight of one plugin folder — install, entry point, manifest, capabilities, tests."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

from . import UsageError, prog

OK, WARN, FAIL = "OK", "!!", "XX"
_GITIGNORE = ("__pycache__/", "*.pyc", ".venv/", "dist/")
_CAPABILITY_CODES = {"capability_undeclared", "capability_unused", "unknown_capability", "http_domain_undeclared"}
_CODE_CODES = {"forbidden_import", "forbidden_call", "sql_string_building", "syntax_error"}


def _findings(root: Path) -> list[Any]:
    from .. import _plugin
    from .._validate import validate

    _plugin.no_run = True
    return list(validate(root))


def _status(findings: list[Any]) -> str:
    if any(f.severity == "error" for f in findings):
        return FAIL
    return WARN if any(f.severity == "warning" for f in findings) else OK


def _first(findings: list[Any]) -> str:
    f = next((f for f in findings if f.severity == "error"), None) or findings[0]
    where = f"{f.path}:{f.line}" if f.line else (f.path or ".")
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return f"{where}: {f.message}{more}"


def checks(root: Path) -> list[tuple[str, str, str, str]]:
    """``(status, check, summary, detail)`` rows, in the order they are printed."""
    from .. import __version__

    rows = [(OK, "SDK install", "yourbot-sdk installed", f"version {__version__}, Python {sys.version.split()[0]}")]
    entry = root / "__main__.py"
    if not entry.is_file():
        rows.append((FAIL, "__main__.py", "__main__.py missing", "a plugin starts from __main__.py at its root"))
    else:
        try:
            ast.parse(entry.read_text(encoding="utf-8"))
            rows.append((OK, "__main__.py", "__main__.py parses", f"{entry.stat().st_size} bytes"))
        except SyntaxError as exc:
            rows.append((FAIL, "__main__.py", "__main__.py does not parse", f"line {exc.lineno}: {exc.msg}"))
    findings = _findings(root)
    manifest = [f for f in findings if f.path == "manifest.json" and f.code not in _CAPABILITY_CODES]
    rows.append(
        (
            _status(manifest),
            "manifest.json",
            "manifest.json valid" if not manifest else "manifest.json has problems",
            _first(manifest) if manifest else "all fields check out",
        )
    )
    caps = [f for f in findings if f.code in _CAPABILITY_CODES]
    rows.append(
        (
            _status(caps),
            "capabilities",
            "capabilities match the code" if not caps else "capability problems",
            _first(caps) if caps else "every ctx call is covered, nothing unused",
        )
    )
    code = [f for f in findings if f.code in _CODE_CODES]
    py_files = [p for p in root.rglob("*.py") if not {"tests", ".venv", "venv"} & set(p.relative_to(root).parts)]
    rows.append(
        (
            _status(code),
            "code",
            "no blocked imports or calls" if not code else "blocked code found",
            _first(code) if code else f"scanned {len(py_files)} .py file(s)",
        )
    )
    rows.append(_requirements(root))
    tests = sorted(p.name for p in (root / "tests").glob("test_*.py")) if (root / "tests").is_dir() else []
    rows.append(
        (OK, "tests/", f"{len(tests)} test file(s)", ", ".join(tests))
        if tests
        else (WARN, "tests/", "no tests", f"add tests/test_plugin.py (see `{prog()} new`)")
    )
    gitignore = root / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.is_file() else []
    missing = [entry for entry in _GITIGNORE if entry not in lines]
    rows.append(
        (OK, ".gitignore", ".gitignore covers build output", "")
        if not missing
        else (WARN, ".gitignore", ".gitignore misses common entries", "add: " + ", ".join(missing))
    )
    return rows


def _requirements(root: Path) -> tuple[str, str, str, str]:
    path = root / "requirements.txt"
    if not path.is_file():
        return (OK, "requirements.txt", "no requirements.txt", "the platform provides the SDK itself")
    names = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if m:
            names.append(re.sub(r"[-_.]+", "-", m.group(1)).lower())
    sdk = [n for n in names if n in ("yourbot-sdk", "mmo-maid-sdk")]
    detail = f"{len(names)} requirement(s)" + (f"; {sdk[0]} is provided by the platform" if sdk else "")
    return (OK, "requirements.txt", "requirements.txt readable", detail)


def command_doctor(path: str) -> int:
    root = Path(path).resolve()
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory; run {prog()} doctor in a plugin folder or pass --path")
    print(f"[{prog()} doctor] checking {root}\n")
    rows = checks(root)
    for status, name, summary, detail in rows:
        print(f"  [{status}] {name:<18} {summary}")
        if detail:
            print(f"        {detail}")
    errors = sum(r[0] == FAIL for r in rows)
    warnings = sum(r[0] == WARN for r in rows)
    print()
    if errors:
        print(f"FAILED with {errors} error(s) and {warnings} warning(s); run `{prog()} validate` for every finding.")
        return 1
    print(f"OK with {warnings} warning(s)." if warnings else "OK: nothing to fix.")
    return 0
