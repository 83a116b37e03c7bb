"""Static review of a plugin bundle: everything that can be checked without the platform (``mmo validate``).

Stdlib only. ``validate(path)`` takes a plugin directory or a ``.zip`` and
returns ``Finding``s; the platform runs the same checks (``CHECKS``) on
uploaded bundles through its review-check hook.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from ._archive import LIMITS, Limits, extract_zip
from ._blocked import check_dangerous_code
from ._bundle import Bundle, copy_directory, list_directory
from ._capuse import check_capability_use, check_http_domains
from ._code import check_imports, check_syntax, requirements
from ._findings import ERROR, INFO, WARNING, Finding, error, has_errors
from ._layout import check_layout
from ._manifest import (
    check_capabilities,
    check_dashboard_manifest,
    check_fields,
    check_proxy_domains,
    check_slash_commands,
)
from ._requirements import PLATFORM_SDKS, Requirement, RequirementError, parse_requirement, requirement_lines
from ._sql import check_sql
from ._wiring import (
    check_bot_guard,
    check_cron,
    check_dashboard_wiring,
    check_run,
    check_schedule,
    check_slash_wiring,
)

__all__ = [
    "CHECKS",
    "ERROR",
    "INFO",
    "LIMITS",
    "PLATFORM_SDKS",
    "WARNING",
    "Bundle",
    "Finding",
    "Limits",
    "Requirement",
    "RequirementError",
    "copy_directory",
    "extract_zip",
    "has_errors",
    "list_directory",
    "parse_requirement",
    "requirement_lines",
    "requirements",
    "run_checks",
    "validate",
]

Check = Callable[[Bundle], list[Finding]]


def _fail_closed(name: str, check: Check) -> Check:
    """A check that cannot finish on code nested past the interpreter's recursion limit rejects it.

    Without this, code built to exhaust the analysis would crash review (``mmo validate``) or turn an
    automatic rejection into a ``check_failed`` warning and a trip to human review.
    """

    def run(bundle: Bundle) -> list[Finding]:
        try:
            return check(bundle)
        except RecursionError:
            return [
                error(
                    "review_limit",
                    f"the code is nested too deeply for review to follow (check {name}): a chain of hundreds of "
                    "aliases, calls or + operands; split it into smaller steps",
                )
            ]

    run.__name__ = getattr(check, "__name__", name)
    run.__doc__ = check.__doc__
    return run


#: Every static check by name; each takes a bundle view and returns findings.
CHECKS: dict[str, Check] = {
    "layout": check_layout,
    "manifest": check_fields,
    "capabilities": check_capabilities,
    "slash_commands": check_slash_commands,
    "slash_wiring": check_slash_wiring,
    "proxy_domains": check_proxy_domains,
    "cron": check_cron,
    "schedule": check_schedule,
    "dashboard": check_dashboard_manifest,
    "dashboard_wiring": check_dashboard_wiring,
    "syntax": check_syntax,
    "dangerous_code": check_dangerous_code,
    "imports": check_imports,
    "sql": check_sql,
    "capability_use": check_capability_use,
    "http_domains": check_http_domains,
    "run": check_run,
    "bot_guard": check_bot_guard,
}
CHECKS = {name: _fail_closed(name, check) for name, check in CHECKS.items()}

_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (_ORDER.get(f.severity, 3), f.path or "", f.line or 0, f.code))


def run_checks(bundle: Bundle) -> list[Finding]:
    """Every check of ``CHECKS`` on an already-unpacked bundle."""
    findings: list[Finding] = []
    for check in CHECKS.values():
        findings.extend(check(bundle))
    return findings


def validate(path: str | Path) -> list[Finding]:
    """Review a plugin directory or ``.zip`` without the platform; errors block ``mmo bundle`` and publishing."""
    path = Path(path)
    if path.is_dir():
        bundle, findings = Bundle.from_directory(path)
        return sort_findings([*findings, *run_checks(bundle)])
    if not path.is_file():
        return [
            Finding(ERROR, "bundle_missing", str(path), None, f"{path} is neither a plugin directory nor a .zip file")
        ]
    with tempfile.TemporaryDirectory(prefix="yourbot-validate-") as tmp:
        dest = Path(tmp) / "bundle"
        findings = extract_zip(path, dest)
        if has_errors(findings):
            return sort_findings(findings)
        return sort_findings([*findings, *run_checks(Bundle.unpacked(dest))])
