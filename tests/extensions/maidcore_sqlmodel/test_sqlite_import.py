"""``maidcore storage migrate-to-embedded``: a real SQLite data directory into the real embedded PostgreSQL server."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.sqlite_import import IMPORT_MARKER, ImportRefused, plugin_sql
from maidcore_sqlmodel.sqlite_import.tables import GROUPS, NOT_COPIED
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.records import DeadLetter, PluginLog
from maidcore.scope import Scope
from tests.core.plugins import write_plugin

ROOT = Path(__file__).resolve().parents[3]
MAIDCORE = Path(sys.executable).with_name("maidcore")
FAST = json.dumps({"fsync": "off"})
SERVER = "900000000000000001"
SCOPE = Scope(server_id=SERVER, plugin_id="pinger")

pytestmark = [pytest.mark.postgres, pytest.mark.embedded]

PLUGIN_SCHEMA = """
CREATE TABLE campaigns (id INTEGER PRIMARY KEY, name VARCHAR(80) NOT NULL UNIQUE, budget REAL DEFAULT 0,
                        active BOOLEAN NOT NULL DEFAULT 1, starts DATE, meta JSON, logo BLOB, tally NUMERIC(10,2));
CREATE TABLE entries (campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE, who TEXT NOT NULL,
                      points INTEGER DEFAULT 0, PRIMARY KEY (campaign_id, who));
CREATE INDEX entries_by_points ON entries (points DESC);
INSERT INTO campaigns (name, budget, active, starts, meta, logo, tally)
    VALUES ('spring', 12.5, 1, '2026-03-01', '{"tags": ["a", "b"]}', X'00FF10', 3.25);
