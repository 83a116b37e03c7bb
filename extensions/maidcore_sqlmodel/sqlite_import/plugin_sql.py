"""Each plugin's SQLite SQL space (``<data_dir>/sql/<plugin>/<server>.db``) rebuilt as its PostgreSQL schema.

The whole space is planned before anything is written: every table, column type,
default and index of every file is mapped, and one that has no faithful PostgreSQL
form stops the import naming the plugin, server, table and column. The tables are then
created in the scope's schema as the plugin's own role (so the plugin owns them, as if
it had created them itself), filled with COPY, given their indexes and foreign keys,
and checked row for row — one transaction per space.

Type mapping follows SQLite's affinity rules on the declared type, then the declared
name where PostgreSQL has the type (see docs/storage.md for the table).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql

from maidcore.scope import Scope
from maidcore_sqlmodel.sql.postgres import PostgresSqlSandbox
from maidcore_sqlmodel.sql.sqlite import SqliteSqlSandbox
from maidcore_sqlmodel.sqlite_import.tables import ImportRefused

_LITERAL_DEFAULT = re.compile(
    r"^(?:NULL|TRUE|FALSE|CURRENT_TIMESTAMP|CURRENT_DATE|CURRENT_TIME|[-+]?\d+(?:\.\d+)?|'(?:[^']|'')*')$", re.I
)
_CLASSES_FOR = {  # PostgreSQL type -> SQLite storage classes its values may have
    "BIGINT": {"integer"},
    "DOUBLE PRECISION": {"integer", "real"},
    "TEXT": {"text"},
    "BYTEA": {"blob"},
    "BOOLEAN": {"integer"},
    "NUMERIC": {"integer", "real", "text"},
    "DATE": {"text"},
    "TIMESTAMP": {"text"},
    "TIMESTAMPTZ": {"text"},
    "JSONB": {"text"},
}


@dataclass
class Column:
    name: str
    pg_type: str
    not_null: bool
    default: str | None
    identity: bool = False


@dataclass
class Index:
    name: str | None  # None: a UNIQUE constraint's automatic index (PostgreSQL names it)
    unique: bool
    columns: list[tuple[str, bool]]  # (column, descending)


@dataclass
class ForeignKey:
    columns: list[str]
    table: str
    references: list[str]
    on_update: str
    on_delete: str


@dataclass
class TablePlan:
    name: str
    columns: list[Column]
    primary_key: list[str]
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    rows: int = 0


@dataclass
class SpacePlan:
    scope: Scope
    path: Path
    tables: list[TablePlan]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file (no checkpoint, no journal)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA query_only=ON")
    return conn


def find_spaces(sql_root: Path, scopes: set[Scope]) -> tuple[list[tuple[Scope, Path]], list[Path]]:
    """``(scope, file)`` for each scope whose SQL file exists, and the files no known scope names.

    File names are one-way (readable part + hash), so scopes come from the records
    (installs, KV, secrets, ...); an orphan file belongs to a scope they no longer mention.
    """
    naming = SqliteSqlSandbox(sql_root, timeout_seconds=1, quota_bytes=1)
    found = {}
    for scope in scopes:
        path = naming.path_for(scope)
        if path.is_file():
            found[path.resolve()] = scope
    files = sorted(p.resolve() for p in sql_root.glob("*/*.db")) if sql_root.is_dir() else []
    orphans = [p for p in files if p not in found]
    return sorted(((s, p) for p, s in found.items()), key=lambda sp: (sp[0].plugin_id, sp[0].server_id)), orphans


def plan_space(scope: Scope, path: Path) -> SpacePlan:
    conn = open_read_only(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
        return SpacePlan(scope, path, [_plan_table(conn, scope, name) for name in names])
    finally:
        conn.close()


def _where(scope: Scope, table: str, column: str | None = None) -> str:
    place = f"plugin {scope.plugin_id} on server {scope.server_id}: table {table}"
    return f"{place}, column {column}" if column else place


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _plan_table(conn: sqlite3.Connection, scope: Scope, name: str) -> TablePlan:
    info = conn.execute(f"PRAGMA table_xinfo({_q(name)})").fetchall()  # cid, name, type, notnull, dflt, pk, hidden
    if any(row[6] for row in info):
        generated = next(row[1] for row in info if row[6])
        raise ImportRefused(f"{_where(scope, name, generated)} is a generated column; it has no mapping here")
    pk = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    sql = (conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() or [""])[0]
    if re.search(r"\bWITHOUT\s+ROWID\b", sql or "", re.I) is None and len(pk) == 1:
        rowid_alias = next(r for r in info if r[1] == pk[0])[2].strip().upper() == "INTEGER"
    else:
        rowid_alias = False
    columns = []
    for _cid, col, declared, not_null, default, _pk, _hidden in info:
        classes = {r[0] for r in conn.execute(f"SELECT DISTINCT typeof({_q(col)}) FROM {_q(name)}") if r[0] != "null"}
        pg_type = map_type(
            declared or "", classes, lambda why, c=col: ImportRefused(f"{_where(scope, name, c)}: {why}")
        )
        wrong = classes - _CLASSES_FOR[pg_type]
        if wrong:
            raise ImportRefused(
                f"{_where(scope, name, col)}: declared {declared or '(no type)'} -> {pg_type}, but holds "
                f"{', '.join(sorted(wrong))} values; make the column's values one type, or its declared type match them"
            )
        if pg_type == "BOOLEAN":
            bad = conn.execute(f"SELECT count(*) FROM {_q(name)} WHERE {_q(col)} NOT IN (0, 1)").fetchone()[0]
            if bad:
                raise ImportRefused(f"{_where(scope, name, col)}: BOOLEAN holds {bad} values other than 0 and 1")
        identity = rowid_alias and col == pk[0]
        columns.append(
            Column(col, pg_type, bool(not_null) or col in pk, _default(scope, name, col, default, pg_type), identity)
        )
    rows = conn.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()[0]
    plan = TablePlan(name, columns, pk, rows=rows)
    for _seq, index, unique, origin, partial in conn.execute(f"PRAGMA index_list({_q(name)})").fetchall():
        if origin == "pk":
            continue
        if partial:
            raise ImportRefused(f"{_where(scope, name)}: index {index} is partial (WHERE); it is not carried over")
        keys = [r for r in conn.execute(f"PRAGMA index_xinfo({_q(index)})").fetchall() if r[5]]  # key columns
        if any(r[1] < 0 for r in keys):
            raise ImportRefused(f"{_where(scope, name)}: index {index} is on an expression; it is not carried over")
        plan.indexes.append(Index(index if origin == "c" else None, bool(unique), [(r[2], bool(r[3])) for r in keys]))
    fks: dict[int, ForeignKey] = {}
    for fk_id, _seq, parent, src, dst, on_update, on_delete, _match in conn.execute(
        f"PRAGMA foreign_key_list({_q(name)})"
    ).fetchall():
        fk = fks.setdefault(fk_id, ForeignKey([], parent, [], on_update, on_delete))
        fk.columns.append(src)
        if dst is None:
            raise ImportRefused(f"{_where(scope, name)}: a foreign key to {parent} names no columns; name them")
        fk.references.append(dst)
    plan.foreign_keys = list(fks.values())
    return plan


def map_type(declared: str, classes: set[str], refuse: Callable[[str], Exception]) -> str:
    """The PostgreSQL type for a SQLite column declared ``declared`` holding values of ``classes``."""
    d = declared.strip().upper()
    if "INT" in d:
        return "BIGINT"
    if any(word in d for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in d:
        return "BYTEA"
    if any(word in d for word in ("REAL", "FLOA", "DOUB")):
        return "DOUBLE PRECISION"
    if not d:
        for pg_type in ("BIGINT", "DOUBLE PRECISION", "TEXT", "BYTEA"):
            if classes <= _CLASSES_FOR[pg_type]:
                return pg_type
        raise refuse(f"no declared type and values of several kinds ({', '.join(sorted(classes))})")
    base = d.split("(")[0].strip()
    if base in ("BOOLEAN", "BOOL"):
        return "BOOLEAN"
    if base in ("NUMERIC", "DECIMAL"):
        return "NUMERIC"
    if base == "DATE":
        return "DATE"
    if base in ("DATETIME", "TIMESTAMP"):
        return "TIMESTAMP"
    if base in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        return "TIMESTAMPTZ"
    if base in ("JSON", "JSONB"):
        return "JSONB"
    raise refuse(
        f"declared type {declared!r} has no PostgreSQL mapping; declare it INTEGER, REAL, TEXT, BLOB, "
        "NUMERIC, BOOLEAN, DATE, DATETIME or JSON"
    )


def _default(scope: Scope, table: str, column: str, default: str | None, pg_type: str) -> str | None:
    if default is None:
        return None
    text = default.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if not _LITERAL_DEFAULT.match(text):
        raise ImportRefused(f"{_where(scope, table, column)}: default {default} is an expression; only literals map")
    if pg_type == "BOOLEAN" and text in ("0", "1"):
        return "TRUE" if text == "1" else "FALSE"
    if pg_type == "BYTEA" and text.startswith("'"):
        raise ImportRefused(f"{_where(scope, table, column)}: a text default {default} on a BLOB column does not map")
    return text


# --- writing --------------------------------------------------------------------------


def _ddl(plan: TablePlan) -> pgsql.Composed:
    parts = []
    for c in plan.columns:
        piece = pgsql.SQL("{} {}").format(pgsql.Identifier(c.name), pgsql.SQL(c.pg_type))
        if c.identity:
            piece += pgsql.SQL(" GENERATED BY DEFAULT AS IDENTITY")
        if c.not_null:
            piece += pgsql.SQL(" NOT NULL")
        if c.default is not None:
            piece += pgsql.SQL(" DEFAULT ") + pgsql.SQL(c.default)
        parts.append(piece)
    if plan.primary_key:
        parts.append(
            pgsql.SQL("PRIMARY KEY ({})").format(pgsql.SQL(", ").join(map(pgsql.Identifier, plan.primary_key)))
        )
    return pgsql.SQL("CREATE TABLE {} ({})").format(pgsql.Identifier(plan.name), pgsql.SQL(", ").join(parts))


def _value(value: Any, pg_type: str) -> Any:
    if value is None:
        return None
    if pg_type == "BOOLEAN":
        return bool(value)
    if pg_type == "BYTEA" and isinstance(value, str):
        return value.encode()
    return value


def copy_space(sandbox: PostgresSqlSandbox, space: SpacePlan, *, replace: bool, progress: Callable[[str], None]) -> int:
    """Create the scope's schema (and role) and its tables, fill them, check the counts; one transaction."""
    schema = sandbox.schema_for(space.scope)
    role = sandbox.role_for(space.scope.plugin_id)
    if replace:
        with sandbox.db.connect() as admin, admin.transaction():
            admin.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema)))
            admin.execute(
                "DELETE FROM sql_spaces WHERE plugin_id = %s AND server_id = %s",
                (space.scope.plugin_id, space.scope.server_id),
            )
    sandbox._ensure_space(space.scope)
    source = open_read_only(space.path)
    try:
        with sandbox.db.connect() as admin, admin.transaction():
            admin.execute(pgsql.SQL("SET LOCAL ROLE {}").format(pgsql.Identifier(role)))
            admin.execute("SELECT set_config('search_path', %s, true)", (pgsql.Identifier(schema).as_string(admin),))
            for plan in space.tables:
                _copy_table(admin, source, space, schema, plan)
            for plan in space.tables:
                for fk in plan.foreign_keys:
                    _add_foreign_key(admin, space, plan, fk)
    finally:
        source.close()
    tables = ", ".join(f"{t.name} {t.rows}" for t in space.tables) or "no tables"
    progress(f"plugin SQL {space.scope.plugin_id} on {space.scope.server_id}: {tables}")
    return space.rows


