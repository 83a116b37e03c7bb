"""Alembic: start() upgrades an older database without losing rows; the migrated schema equals the models."""

from __future__ import annotations

import json

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from maidcore_sqlmodel import migrate
from maidcore_sqlmodel.database import Database, DatabaseUrl
from maidcore_sqlmodel.models import metadata
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.records import VersionStatus
from maidcore.scope import Scope


@pytest.fixture
def fresh_url(request, backend, tmp_path):
    """An empty database of its own (the session's PostgreSQL database is already at head)."""
    if backend == "sqlite":
        yield "sqlite://"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(migrated=False)
    yield url
    server.drop_database(url)


async def test_upgrade_from_the_first_revision_keeps_data(fresh_url, tmp_path):
    settings = StorageSettings(database_url=fresh_url)
    db = Database(DatabaseUrl.resolve(fresh_url, tmp_path))
    migrate.upgrade(db.engine, "0001")
    assert migrate.current_revision(db.engine) == "0001"
    with db.engine.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO plugins (plugin_id, developer, created_at)"
                " VALUES ('old-plugin', 'dev', '2025-01-01 00:00:00')"
            )
        )
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO plugin_versions (plugin_id, version, status, manifest, bundle_path, findings, review_note,"
                " submitted_at) VALUES ('old-plugin', '1.0.0', 'published', :m, '/b', '[]', '', '2025-01-01 00:00:00')"
            ),
            {"m": json.dumps({"name": "old-plugin"})},
        )
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO kv_entries (server_id, plugin_id, key, value, expires_at)"
                " VALUES ('1', 'old-plugin', 'score', '41', NULL)"
            )
        )
    db.engine.dispose()

    storage = SqlModelStorage(settings, tmp_path)
    await storage.start()  # upgrades 0001 -> head
    try:
        head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
        assert head is not None and head > "0001"
        assert migrate.current_revision(storage.db.engine) == head
        scope = Scope("1", "old-plugin")
        assert await storage.kv.increment(scope, "score", 1) == 42
        version = await storage.records.get_version("old-plugin", "1.0.0")
        assert version.status is VersionStatus.PUBLISHED and version.manifest == {"name": "old-plugin"}
        assert (await storage.records.get_plugin("old-plugin")).developer == "dev"
        await storage.metrics.record(scope, "works", 1.0, {})  # a table from the newer revision
        await storage.secrets.set(scope, "k", "v")
    finally:
        await storage.close()
    storage = SqlModelStorage(settings, tmp_path)  # starting again at head changes nothing
    await storage.start()
    try:
        assert await storage.kv.get(Scope("1", "old-plugin"), "score") == 42
    finally:
        await storage.close()


async def test_migrated_schema_matches_the_models(storage):
    with storage.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert diff == []
