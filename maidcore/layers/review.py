"""Review checks: read a plugin bundle (and the previous published version) and report findings."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class Severity(StrEnum):
    ERROR = "error"  # blocks publishing
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One thing a check found; ``message`` says what to change."""

    code: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "path": self.path,
            "line": self.line,
            "message": self.message,
        }


@runtime_checkable
class BundleView(Protocol):
    """A read-only, already-unpacked plugin bundle as checks see it."""

    root: Path
    manifest: Mapping[str, Any]  # the raw parsed manifest.json ({} when it did not parse)
    files: tuple[str, ...]  # relative POSIX paths of regular files

    def text(self, path: str) -> str | None:
        """A file's text (UTF-8), ``None`` if missing or not text."""
        ...

    def syntax_tree(self, path: str) -> ast.Module | None:
        """Parsed AST of a ``.py`` file (cached), ``None`` if it does not compile."""
        ...


class ReviewCheck(Protocol):
    """``check(bundle, previous)``; one registered with ``settings="section"`` also gets ``settings=<section>``."""

    def __call__(self, bundle: BundleView, previous: BundleView | None) -> Iterable[Finding]: ...
