"""Metric roll-ups, encrypted secrets and the registry of sandboxed SQL spaces.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from maidcore_sqlmodel.models import UtcDateTime, binary_string

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_rollups",
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("metric", sa.String(64), primary_key=True),
        sa.Column("resolution", sa.Integer(), primary_key=True),
        sa.Column("tag_key", binary_string(200), primary_key=True),
        sa.Column("bucket", sa.BigInteger(), primary_key=True),
        sa.Column("tag_value", binary_string(200), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
    )
    op.create_index("ix_metric_rollups_resolution_bucket", "metric_rollups", ["resolution", "bucket"])
    op.create_table(
        "secrets",
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "sql_spaces",
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(63), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("sql_spaces", "secrets", "metric_rollups"):
        op.drop_table(table)