def _add_foreign_key(admin: Any, space: SpacePlan, plan: TablePlan, fk: ForeignKey) -> None:
    try:
        admin.execute(
            pgsql.SQL("ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({}) ON UPDATE {} ON DELETE {}").format(
                pgsql.Identifier(plan.name),
                pgsql.SQL(", ").join(map(pgsql.Identifier, fk.columns)),
                pgsql.Identifier(fk.table),
                pgsql.SQL(", ").join(map(pgsql.Identifier, fk.references)),
                pgsql.SQL(fk.on_update),
                pgsql.SQL(fk.on_delete),
            )
        )
    except psycopg.Error as exc:
        raise ImportRefused(
            f"{_where(space.scope, plan.name)}: its foreign key to {fk.table} does not hold in PostgreSQL: {exc}"
        ) from None


def _copy_table(admin: Any, source: sqlite3.Connection, space: SpacePlan, schema: str, plan: TablePlan) -> None:
    """Create one table, COPY its rows in, check the count, continue its identity, build its indexes."""
    try:
        admin.execute(_ddl(plan))
        names = [c.name for c in plan.columns]
        types = [c.pg_type for c in plan.columns]
        statement = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(plan.name), pgsql.SQL(", ").join(map(pgsql.Identifier, names))
        )
        select = f"SELECT {', '.join(map(_q, names))} FROM {_q(plan.name)}"
        with admin.cursor().copy(statement) as copy:
            for row in source.execute(select):
                copy.write_row([_value(v, t) for v, t in zip(row, types, strict=True)])
        copied = admin.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(plan.name)))
        n = copied.fetchone()[0]
        if n != plan.rows:
            raise ImportRefused(
                f"{_where(space.scope, plan.name)}: {n} rows in PostgreSQL after the copy, {plan.rows} in "
                "SQLite; nothing of this space was kept"
            )
        for c in plan.columns:
            if c.identity:
                admin.execute(
                    pgsql.SQL(
                        "SELECT setval(pg_get_serial_sequence({}, {}), coalesce(max({}), 0) + 1, false) FROM {}"
                    ).format(
                        pgsql.Literal(pgsql.Identifier(schema, plan.name).as_string(admin)),
                        pgsql.Literal(c.name),
                        pgsql.Identifier(c.name),
                        pgsql.Identifier(plan.name),
                    )
                )
        for index in plan.indexes:
            columns = pgsql.SQL(", ").join(
                pgsql.Identifier(col) + pgsql.SQL(" DESC" if desc else "") for col, desc in index.columns
            )
            admin.execute(
                pgsql.SQL("CREATE {}INDEX {}ON {} ({})").format(
                    pgsql.SQL("UNIQUE " if index.unique else ""),
                    pgsql.Identifier(index.name) + pgsql.SQL(" ") if index.name else pgsql.SQL(""),
                    pgsql.Identifier(plan.name),
                    columns,
                )
            )
    except psycopg.Error as exc:
        raise ImportRefused(f"{_where(space.scope, plan.name)}: PostgreSQL refused it: {exc}") from None
