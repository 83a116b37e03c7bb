"""Bundles in the database by content hash, and install changes pushed to every node.

Versions gain the digests of their bundle and prepared site; the archives go
in ``blobs``/``blob_chunks``. A trigger on ``installs`` reports each change:
on PostgreSQL as a ``NOTIFY maidcore_installs`` (payload ``[server_id, plugin_id]``),
on SQLite as a row of ``install_changes`` (another process on the same file
reads it). Bundle files already in a data directory are imported by the node
that holds them when it starts (``maidcore.bundles.import_local``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from maidcore_sqlmodel.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: The channel every node LISTENs on; the payload is the JSON array ``[server_id, plugin_id]``.
CHANNEL = "maidcore_installs"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION maidcore_installs_notify() RETURNS trigger AS $$
DECLARE
    changed installs%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    PERFORM pg_notify('{CHANNEL}', json_build_array(changed.server_id, changed.plugin_id)::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    with op.batch_alter_table("plugin_versions") as batch:
        batch.add_column(sa.Column("bundle_digest", sa.String(64), nullable=True))
        batch.add_column(sa.Column("site_digest", sa.String(64), nullable=True))
    op.create_table(
        "blobs",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "blob_chunks",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "install_changes",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("server_id", sa.String(64), nullable=False),
        sa.Column("plugin_id", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.Float(), nullable=False),
        sqlite_autoincrement=True,  # a sequence number is never reused after pruning
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER installs_notify AFTER INSERT OR UPDATE OR DELETE ON installs "
            "FOR EACH ROW EXECUTE FUNCTION maidcore_installs_notify()"
        )
    else:
        now = "(julianday('now') - 2440587.5) * 86400.0"
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER installs_changed_{event.lower()} AFTER {event} ON installs BEGIN "
                f"INSERT INTO install_changes (server_id, plugin_id, changed_at) "
                f"VALUES ({row}.server_id, {row}.plugin_id, {now}); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS installs_notify ON installs")
        op.execute("DROP FUNCTION IF EXISTS maidcore_installs_notify()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS installs_changed_{event}")
    for table in ("install_changes", "blob_chunks", "blobs"):
        op.drop_table(table)
    with op.batch_alter_table("plugin_versions") as batch:
        batch.drop_column("site_digest")
        batch.drop_column("bundle_digest")
