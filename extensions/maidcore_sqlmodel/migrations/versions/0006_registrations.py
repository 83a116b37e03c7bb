"""Remembered plugin registrations: what a version's code announced in ``plugin.register``, by code digest.

A node loading an install whose code registered before needs no worker until there is work for it.

Revision ID: 0006_registrations
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from maidcore_sqlmodel.models import UtcDateTime

revision = "0006_registrations"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plugin_registrations",
        sa.Column("code_digest", sa.String(140), primary_key=True),
        sa.Column("registration", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("plugin_registrations")