INSERT INTO campaigns (name, active) VALUES ('summer', 0);
INSERT INTO entries VALUES (1, 'ann', 5), (1, 'bob', 7), (2, 'ann', 1);
"""


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    env.update(MAIDCORE_DATA_DIR=str(data_dir), MAIDCORE_STORAGE__EMBEDDED_SERVER_SETTINGS=FAST, **extra)
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MAIDCORE), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def populate(data_dir: Path, tmp_path: Path) -> None:
    """What an earlier maidcore left: an install (versions, bundle blobs), KV, secrets, metrics, logs, plugin SQL."""
    sqlite_env = env_for(data_dir, MAIDCORE_STORAGE__DATABASE_URL=f"sqlite:///{data_dir / 'maidcore.db'}")
    done = run(sqlite_env, "install", str(write_plugin(tmp_path / "pinger")), "--server", SERVER, "--grant-all")
    assert done.returncode == 0, done.stderr
    store = SqlModelStorage(StorageSettings(database_url=f"sqlite:///{data_dir / 'maidcore.db'}"), data_dir)
    await store.start()
    try:
        await store.kv.put(SCOPE, "config", {"prefix": "!", "nested": [1, 2.5, None]})
        await store.kv.increment(SCOPE, "counter", 41)
        await store.secrets.set(SCOPE, "api_key", "s3cr3t-value")
        await store.metrics.record(SCOPE, "pings", 3.0, {"channel": "general"})
        await store.records.add_logs([PluginLog(SERVER, "pinger", "error", "boom", {"line": 3})])
        await store.records.add_dead_letter(DeadLetter(None, SERVER, "pinger", "1.0.0", "e1", {"x": 1}, 5, "gave up"))
        await store.sql.execute(SCOPE, PLUGIN_SCHEMA, [])
    finally:
        await store.close()


async def test_a_sqlite_data_dir_moves_into_the_embedded_server_whole(tmp_path):
    data_dir = tmp_path / "data"
    await populate(data_dir, tmp_path)
    sqlite_file = data_dir / "maidcore.db"
    plugin_files = sorted((data_dir / "sql").rglob("*.db"))
    before = {p: digest(p) for p in [sqlite_file, *plugin_files]}
    env = env_for(data_dir)  # no database_url: the legacy maidcore.db is in use (with a warning) until migrated
    status = run(env, "storage", "status")
    assert "SQLite" in status.stdout, status.stdout + status.stderr

    done = run(env, "storage", "migrate-to-embedded")
    assert done.returncode == 0, done.stderr
    assert "row counts verified" in done.stdout and "Nothing to change" in done.stdout
    assert "plugin SQL pinger on 900000000000000001: campaigns 2, entries 3" in done.stdout
    assert {p: digest(p) for p in before} == before  # the SQLite files were only read
    assert json.loads((data_dir / IMPORT_MARKER).read_text())["state"] == "done"
    assert "embedded PostgreSQL" in run(env, "storage", "status").stdout  # the data dir switched by itself

    store = SqlModelStorage(StorageSettings(embedded_server_settings={"fsync": "off"}), data_dir)
    await store.start()
    try:
        assert store.location.kind == "embedded"
        install = await store.records.get_install(SERVER, "pinger")
        assert install is not None and install.version == "1.0.0"
        version = await store.records.get_version("pinger", "1.0.0")
        assert version is not None and version.bundle_digest and await store.blobs.has(version.bundle_digest)
        assert await store.kv.get(SCOPE, "config") == {"prefix": "!", "nested": [1, 2.5, None]}
        assert await store.kv.increment(SCOPE, "counter", 1) == 42
        assert await store.secrets.get(SCOPE, "api_key") == "s3cr3t-value"  # ciphertext copied as it was
        assert await store.metrics.total(SCOPE, "pings") == 3.0
        assert [log.message for log in await store.records.list_logs(plugin_id="pinger")] == ["boom"]
        letters = await store.records.list_dead_letters()
        assert [d.error for d in letters] == ["gave up"]
        assert await store.records.add_dead_letter(DeadLetter(None, SERVER, "pinger", "1", "e2", {}, 1, "x")) > (
            letters[0].id
        )  # serial ids go on after the copied ones

        rows, _ = await store.sql.query(SCOPE, "SELECT * FROM campaigns ORDER BY id", [])
        assert rows[0]["name"] == "spring" and rows[0]["active"] is True and rows[1]["active"] is False
        assert rows[0]["meta"] == {"tags": ["a", "b"]} and rows[0]["starts"] == "2026-03-01"
        assert rows[0]["budget"] == 12.5 and rows[1]["budget"] == 0
        await store.sql.execute(SCOPE, "INSERT INTO campaigns (name) VALUES ($1)", ["autumn"])  # identity continues
        rows, _ = await store.sql.query(SCOPE, "SELECT id FROM campaigns WHERE name = 'autumn'", [])
        assert rows == [{"id": 3}]
        with pytest.raises(Exception, match=r"unique|duplicate"):
            await store.sql.execute(SCOPE, "INSERT INTO campaigns (name) VALUES ('spring')", [])
        await store.sql.execute(SCOPE, "DELETE FROM campaigns WHERE id = 1", [])  # the foreign key cascades
        rows, _ = await store.sql.query(SCOPE, "SELECT count(*) AS n FROM entries", [])
        assert rows == [{"n": 1}]
    finally:
        await store.close()

    again = run(env, "storage", "migrate-to-embedded")
    assert again.returncode == 1 and "not empty" in again.stderr and "installs" in again.stderr
    replaced = run(env, "storage", "migrate-to-embedded", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    store = SqlModelStorage(StorageSettings(embedded_server_settings={"fsync": "off"}), data_dir)
    await store.start()
    try:  # back to exactly the SQLite data: the changes made above are gone
        rows, _ = await store.sql.query(SCOPE, "SELECT name FROM campaigns ORDER BY id", [])
        assert [r["name"] for r in rows] == ["spring", "summer"]
        assert await store.kv.get(SCOPE, "counter") == 41
        assert len(await store.records.list_dead_letters()) == 1
    finally:
        await store.close()


def test_every_platform_table_is_copied_or_left_out_for_a_reason():
    from maidcore_sqlmodel.models import Table

    grouped = [t for names in GROUPS.values() for t in names]
    assert len(grouped) == len(set(grouped))
    assert set(Table.metadata.tables) == set(grouped) | set(NOT_COPIED)


def sqlite_space(path: Path, script: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.close()
    return path


@pytest.mark.parametrize(
    ("script", "refusal"),
    [
        ("CREATE TABLE t (a GEOMETRY); INSERT INTO t VALUES (1)", "table t, column a: declared type 'GEOMETRY'"),
        ("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES ('x')", "table t, column a: declared INTEGER -> BIGINT"),
        ("CREATE TABLE t (a); INSERT INTO t VALUES (1), ('x')", "table t, column a: no declared type"),
        ("CREATE TABLE t (a BOOLEAN); INSERT INTO t VALUES (2)", "table t, column a: BOOLEAN holds 1 values"),
        ("CREATE TABLE t (a TEXT DEFAULT (lower('X')))", "table t, column a: default"),
        ("CREATE TABLE t (a INT); CREATE INDEX i ON t (a) WHERE a > 0", "table t: index i is partial"),
        ("CREATE TABLE t (a INT); CREATE INDEX i ON t (a + 1)", "table t: index i is on an expression"),
    ],
)
def test_an_unmappable_plugin_table_is_refused_naming_it(tmp_path, script, refusal):
    path = sqlite_space(tmp_path / "space.db", script)
    with pytest.raises(ImportRefused, match="plugin p on server 1: " + refusal.replace("(", r"\(").replace(")", r"\)")):
        plugin_sql.plan_space(Scope(server_id="1", plugin_id="p"), path)


def test_types_map_by_sqlite_affinity(tmp_path):
    path = sqlite_space(
        tmp_path / "space.db",
        "CREATE TABLE t (a BIGINT, b NVARCHAR(5), c DOUBLE, d DATETIME, e DECIMAL(5,2), f, g TIMESTAMPTZ, h JSONB)",
    )
    plan = plugin_sql.plan_space(Scope(server_id="1", plugin_id="p"), path)
    assert [c.pg_type for c in plan.tables[0].columns] == [
        "BIGINT", "TEXT", "DOUBLE PRECISION", "TIMESTAMP", "NUMERIC", "BIGINT", "TIMESTAMPTZ", "JSONB",
    ]  # fmt: skip


async def test_a_failed_import_leaves_the_data_dir_on_sqlite_and_names_the_table(tmp_path, pg_fresh_url):
    from maidcore_sqlmodel.database import Database, DatabaseUrl
    from maidcore_sqlmodel.location import locate_database
    from maidcore_sqlmodel.secrets import load_master_key
    from maidcore_sqlmodel.sqlite_import import import_in_progress, import_sqlite, importing, prepare

    data_dir = tmp_path / "data"
    legacy = data_dir / "maidcore.db"
    store = SqlModelStorage(StorageSettings(database_url=f"sqlite:///{legacy}"), data_dir)
    await store.start()
    try:
        await store.kv.put(SCOPE, "k", 1)
        await store.sql.execute(SCOPE, "CREATE TABLE events (day DATE); INSERT INTO events VALUES ('someday')", [])
    finally:
        await store.close()
    (data_dir / "postgres").mkdir()
    (data_dir / "postgres" / "PG_VERSION").write_text("18\n")  # as if the embedded server had been initialised
    target = Database(DatabaseUrl.resolve(pg_fresh_url, data_dir))
    try:
        with (
            pytest.raises(ImportRefused, match=r"plugin pinger on server 9\d+: table events: PostgreSQL refused it"),
            prepare(legacy, data_dir / "sql") as plan,
            importing(data_dir, legacy, target_was_initialised=True) as state,
        ):
            import_sqlite(plan, target, load_master_key(None, data_dir), state)
    finally:
        target.close()
    assert import_in_progress(data_dir)
    assert locate_database(StorageSettings(), data_dir, warn=False).kind == "sqlite"  # not the half-filled server
    legacy.rename(tmp_path / "elsewhere.db")  # imported --from another place: no SQLite here to fall back on
    with pytest.raises(ValueError, match=r"did not finish .*migrate-to-embedded --from"):
        locate_database(StorageSettings(), data_dir, warn=False)
    (data_dir / IMPORT_MARKER).write_text(json.dumps({"state": "done"}))
    assert locate_database(StorageSettings(), data_dir, warn=False).kind == "embedded"


async def test_an_unmappable_table_refuses_before_the_embedded_server_exists(tmp_path):
    data_dir = tmp_path / "data"
    store = SqlModelStorage(StorageSettings(database_url=f"sqlite:///{data_dir / 'maidcore.db'}"), data_dir)
    await store.start()
    try:
        await store.kv.put(SCOPE, "k", 1)
        await store.sql.execute(SCOPE, "CREATE TABLE shapes (area GEOMETRY)", [])
    finally:
        await store.close()
    done = run(env_for(data_dir), "storage", "migrate-to-embedded")
    assert done.returncode == 1
    assert "plugin pinger on server 900000000000000001: table shapes, column area: declared type 'GEOMETRY'" in (
        done.stderr
    )
    assert not (data_dir / "postgres").exists() and not (data_dir / IMPORT_MARKER).exists()  # nothing touched


def test_the_import_marker_is_put_back_when_nothing_was_written(tmp_path):
    from maidcore_sqlmodel.sqlite_import import import_in_progress, importing

    source = tmp_path / "maidcore.db"
    with pytest.raises(ImportRefused), importing(tmp_path, source, target_was_initialised=True):
        raise ImportRefused("not empty")
    assert not (tmp_path / IMPORT_MARKER).exists()  # a cluster in use before stays in use
    with pytest.raises(ImportRefused), importing(tmp_path, source, target_was_initialised=False):
        raise ImportRefused("the server would not start")
    assert import_in_progress(tmp_path)  # a cluster the import created stays unused (SQLite kept)
    with pytest.raises(ImportRefused), importing(tmp_path, source, target_was_initialised=True) as state:
        state.writing = True
        raise ImportRefused("half way")
    assert json.loads((tmp_path / IMPORT_MARKER).read_text())["state"] == "importing"
