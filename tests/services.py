"""Find the real services a test needs, or skip (fail under MAIDCORE_REQUIRE_SERVICES=1) saying what is missing."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlsplit, urlunsplit

import pytest

REQUIRED = os.environ.get("MAIDCORE_REQUIRE_SERVICES") == "1"
#: The epoch time the test run started (set by ``tests/conftest.py``, shared by every pytest-xdist worker).
RUN_STARTED_ENV = "MAIDCORE_TEST_RUN_STARTED"


def run_started() -> float | None:
    """When this test run started (None outside one): what was made before it is a crashed earlier run's."""
    value = os.environ.get(RUN_STARTED_ENV)
    return float(value) if value else None


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when CI requires every service."""
    if REQUIRED:
        pytest.fail(f"required service missing (MAIDCORE_REQUIRE_SERVICES=1): {reason}", pytrace=False)
    pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (the query, e.g. a socket directory, is kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


class PostgresForTests:
    """The PostgreSQL server of a test session: ``MAIDCORE_TEST_POSTGRES_URL``, else an embedded one.

    The embedded server is initialised once per session (in a temporary directory, with
    durability turned off for speed) and tests get fresh databases on it; a database
    made from ``template()`` is already migrated, so it costs a file copy, not a migration.
    """

    def __init__(self, tmp_dir) -> None:
        self.external_url = os.environ.get("MAIDCORE_TEST_POSTGRES_URL")
        self.embedded = None
        self._template: str | None = None
        if self.external_url:
            parsed = urlparse(self.external_url)
            if not _port_open(parsed.hostname or "127.0.0.1", parsed.port or 5432):
                unavailable(
                    f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port or 5432} "
                    "(fix or unset MAIDCORE_TEST_POSTGRES_URL to use the embedded server)"
                )
            self.admin_url = self.external_url
            self.kind = "external"
            return
        from maidcore_sqlmodel.embedded import EmbeddedError, EmbeddedPostgres

        self.embedded = EmbeddedPostgres(
            tmp_dir,
            server_settings={
                "fsync": "off",  # a test server: speed over durability (durability tests use their own)
                "synchronous_commit": "off",
                "full_page_writes": "off",
                "max_connections": "500",
            },
            sync_initdb=False,
        )
        try:
            self.embedded.start()
        except EmbeddedError as exc:
            unavailable(f"the embedded PostgreSQL server cannot start: {exc}")
        self.admin_url = self.embedded.url("postgres")
        self.kind = "embedded"

    def url_for(self, name: str) -> str:
        return with_database(self.admin_url, name)

    def connect(self, database: str | None = None):
        import psycopg

        return psycopg.connect(self.url_for(database) if database else self.admin_url, autocommit=True)

    def template(self) -> str:
        """A database migrated to the newest schema, to copy fresh test databases from."""
        if self._template is None:
            import sqlalchemy
            from maidcore_sqlmodel import migrate
            from maidcore_sqlmodel.database import DatabaseUrl

            name = f"maidcore_template_{uuid.uuid4().hex[:10]}"
            with self.connect() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            engine = sqlalchemy.create_engine(DatabaseUrl.resolve(self.url_for(name), Path(".")).sqlalchemy_url)
            try:
                migrate.upgrade(engine)
            finally:
                engine.dispose()
            self._template = name
        return self._template

    def create_database(self, *, migrated: bool = True) -> str:
        """A fresh database (migrated to head unless ``migrated=False``); returns its URL."""
        name = f"maidcore_test_{uuid.uuid4().hex[:10]}"
        template = f' TEMPLATE "{self.template()}"' if migrated else ""
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        """Drop a test database and the per-plugin SQL roles created for it."""
        name = urlsplit(url).path.lstrip("/")
        roles: list[str] = []
        try:
            with self.connect(name) as db:
                roles = [r[0] for r in db.execute("SELECT DISTINCT role FROM sql_spaces WHERE role IS NOT NULL")]
        except Exception:  # no sql_spaces table (never migrated): no roles either
            roles = []
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in roles:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')

    def close(self) -> None:
        if self._template is not None:
            with self.connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
        if self.embedded is not None:
            self.embedded.stop()


def redis_url() -> str:
    url = os.environ.get("MAIDCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parsed = urlparse(url)
    if not _port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379):
        unavailable(f"Redis is not reachable at {parsed.hostname}:{parsed.port or 6379} (set MAIDCORE_TEST_REDIS_URL)")
    return url


def package_index(host: str = "pypi.org") -> str:
    """The public package index (tests that build sdists fetch setuptools from it), or skip."""
    if not _port_open(host, 443):
        unavailable(f"the package index {host}:443 is not reachable (dependency builds need it)")
    return f"https://{host}/simple"


def docker_client():
    """A connected docker SDK client."""
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # the SDK raises several types for "no engine"
        unavailable(f"Docker engine is not reachable ({exc.__class__.__name__}); start dockerd")
    return client


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    unavailable("headless Chromium is not installed (apt-get install chromium)")
    raise AssertionError("unreachable")
