"""Versioned migrations from ``migrations/NNN_name.sql``; each file may hold many statements."""

from __future__ import annotations

import re
from pathlib import Path

from .tables import VERSIONS

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION = re.compile(r"^(\d+)_")
COMMENT = re.compile(r"--[^\n]*")


def statements(script: str) -> list[str]:
    """The statements of a script: comments dropped, split on semicolons."""
    return [s.strip() for s in COMMENT.sub("", script).split(";") if s.strip()]


def version_of(path: Path) -> int | None:
    match = VERSION.match(path.name)
    return int(match.group(1)) if match else None


def run(ctx) -> list[int]:
    ctx.sql.execute(f"CREATE TABLE IF NOT EXISTS {VERSIONS} (version INTEGER PRIMARY KEY, applied_at TEXT)")
    applied = {row["version"] for row in ctx.sql.query(f"SELECT version FROM {VERSIONS}")}
    done = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        version = version_of(path)
        if version is None or version in applied:
            continue
        for statement in statements(path.read_text(encoding="utf-8")):
            ctx.sql.execute(statement)
        ctx.sql.execute(f"INSERT INTO {VERSIONS} (version, applied_at) VALUES ($1, CURRENT_TIMESTAMP)", [version])
        done.append(version)
    if done:
        ctx.log(f"applied migrations {done}", tags=["migrations"])
    return done
