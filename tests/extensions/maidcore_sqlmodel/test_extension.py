"""The layer is found and built the way the platform builds every layer: by name, through the hook."""

from __future__ import annotations

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
        assert (tmp_path / "maidcore.db").exists() and (tmp_path / "secrets.key").exists()
        assert platform.records is storage.records
    finally:
        await platform.close()


def test_storage_commands_show_and_upgrade_the_schema(tmp_path):
    from click.testing import CliRunner
    from maidcore_sqlmodel import migrate
    from maidcore_sqlmodel.database import Database, DatabaseUrl

    from maidcore.cli import make_cli
    from maidcore.cli.state import CliState

    extensions = Extensions.load()
    cli = make_cli(extensions)
    db = Database(DatabaseUrl.resolve(None, tmp_path))
    migrate.upgrade(db.engine, "0001")
    db.engine.dispose()
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(cli, ["--data-dir", str(tmp_path), *args], obj=CliState(extensions))
        assert result.exit_code == 0, result.output
        return result.output

    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()  # other work adds revisions
    out = invoke("storage", "status")
    assert f"sqlite {tmp_path / 'maidcore.db'}" in out and f"0001 (newest {head}, behind" in out
    assert f"schema 0001 -> {head}" in invoke("storage", "upgrade")
    assert f"{head} (newest {head}, up to date)" in invoke("storage", "status")
    assert f"already at {head}" in invoke("storage", "upgrade")
