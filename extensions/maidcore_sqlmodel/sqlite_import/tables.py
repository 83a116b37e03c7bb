"""The platform's own tables, copied from a SQLite database to PostgreSQL one group per transaction.

The models (``maidcore_sqlmodel.models``) read and write both sides, so every value
crosses with the type the platform gives it (JSON, UTC times, bytes, booleans);
encrypted secrets are copied byte for byte (the master key stays the same file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from maidcore_sqlmodel.models import Table

#: Tables copied together in one transaction, in this order.
GROUPS: dict[str, tuple[str, ...]] = {
    "installs and versions": (
        "plugins",
        "plugin_versions",
        "plugin_registrations",
        "installs",
        "host_approvals",
        "denied_calls",
    ),
    "command syncs": ("command_syncs",),  # what Discord holds does not change with the database
    "dead letters": ("dead_letters",),
    "api tokens and console sessions": ("api_tokens", "console_sessions"),
    "kv": ("kv_entries",),
    "metrics": ("metric_rollups",),
    "secrets": ("secrets", "auth_secrets"),
    "blobs": ("blobs", "blob_chunks"),
    "logs": ("plugin_logs",),
}
#: Platform tables deliberately not copied, and why.
NOT_COPIED: dict[str, str] = {
    "install_changes": "SQLite's change log of installs; PostgreSQL pushes changes with LISTEN/NOTIFY instead",
    "sql_spaces": "written again as each plugin's SQL space is created in PostgreSQL",
}
BATCH_ROWS = 500
#: Rows per insert for tables of large values (a blob chunk is up to 1 MiB): memory stays near this many MiB.
BATCH_ROWS_OF = {"blob_chunks": 8}


class ImportRefused(RuntimeError):
    """The import cannot go on; the message names what is wrong and what would be right."""


@dataclass
class GroupResult:
    name: str
    rows: dict[str, int]  # table -> rows copied (verified equal on both sides)


def table(name: str) -> sa.Table:
    return Table.metadata.tables[name]


def copied_tables() -> list[str]:
    return [name for names in GROUPS.values() for name in names]


def non_empty(target: sa.Engine) -> dict[str, int]:
    """Tables of the target that already hold rows."""
    found = {}
    with target.connect() as conn:
        for name in copied_tables():
            count = conn.execute(sa.select(sa.func.count()).select_from(table(name))).scalar_one()
            if count:
                found[name] = count
    return found


def source_counts(source: sa.Engine) -> dict[str, int]:
    with source.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table(name))).scalar_one()
            for name in copied_tables()
        }


def copy_group(
    source: sa.Engine, target: sa.Engine, name: str, *, replace: bool, progress: Callable[[str], None]
) -> GroupResult:
    """Copy one group's tables in one target transaction; the row counts are checked before it commits."""
    rows: dict[str, int] = {}
    with source.connect() as src, target.begin() as dst:
        for table_name in GROUPS[name]:
            t = table(table_name)
            if replace:
                dst.execute(sa.text(f'TRUNCATE TABLE "{table_name}"'))
            expected = src.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            batch_rows = BATCH_ROWS_OF.get(table_name, BATCH_ROWS)
            result = src.execution_options(yield_per=batch_rows).execute(sa.select(t))
            for batch in result.mappings().partitions(batch_rows):
                dst.execute(t.insert(), [dict(row) for row in batch])
            copied = dst.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            if copied != expected:
                raise ImportRefused(
                    f"table {table_name}: {copied} rows in PostgreSQL after the copy, {expected} in SQLite; "
                    "nothing of this group was kept"
                )
            _advance_sequences(dst, t)
            rows[table_name] = copied
        progress(f"{name}: " + ", ".join(f"{t} {n}" for t, n in rows.items()))
    return GroupResult(name, rows)


def _advance_sequences(conn: sa.Connection, t: sa.Table) -> None:
    """Serial ids continue after the copied ones (rows were inserted with their ids)."""
    for column in t.primary_key.columns:
        if not isinstance(column.type, sa.Integer):
            continue
        sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": t.name, "c": column.name}
        ).scalar_one()
        if sequence:
            conn.execute(
                sa.text(f'SELECT setval(:s, coalesce((SELECT max("{column.name}") FROM "{t.name}"), 0) + 1, false)'),
                {"s": sequence},
            )
