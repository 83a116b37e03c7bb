"""The case log: every warning, timeout, deletion and kick, in SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from .schema import CASES, MIGRATIONS, SCHEMA_VERSION

SELECT_COLUMNS = "id, user_id, moderator_id, action, reason, created_at"


def migrate(ctx) -> int:
    ctx.sql.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSION} (version INTEGER NOT NULL)")
    current = ctx.sql.scalar(f"SELECT MAX(version) FROM {SCHEMA_VERSION}") or 0
    for version, script in MIGRATIONS:
        if version <= current:
            continue
        for statement in script.split(";"):
            if statement.strip():
                ctx.sql.execute(statement.strip())
        ctx.sql.execute(f"INSERT INTO {SCHEMA_VERSION} (version) VALUES ($1)", [version])
        current = version
    return current


def record(ctx, user_id: str, moderator_id: str, action: str, reason: str, channel_id: str | None = None) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    ctx.sql.execute(
        f"INSERT INTO {CASES} (user_id, moderator_id, action, reason, created_at, channel_id) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [str(user_id), str(moderator_id), action, reason[:500], now, channel_id],
    )


def for_member(ctx, user_id: str, limit: int = 10) -> list[dict]:
    return ctx.sql.query(
        f"SELECT {SELECT_COLUMNS} FROM {CASES} WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        [str(user_id), limit],
    )


def warnings_since(ctx, user_id: str, since: str) -> int:
    return (
        ctx.sql.scalar(
            f"SELECT COUNT(*) FROM {CASES} WHERE user_id = $1 AND action = 'warn' AND created_at >= $2",
            [str(user_id), since],
        )
        or 0
    )


def recent(ctx, *, action: str | None = None, limit: int = 25) -> list[dict]:
    clauses, params = [], []
    if action:
        params.append(action)
        clauses.append(f"action = ${len(params)}")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    params.append(limit)
    return ctx.sql.query(f"SELECT {SELECT_COLUMNS} FROM {CASES} {where} ORDER BY id DESC LIMIT ${len(params)}", params)
