"""Fixtures: every storage test runs on SQLite and on PostgreSQL (the embedded server, or the one in
``MAIDCORE_TEST_POSTGRES_URL``), in a database of the session's own (dropped afterwards)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.scope import Scope
from tests.services import PostgresForTests


def admin_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


@pytest.fixture(scope="session")
def pg_database(postgres_server: PostgresForTests):
    """A PostgreSQL database of our own for this test session: ``(admin_url, database_url)``."""
    url = postgres_server.create_database(migrated=False)
    yield postgres_server.admin_url, url
    postgres_server.drop_database(url)


def storage_settings(request: pytest.FixtureRequest, backend: str, **overrides) -> StorageSettings:
    if backend == "postgres":
        _admin, url = request.getfixturevalue("pg_database")
        return StorageSettings(database_url=url, **overrides)
    return StorageSettings(database_url="sqlite://", **overrides)


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
