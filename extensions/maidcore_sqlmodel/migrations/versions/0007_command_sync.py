"""Slash command digests per (application, server), and when a blob stopped being named by any version.

``command_syncs`` lets a restarted node re-sync only the servers whose
commands changed; ``blobs.unreferenced_since`` lets the storage sweep delete a
blob only after it has been unnamed for ``blob_grace_seconds``.

Revision ID: 0007
Revises: 0006_registrations
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006_registrations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "command_syncs",
        sa.Column("application_id", sa.String(64), primary_key=True),
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("synced_at", sa.Float(), nullable=False),
    )
    with op.batch_alter_table("blobs") as batch:
        batch.add_column(sa.Column("unreferenced_since", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.drop_column("unreferenced_since")
    op.drop_table("command_syncs")
