"""Fixtures: every storage test runs on SQLite and on a fresh PostgreSQL database (dropped afterwards)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.scope import Scope


def admin_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def database_url(base_url: str, name: str) -> str:
    return base_url.rsplit("/", 1)[0] + "/" + name


def drop_database(base_url: str, name: str) -> None:
    """Drop a test database and the per-plugin SQL roles created for it."""
    with admin_connect(base_url) as conn:
        roles = []
        try:
            with admin_connect(database_url(base_url, name)) as db:
                roles = [r[0] for r in db.execute("SELECT DISTINCT role FROM sql_spaces WHERE role IS NOT NULL")]
        except Exception:  # no sql_spaces table (never migrated): no roles either
            roles = []
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in roles:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="session")
def pg_database(postgres_url: str):
    """A PostgreSQL database of our own for this test session: ``(admin_url, database_url)``."""
    name = f"maidcore_test_{uuid.uuid4().hex[:10]}"
    with admin_connect(postgres_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_url, database_url(postgres_url, name)
    drop_database(postgres_url, name)


def storage_settings(request: pytest.FixtureRequest, backend: str, **overrides) -> StorageSettings:
    if backend == "postgres":
        _admin, url = request.getfixturevalue("pg_database")
        return StorageSettings(database_url=url, **overrides)
    return StorageSettings(**overrides)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def storage(request: pytest.FixtureRequest, backend: str, tmp_path: Path):
    store = SqlModelStorage(storage_settings(request, backend), tmp_path / "data")
    await store.start()
    yield store
    await store.close()


@pytest.fixture
def scope() -> Scope:
    """A scope no other test uses (the PostgreSQL database is shared by the session)."""
    return Scope(server_id=str(uuid.uuid4().int)[:18], plugin_id=f"plugin-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def other_scope(scope: Scope) -> Scope:
    return Scope(server_id=str(uuid.uuid4().int)[:18], plugin_id=scope.plugin_id)
