"""What a check reports: one ``Finding`` per problem, with a code authors can look up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR = "error"  # blocks bundling and publishing
WARNING = "warning"  # shown, never blocks
INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One problem: ``message`` says what to change; ``path``/``line`` point at it when there is a place."""

    severity: str
    code: str
    path: str | None
    line: int | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "path": self.path,
            "line": self.line,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = self.path or "."
        if self.line:
            where = f"{where}:{self.line}"
        return f"{self.severity.upper()} {self.code} {where}: {self.message}"


def error(code: str, message: str, path: str | None = None, line: int | None = None) -> Finding:
    return Finding(ERROR, code, path, line, message)


def warning(code: str, message: str, path: str | None = None, line: int | None = None) -> Finding:
    return Finding(WARNING, code, path, line, message)


def info(code: str, message: str, path: str | None = None, line: int | None = None) -> Finding:
    return Finding(INFO, code, path, line, message)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
