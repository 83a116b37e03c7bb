"""``maidcore storage migrate-to-embedded``: an earlier maidcore's SQLite database into the embedded PostgreSQL.

The SQLite file is never written: it is read through a consistent copy (SQLite's
backup API, read-only source) that is upgraded to the newest schema on the side,
so a database of any earlier revision imports. Every plugin SQL space is planned
first (:func:`prepare`: an unmappable table refuses before the embedded server is even
started); then the platform's
tables are copied one group per transaction, then each plugin's space. The target
must be empty unless ``replace``. While the import runs, ``<data_dir>/sqlite-import.json``
(written before the embedded server is first started) says so, and the data directory
keeps using SQLite (``location.locate_database``) until it says ``done``; a failed import
can simply be run again with ``replace``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
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

__all__ = [
    "IMPORT_MARKER",
    "ImportRefused",
    "ImportReport",
    "ImportState",
    "import_in_progress",
    "import_sqlite",
    "importing",
    "prepare",
]

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


@dataclass
class ImportState:
    """What an import has done to the target so far (see :func:`importing`)."""

    data_dir: Path
    source: Path
    writing: bool = False  # set before the first write to the target

    def done(self, report: ImportReport) -> None:
        _write_marker(self.data_dir, state="done", source=self.source, groups=report.groups, spaces=report.spaces)


@contextlib.contextmanager
def importing(data_dir: Path, source: Path, *, target_was_initialised: bool) -> Iterator[ImportState]:
    """Mark the data directory as importing for the whole block, before the embedded server is even started.

    Until :meth:`ImportState.done`, ``locate_database`` keeps the data directory on SQLite. An import that
    fails before writing anything puts the marker back as it was, unless the embedded cluster was created
    by this import (then an empty cluster exists, and the marker keeps SQLite in use: ``refused``).
    """
    path = Path(data_dir) / IMPORT_MARKER
    try:
        previous: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        previous = None
    _write_marker(data_dir, state="importing", source=source)
    state = ImportState(Path(data_dir), source)
    try:
        yield state
    except BaseException:
        if not state.writing:
            if not target_was_initialised:
                _write_marker(data_dir, state="refused", source=source)
            elif previous is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(previous, encoding="utf-8")
        raise


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


@dataclass
class PreparedImport:
    """The source read and every plugin SQL space planned: nothing of the target touched yet."""

    source_path: Path
    source: Database  # the upgraded copy
    spaces: list[plugin_sql.SpacePlan]
    skipped_files: list[Path]


@contextlib.contextmanager
def prepare(source_path: Path, sql_root: Path, *, skip_orphan_sql: bool = False) -> Iterator[PreparedImport]:
    """Snapshot and upgrade the SQLite database on the side and plan every plugin SQL space.

    Everything that can refuse without a target refuses here, before the embedded server is started.
    """
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
            plans = [plugin_sql.plan_space(scope, path) for scope, path in spaces]
            yield PreparedImport(source_path, source, plans, orphans)
        finally:
            source.close()


def import_sqlite(
    prepared: PreparedImport,
    target: Database,
    master_key: bytes,
    state: ImportState,
    *,
    replace: bool = False,
    sql_timeout_seconds: float = 5.0,
    sql_quota_bytes: int = 50 * 1024 * 1024,
    progress: Callable[[str], None] = lambda _line: None,
) -> ImportReport:
    """Copy what ``prepared`` read into ``target`` (inside :func:`importing`, which ``state`` comes from)."""
    if target.dialect != "postgresql":
        raise ImportRefused("the target of an import must be PostgreSQL")
    report = ImportReport(prepared.source_path, skipped_files=prepared.skipped_files)
    migrate.upgrade(target.engine)
    sandbox = PostgresSqlSandbox(target, master_key, timeout_seconds=sql_timeout_seconds, quota_bytes=1)
    if not replace:
        busy = tables.non_empty(target.engine)
        for plan in prepared.spaces:
            if _schema_has_tables(sandbox, plan.scope):
                busy[f"plugin SQL of {plan.scope.plugin_id} on {plan.scope.server_id}"] = 1
        if busy:
            raise ImportRefused(
                "the PostgreSQL database is not empty (" + ", ".join(sorted(busy)) + "); nothing was copied. "
                "Run again with --replace to overwrite what it holds with the SQLite data"
            )
    state.writing = True
    conn = target.connect()
    try:
        sandbox._lock_down_database(conn)
    finally:
        conn.close()
    for group in tables.GROUPS:
        report.groups[group] = tables.copy_group(
            prepared.source.engine, target.engine, group, replace=replace, progress=progress
        ).rows
    for plan in prepared.spaces:
        where = f"{plan.scope.plugin_id} on {plan.scope.server_id}"
        report.spaces[where] = plugin_sql.copy_space(sandbox, plan, replace=replace, progress=progress)
        size = _schema_size(sandbox, plan.scope)
        if size > sql_quota_bytes:
            progress(
                f"warning: plugin SQL of {where} holds {size} bytes, over storage.sql_quota_bytes "
                f"({sql_quota_bytes}): its statements that grow it will be refused until it shrinks"
            )
    state.done(report)
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
