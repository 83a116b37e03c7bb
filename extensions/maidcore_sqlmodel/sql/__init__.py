"""``ctx.sql`` (§4.5): a private SQL space per (plugin, server).

``statements`` checks a statement (or each of a script's) and rewrites its
placeholders; ``sqlite`` and ``postgres`` run it in the scope's own database file
or schema, within the per-plugin and per-call bounds of ``bounds``.
"""

from __future__ import annotations

from pathlib import Path

from maidcore_sqlmodel.database import Database
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.sql.bounds import SqlBounds
from maidcore_sqlmodel.sql.postgres import PostgresSqlSandbox
from maidcore_sqlmodel.sql.sqlite import SqliteSqlSandbox


def make_sql_sandbox(
    db: Database, settings: StorageSettings, data_dir: Path, master_key: bytes
) -> SqliteSqlSandbox | PostgresSqlSandbox:
    """Schemas in the platform's PostgreSQL database, or SQLite files under ``<data_dir>/sql`` next to maidcore.db."""
    timeout, quota = settings.sql_statement_timeout_seconds, settings.sql_quota_bytes
    bounds = SqlBounds(
        timeout,
        threads=settings.sql_threads,
        threads_per_plugin=settings.sql_threads_per_plugin,
        queue_per_plugin=settings.sql_queue_per_plugin,
        max_result_bytes=settings.sql_max_result_bytes,
    )
    if db.dialect == "postgresql":
        return PostgresSqlSandbox(db, master_key, timeout_seconds=timeout, quota_bytes=quota, bounds=bounds)
    root = (db.url.sqlite_path.parent if db.url.sqlite_path else Path(data_dir)) / "sql"
    return SqliteSqlSandbox(root, timeout_seconds=timeout, quota_bytes=quota, bounds=bounds)
