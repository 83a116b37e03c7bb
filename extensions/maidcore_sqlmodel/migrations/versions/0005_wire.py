"""Host approvals (``http.allow_host`` / ``ws.allow_host``) and domain-bound auth secrets (``secret_auth``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from maidcore_sqlmodel.models import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_approvals",
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("host", sa.String(253), primary_key=True),
        sa.Column("approved_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "auth_secrets",
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("hosts", sa.JSON(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("auth_secrets")
    op.drop_table("host_approvals")
