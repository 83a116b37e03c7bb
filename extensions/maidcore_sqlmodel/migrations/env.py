"""Alembic environment: always run programmatically by ``maidcore_sqlmodel.migrate`` on a given connection."""

from __future__ import annotations

from alembic import context

from maidcore_sqlmodel.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run maidcore migrations through maidcore_sqlmodel.migrate.upgrade(), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
