"""Bring the platform database up to date with Alembic, programmatically (``Storage.start()`` calls it).

Migrations only ever add or transform: an upgrade of maidcore keeps every row.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: sqlalchemy.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


#: Advisory lock key serialising schema changes between nodes that start at the same time.
SCHEMA_LOCK = 0x6D61_6964  # "maid"


def upgrade(engine: sqlalchemy.Engine, revision: str = "head") -> None:
    """Upgrade to ``revision`` (default: the newest) in one transaction.

    Nodes starting together take turns: on PostgreSQL an advisory lock, on
    SQLite the ``BEGIN IMMEDIATE`` write lock; the later ones find the schema
    already upgraded.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: sqlalchemy.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
