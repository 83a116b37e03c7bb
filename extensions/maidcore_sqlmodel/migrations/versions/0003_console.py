"""Permission requests (denied capability calls) and web console sessions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from maidcore_sqlmodel.models import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "denied_calls",
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("capability", sa.String(64), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_method", sa.String(100), nullable=False),
        sa.Column("first_at", UtcDateTime(), nullable=False),
        sa.Column("last_at", UtcDateTime(), nullable=False),
        sa.Column("dismissed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_denied_calls_plugin_id", "denied_calls", ["plugin_id"])
    op.create_table(
        "console_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("avatar", sa.String(200), nullable=True),
        sa.Column("guilds", sa.JSON(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])


def downgrade() -> None:
    for table in ("console_sessions", "denied_calls"):
        op.drop_table(table)
