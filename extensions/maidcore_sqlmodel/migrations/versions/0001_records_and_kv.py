"""Platform records (plugins, versions, installs, dead letters, logs, API tokens) and plugin KV.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from maidcore_sqlmodel.models import UtcDateTime, binary_string

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plugins",
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("developer", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "plugin_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("plugin_id", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("bundle_path", sa.String(), nullable=False),
        sa.Column("site_path", sa.String(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("review_note", sa.String(), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("plugin_id", "version", name="uq_plugin_versions_plugin_version"),
    )
    op.create_index("ix_plugin_versions_plugin_id", "plugin_versions", ["plugin_id"])
    op.create_table(
        "installs",
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("granted", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("pending_version", sa.String(100), nullable=True),
        sa.Column("installed_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_installs_plugin_id", "installs", ["plugin_id"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("server_id", sa.String(64), nullable=False),
        sa.Column("plugin_id", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_dead_letters_server_id", "dead_letters", ["server_id"])
    op.create_index("ix_dead_letters_plugin_id", "dead_letters", ["plugin_id"])
    op.create_table(
        "plugin_logs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("server_id", sa.String(64), nullable=False),
        sa.Column("plugin_id", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_plugin_logs_plugin_server_id", "plugin_logs", ["plugin_id", "server_id", "id"])
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(128), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "kv_entries",
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("plugin_id", sa.String(200), primary_key=True),
        sa.Column("key", binary_string(256), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_kv_entries_expires_at", "kv_entries", ["expires_at"])


def downgrade() -> None:
    for table in ("kv_entries", "api_tokens", "plugin_logs", "dead_letters", "installs", "plugin_versions", "plugins"):
        op.drop_table(table)
