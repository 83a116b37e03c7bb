"""The layer is found and built the way the platform builds every layer: by name, through the hook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from maidcore.extensions import Extensions
from maidcore.layers import EphemeralStore, KvStore, MetricStore, RecordStore, SecretStore, SqlSandbox, Storage
from maidcore.platform import Platform
from maidcore.scope import Scope
from maidcore.settings import Settings


async def test_platform_opens_sqlmodel_storage_in_its_data_directory(tmp_path):
    extensions = Extensions.load()
    assert "sqlmodel" in extensions.storage()
    platform = Platform(Settings(data_dir=tmp_path, storage_backend="sqlmodel"), extensions=extensions)
    storage = await platform.open_storage()
    try:
        assert isinstance(storage, Storage) and storage.name == "sqlmodel"
        for store, protocol in [
            (storage.kv, KvStore),
            (storage.sql, SqlSandbox),
            (storage.ephemeral, EphemeralStore),
            (storage.metrics, MetricStore),
            (storage.secrets, SecretStore),
            (storage.records, RecordStore),
        ]:
            assert isinstance(store, protocol), protocol.__name__
        await storage.kv.put(Scope("1", "p"), "k", 1)
        # the default: an embedded PostgreSQL server of its own under the data directory
        assert (tmp_path / "postgres" / "PG_VERSION").exists() and (tmp_path / "secrets.key").exists()
        assert not (tmp_path / "maidcore.db").exists()
        assert (await storage.describe())["kind"] == "embedded"
        assert platform.records is storage.records
    finally:
        await platform.close()


def test_storage_commands_show_and_upgrade_the_schema_of_an_earlier_sqlite_database(tmp_path):
    """A data directory from before the embedded server keeps its SQLite database (nothing is lost)."""
    from click.testing import CliRunner
    from maidcore_sqlmodel import migrate
    from maidcore_sqlmodel.database import Database, DatabaseUrl

    from maidcore.cli import make_cli
    from maidcore.cli.state import CliState

    extensions = Extensions.load()
    cli = make_cli(extensions)
    db = Database(DatabaseUrl.resolve("sqlite://", tmp_path))
    migrate.upgrade(db.engine, "0001")
    db.engine.dispose()
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(cli, ["--data-dir", str(tmp_path), *args], obj=CliState(extensions))
        assert result.exit_code == 0, result.output
        return result.output

    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()  # other work adds revisions
    out = invoke("storage", "status")
    assert f"database: SQLite {tmp_path / 'maidcore.db'}" in out and f"0001 (newest {head}, behind" in out
    assert f"schema 0001 -> {head}" in invoke("storage", "upgrade")
    assert f"{head} (newest {head}, up to date)" in invoke("storage", "status")
    assert f"already at {head}" in invoke("storage", "upgrade")


@pytest.mark.postgres
@pytest.mark.embedded
@pytest.mark.slow
def test_db_opens_psql_on_the_embedded_server_and_storage_status_shows_it(tmp_path):
    from maidcore_sqlmodel import migrate
    from maidcore_sqlmodel.embedded import EmbeddedPostgres

    maidcore = Path(sys.executable).with_name("maidcore")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(maidcore), "--data-dir", str(tmp_path), *args], env=env, capture_output=True, text=True, timeout=120
        )

    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
    status = run("storage", "status")
    assert status.returncode == 0, status.stderr
    assert f"database: embedded PostgreSQL in {tmp_path / 'postgres'}" in status.stdout
    assert "engine:   postgresql 18." in status.stdout and "schema:   empty (newest" in status.stdout
    upgraded = run("storage", "upgrade")
    assert upgraded.returncode == 0 and f"schema empty -> {head}" in upgraded.stdout, upgraded.stderr
    assert "up to date" in run("storage", "status").stdout
    counted = run("db", "-tA", "-c", "SELECT count(*) FROM installs")
    assert (counted.returncode, counted.stdout.strip()) == (0, "0"), counted.stderr
    failed = run("db", "-c", "SELECT * FROM no_such_table")
    assert failed.returncode != 0 and 'relation "no_such_table" does not exist' in failed.stderr
    assert EmbeddedPostgres(tmp_path).running_pid() is None  # each command stopped the server it started
