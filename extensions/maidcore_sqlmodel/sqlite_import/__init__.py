"""``maidcore storage migrate-to-embedded``: an earlier maidcore's SQLite database into the embedded PostgreSQL.

The SQLite file is never written: it is read through a consistent copy (SQLite's
backup API, read-only source) that is upgraded to the newest schema on the side,
so a database of any earlier revision imports. Every plugin SQL space is planned
first (an unmappable table refuses before anything is written); then the platform's
tables are copied one group per transaction, then each plugin's space. The target
must be empty unless ``replace``. While the import runs, ``<data_dir>/sqlite-import.json``
says so, and the data directory keeps using SQLite (``location.locate_database``)
until it says ``done``; a failed import can simply be run again with ``replace``.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from maidcore.scope import Scope
from maidcore_sqlmodel import migrate
from maidcore_sqlmodel.database import Database, DatabaseUrl
from maidcore_sqlmodel.sql.postgres import PostgresSqlSandbox
from maidcore_sqlmodel.sqlite_import import plugin_sql, tables
from maidcore_sqlmodel.sqlite_import.tables import ImportRefused

__all__ = ["IMPORT_MARKER", "ImportRefused", "ImportReport", "import_in_progress", "import_sqlite"]

#: Written in the data directory while an import runs (``running``) and when it finished (``done``).
IMPORT_MARKER = "sqlite-import.json"
#: Platform tables whose ``(plugin_id, server_id)`` name the scopes that may own a plugin SQL file.
_SCOPE_TABLES = ("installs", "kv_entries", "secrets", "auth_secrets", "metric_rollups", "plugin_logs", "dead_letters")


@dataclass
class ImportReport:
    source: Path
    groups: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> table -> rows
    spaces: dict[str, int] = field(default_factory=dict)  # "plugin on server" -> rows
    skipped_files: list[Path] = field(default_factory=list)


def import_in_progress(data_dir: Path) -> bool:
    """An import into this data directory's embedded server started and did not finish."""
    try:
        return json.loads((Path(data_dir) / IMPORT_MARKER).read_text(encoding="utf-8")).get("state") != "done"
    except FileNotFoundError:
        return False
    except (OSError, ValueError, AttributeError):
        return True


def _write_marker(data_dir: Path, **fields: object) -> None:
    path = Path(data_dir) / IMPORT_MARKER
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**fields, "at": datetime.now(UTC).isoformat()}, default=str), encoding="utf-8")
    tmp.replace(path)


def snapshot(source: Path, into: Path) -> None:
    """A consistent copy of ``source`` (committed WAL content included) without writing to it."""
    if not source.is_file():
        raise ImportRefused(f"no SQLite database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(into)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise ImportRefused(f"{source} is not a readable SQLite database: {exc}") from None
    finally:
        src.close()


def _scopes(source: sa.Engine) -> set[Scope]:
    found = set()
    with source.connect() as conn:
        for name in _SCOPE_TABLES:
            t = tables.table(name)
            for plugin_id, server_id in conn.execute(sa.select(t.c.plugin_id, t.c.server_id).distinct()):
                found.add(Scope(server_id=str(server_id), plugin_id=str(plugin_id)))
    return found


def import_sqlite(
    source_path: Path,
    sql_root: Path,
    target: Database,
    master_key: bytes,
    data_dir: Path,
    *,
    replace: bool = False,
    skip_orphan_sql: bool = False,
    sql_timeout_seconds: float = 5.0,
    sql_quota_bytes: int = 50 * 1024 * 1024,
    progress: Callable[[str], None] = lambda _line: None,
) -> ImportReport:
    """Copy everything of ``source_path`` (and its plugin SQL files under ``sql_root``) into ``target``."""
    if target.dialect != "postgresql":
        raise ImportRefused("the target of an import must be PostgreSQL")
    report = ImportReport(source_path)
    with tempfile.TemporaryDirectory(prefix="maidcore-import-") as scratch:
        copy = Path(scratch) / "maidcore.db"
        snapshot(source_path, copy)
        source = Database(DatabaseUrl.resolve(f"sqlite:///{copy}", Path(scratch)))
        try:
            migrate.upgrade(source.engine)  # the copy, not the file: an older revision imports as well
            spaces, orphans = plugin_sql.find_spaces(sql_root, _scopes(source.engine))
            if orphans and not skip_orphan_sql:
                listed = ", ".join(str(p) for p in orphans[:5]) + (" ..." if len(orphans) > 5 else "")
                raise ImportRefused(
                    f"{len(orphans)} plugin SQL file(s) belong to no plugin and server the database mentions "
                    f"({listed}); pass --skip-orphan-sql to leave them out"
                )
            report.skipped_files = orphans
            plans = [plugin_sql.plan_space(scope, path) for scope, path in spaces]  # refuses before any write

            migrate.upgrade(target.engine)
            sandbox = PostgresSqlSandbox(target, master_key, timeout_seconds=sql_timeout_seconds, quota_bytes=1)
            if not replace:
                busy = tables.non_empty(target.engine)
                busy.update(
                    {
                        f"plugin SQL of {p.scope.plugin_id} on {p.scope.server_id}": 1
                        for p in plans
                        if _schema_has_tables(sandbox, p.scope)
                    }
                )
                if busy:
                    raise ImportRefused(
                        "the PostgreSQL database is not empty (" + ", ".join(sorted(busy)) + "); "
                        "nothing was copied. Run again with --replace to overwrite what it holds with the SQLite data"
                    )
            _write_marker(data_dir, state="running", source=source_path)
            conn = target.connect()
            try:
                sandbox._lock_down_database(conn)
            finally:
                conn.close()
            for group in tables.GROUPS:
                report.groups[group] = tables.copy_group(
                    source.engine, target.engine, group, replace=replace, progress=progress
                ).rows
            for plan in plans:
                where = f"{plan.scope.plugin_id} on {plan.scope.server_id}"
                report.spaces[where] = plugin_sql.copy_space(sandbox, plan, replace=replace, progress=progress)
                size = _schema_size(sandbox, plan.scope)
                if size > sql_quota_bytes:
                    progress(
                        f"warning: plugin SQL of {where} holds {size} bytes, over storage.sql_quota_bytes "
                        f"({sql_quota_bytes}): its statements that grow it will be refused until it shrinks"
                    )
            _write_marker(data_dir, state="done", source=source_path, groups=report.groups, spaces=report.spaces)
        finally:
            source.close()
    return report


def _schema_has_tables(sandbox: PostgresSqlSandbox, scope: Scope) -> bool:
    conn = sandbox.db.connect()
    try:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (sandbox.schema_for(scope),)
        ).fetchone()
        return bool(row[0])
    finally:
        conn.close()


def _schema_size(sandbox: PostgresSqlSandbox, scope: Scope) -> int:
    from maidcore_sqlmodel.sql.postgres import _SIZE_SQL

    conn = sandbox.db.connect()
    try:
        return int(conn.execute(_SIZE_SQL, (sandbox.schema_for(scope),)).fetchone()[0])
    finally:
        conn.close()
