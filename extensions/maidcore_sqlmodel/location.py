"""Which database the platform uses: the one ``database_url`` names, or the embedded PostgreSQL server.

With no ``database_url`` the platform runs its own PostgreSQL under the data
directory (``maidcore_sqlmodel.embedded``). One exception keeps an upgrade from
losing data: a data directory that already holds the SQLite database of an earlier
maidcore (``maidcore.db``) and no embedded cluster keeps using that database, with a
warning, until ``database_url`` says otherwise or ``maidcore storage migrate-to-embedded``
has copied it into the embedded server (while that import runs, or if it failed, the
SQLite database stays in use).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maidcore_sqlmodel.database import DatabaseUrl
from maidcore_sqlmodel.embedded import EmbeddedPostgres
from maidcore_sqlmodel.settings import StorageSettings

log = logging.getLogger(__name__)

LEGACY_SQLITE = "maidcore.db"


@dataclass(frozen=True)
class DatabaseLocation:
    url: DatabaseUrl
    embedded: EmbeddedPostgres | None = None  # set when the platform runs the server itself

    @property
    def kind(self) -> str:
        """``embedded`` (our own PostgreSQL), ``external`` (a PostgreSQL by URL) or ``sqlite``."""
        if self.embedded is not None:
            return "embedded"
        return "external" if self.url.dialect == "postgresql" else "sqlite"

    def describe(self) -> str:
        """Where the database is, for people (no password)."""
        if self.embedded is not None:
            return f"embedded PostgreSQL in {self.embedded.pgdata}"
        if self.url.dialect == "sqlite":
            return f"SQLite {self.url.sqlite_path}"
        from sqlalchemy.engine import make_url

        return f"PostgreSQL {make_url(self.url.sqlalchemy_url).render_as_string(hide_password=True)}"


def embedded_server(settings: StorageSettings, data_dir: Path | str) -> EmbeddedPostgres:
    """The data directory's embedded PostgreSQL server, configured by ``[storage]``."""
    return EmbeddedPostgres(
        Path(data_dir).expanduser(),
        start_timeout_seconds=settings.embedded_start_timeout_seconds,
        server_settings=settings.embedded_server_settings,
    )


def locate_database(settings: StorageSettings, data_dir: Path | str, *, warn: bool = True) -> DatabaseLocation:
    from maidcore_sqlmodel.sqlite_import import IMPORT_MARKER, import_in_progress

    data_dir = Path(data_dir).expanduser()
    if settings.database_url:
        return DatabaseLocation(DatabaseUrl.resolve(settings.database_url, data_dir))
    embedded = embedded_server(settings, data_dir)
    legacy = data_dir / LEGACY_SQLITE
    if legacy.is_file() and (not embedded.initialised() or import_in_progress(data_dir)):
        if warn:
            log.warning(
                "%s holds the SQLite database of an earlier maidcore: still using it. The default is now an "
                "embedded PostgreSQL server: `maidcore storage migrate-to-embedded` copies it there; or set "
                'storage.database_url = "sqlite:///%s" to keep SQLite and silence this warning',
                data_dir,
                legacy,
            )
        return DatabaseLocation(DatabaseUrl.resolve(f"sqlite:///{legacy}", data_dir))
    if import_in_progress(data_dir):  # no SQLite here to fall back on, and the server may hold part of the data
        raise ValueError(
            f"an import of a SQLite database into the embedded server of {data_dir} did not finish "
            f"({data_dir / IMPORT_MARKER}); run `maidcore storage migrate-to-embedded --from <that database> "
            "--replace` again, or delete that file to use the server as it is"
        )
    return DatabaseLocation(DatabaseUrl.resolve(embedded.url(), data_dir), embedded)


def describe_database(conn: Any, location: DatabaseLocation) -> dict[str, Any]:
    """``kind``, ``engine``, ``version``, ``size_bytes`` and ``location`` of the database ``conn`` is open on."""
    info: dict[str, Any] = {"kind": location.kind, "location": location.describe()}
    if location.url.dialect == "postgresql":
        version, size = conn.execute(
            "SELECT current_setting('server_version'), pg_database_size(current_database())"
        ).fetchone()
        info.update(engine="postgresql", version=version, size_bytes=int(size))
        if location.embedded is not None:
            info["pid"] = location.embedded.running_pid()
    else:
        import sqlite3

        assert location.url.sqlite_path is not None
        path = location.url.sqlite_path
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
        info.update(engine="sqlite", version=sqlite3.sqlite_version, size_bytes=size)
    return info
