"""``maidcore storage status|upgrade``: which database the node uses and its schema revision.

``Storage.start()`` already upgrades on every start; ``upgrade`` lets an operator
do it ahead of a rollout (one node, before the others restart).
"""

from __future__ import annotations

from pathlib import Path

import click
from alembic.script import ScriptDirectory

from maidcore_sqlmodel import migrate
from maidcore_sqlmodel.database import Database, DatabaseUrl


def _database(ctx: click.Context) -> tuple[Database, str]:
    from maidcore.cli.state import CliState

    settings = ctx.ensure_object(CliState).settings()
    if settings.storage_backend != "sqlmodel":
        raise click.ClickException(f"storage_backend is {settings.storage_backend!r}; these commands serve 'sqlmodel'")
    url = DatabaseUrl.resolve(settings.storage.database_url, Path(settings.data_dir).expanduser())
    if url.dialect == "sqlite":
        where = f"sqlite {url.sqlite_path}"
    else:
        from sqlalchemy.engine import make_url

        where = f"postgresql {make_url(url.sqlalchemy_url).render_as_string(hide_password=True)}"
    return Database(url), where


def _head() -> str:
    return ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head() or "none"


@click.group("storage")
def storage_group() -> None:
    """The sqlmodel storage layer: database and schema revision."""


@storage_group.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the database in use and whether its schema is at the newest revision."""
    db, where = _database(ctx)
    try:
        current = migrate.current_revision(db.engine) or "empty"
    finally:
        db.engine.dispose()
    head = _head()
    click.echo(f"database: {where}")
    state = "up to date" if current == head else "behind: run `maidcore storage upgrade` or start maidcore"
    click.echo(f"schema:   {current} (newest {head}, {state})")


@storage_group.command("upgrade")
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Upgrade the schema to the newest revision (existing rows are kept)."""
    db, where = _database(ctx)
    try:
        before = migrate.current_revision(db.engine) or "empty"
        migrate.upgrade(db.engine)
        after = migrate.current_revision(db.engine)
    finally:
        db.engine.dispose()
    click.echo(f"{where}: schema {before} -> {after}" if before != after else f"{where}: schema already at {after}")
