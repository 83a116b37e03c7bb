"""Bridge between the SDK's stdlib findings and the platform's ``maidcore.layers.Finding``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from yourbot_sdk import review

from maidcore.layers import Finding, Severity


def from_sdk(finding: review.Finding) -> Finding:
    return Finding(
        code=finding.code,
        severity=Severity(finding.severity),
        message=finding.message,
        path=finding.path,
        line=finding.line,
    )


def convert(findings: Iterable[review.Finding]) -> list[Finding]:
    return [from_sdk(f) for f in findings]


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == Severity.ERROR for f in findings)


def as_dicts(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [f.as_dict() for f in findings]


def from_dict(data: dict[str, Any]) -> Finding:
    return Finding(
        code=data["code"],
        severity=Severity(data["severity"]),
        message=data["message"],
        path=data.get("path"),
        line=data.get("line"),
    )


def render(finding: Finding) -> str:
    """``ERROR code path:line: message`` — the same line ``mmo validate`` prints."""
    where = finding.path or "."
    if finding.line:
        where = f"{where}:{finding.line}"
    return f"{finding.severity.value.upper()} {finding.code} {where}: {finding.message}"
