"""``maidcore storage backup|restore`` on SQLite and on the embedded PostgreSQL server, with a real ``serve``."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from datetime import datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from maidcore_discord.emulator import BOT_USER_ID, DEMO_GUILD_ID
from maidcore_sqlmodel import migrate
from maidcore_sqlmodel.database import Database, DatabaseUrl
from maidcore_sqlmodel.secrets import load_master_key

import maidcore
from tests.core.plugins import write_plugin
from tests.core.test_cluster_shared import emulator, start_node, stop_node
from tests.core.test_serve import cli, environment, processes_under, wait_for

HEAD = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
FAST = json.dumps({"fsync": "off"})

KEEPER_MAIN = """from mmo_maid_sdk import Plugin

plugin = Plugin()


def note(ctx, body):
    ctx.sql.execute("CREATE TABLE IF NOT EXISTS notes (body TEXT NOT NULL)")
    ctx.sql.execute("INSERT INTO notes (body) VALUES ($1)", [body])


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event["author_bot"]:
        return
    say = lambda text: ctx.discord.send_message(channel_id=event["channel_id"], content=text)
    if event["content"] == "!keep":
        note(ctx, "before")
        ctx.kv.set("greeting", {"text": "kept"})
        ctx.secrets.set("token", "hunter2")
        say("kept")
    elif event["content"] == "!later":
        note(ctx, "after")
        ctx.kv.set("greeting", {"text": "changed"})
        say("later")
    elif event["content"] == "!show":
        rows = ctx.sql.query("SELECT body FROM notes ORDER BY body")
        bodies = ",".join(row["body"] for row in rows)
        say(f"kv={ctx.kv.get('greeting')['text']} sql={bodies} secret={ctx.secrets.get('token')}")


if __name__ == "__main__":
    plugin.run()
"""

KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("embedded", id="embedded", marks=[pytest.mark.postgres, pytest.mark.embedded]),
]


def env_for(kind: str, data_dir: Path) -> dict[str, str]:
    extra = {"MAIDCORE_STORAGE__DATABASE_URL": "sqlite://"} if kind == "sqlite" else {}
    return environment(data_dir, MAIDCORE_STORAGE__EMBEDDED_SERVER_SETTINGS=FAST, **extra)


def say(info: dict, content: str) -> None:
    guild = next(g for g in emulator(info["emulator"])["guilds"] if g["id"] == DEMO_GUILD_ID)
    general = next(c["id"] for c in guild["channels"] if c["name"] == "general")
    emulator(info["emulator"], "messages", channel_id=general, user_id="900000000000000202", content=content)

    def answer():
        messages = emulator(info["emulator"])["messages"].get(general, [])
        replies = [m["content"] for m in messages if m["author"]["id"] == BOT_USER_ID]
        return replies[-1] if len(replies) > say.count.get(info["emulator"], 0) else None

    reply = wait_for(answer, 30, f"the plugin's answer to {content}")
    say.count[info["emulator"]] = say.count.get(info["emulator"], 0) + 1
    return reply


say.count = {}


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def repack(archive: Path, target: Path, **manifest_changes) -> None:
    """The same archive with manifest fields changed (the members and their sha256s untouched)."""
    content = members(archive)
    manifest = json.loads(content["manifest.json"])
    manifest.update(manifest_changes)
    content["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(target, "w:gz") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_a_backup_taken_while_serve_runs_restores_into_a_fresh_data_dir_that_serves(tmp_path, kind):
    source_dir, restored_dir = tmp_path / "a", tmp_path / "b"
    env_a, env_b = env_for(kind, source_dir), env_for(kind, restored_dir)
    archive = tmp_path / "platform.backup"
    node, info = start_node(env_a, source_dir)
    try:
        plugin = write_plugin(
            tmp_path / "src",
            plugin_id="keeper",
            capabilities_required=["discord:send_message", "storage:kv", "storage:sql", "storage:secrets"],
        )
        (plugin / "__main__.py").write_text(KEEPER_MAIN)
        done = cli(env_a, "install", str(plugin), "--server", DEMO_GUILD_ID, "--grant-all")
        assert done.returncode == 0, done.stderr
        wait_for(lambda: processes_under(source_dir / "bundles" / "keeper"), 30, "the keeper's worker")
        assert say(info, "!keep") == "kept"

        done = cli(env_a, "storage", "backup", str(archive))  # serve runs and holds the database
        assert done.returncode == 0, done.stderr
        assert "holds the secrets key" in done.stderr
        assert say(info, "!later") == "later"  # after the backup: not in it
    finally:
        stop_node(node)

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    content = members(archive)
    manifest = json.loads(content["manifest.json"])
    assert manifest["kind"] == kind and manifest["schema_revision"] == HEAD
    assert manifest["maidcore_version"] == maidcore.__version__ and datetime.fromisoformat(manifest["created_at"])
    assert set(content) == {"manifest.json", *manifest["members"]}
    assert content["secrets.key"].strip() == (source_dir / "secrets.key").read_bytes().strip()
    if kind == "sqlite":
        assert any(name.startswith("sql/keeper-") for name in manifest["members"])
    else:
        assert manifest["roles"] and all(role.startswith("mcp_") for role in manifest["roles"])

    done = cli(env_b, "storage", "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((restored_dir / "secrets.key").stat().st_mode) == 0o600
    again = cli(env_b, "storage", "restore", str(archive))
    assert again.returncode != 0 and "pass --force" in again.stderr

    node, info = start_node(env_b, restored_dir)
    try:
        # the bundle comes from the restored database (this data dir never had the plugin's files)
        assert say(info, "!show") == "kv=kept sql=before secret=hunter2"
        busy = cli(env_b, "storage", "restore", str(archive), "--force")
        assert busy.returncode != 0 and "already running" in busy.stderr
    finally:
        log = stop_node(node)
    assert (restored_dir / "bundles" / "keeper" / "1.0.0" / "__main__.py").read_text() == KEEPER_MAIN, log


def small_platform(kind: str, data_dir: Path, revision: str = "head") -> dict[str, str]:
    """A data directory with a schema (at ``revision``) and a secrets key, without serve: ``env`` for the CLI."""
    env = env_for(kind, data_dir)
    if kind == "sqlite":
        data_dir.mkdir(parents=True)
        load_master_key(None, data_dir)
        db = Database(DatabaseUrl.resolve("sqlite://", data_dir))
        try:
            migrate.upgrade(db.engine, revision)
        finally:
            db.engine.dispose()
        return env
    assert revision == "head", "the embedded case only needs a current schema"
    done = cli(env, "storage", "upgrade")
    assert done.returncode == 0, done.stderr
    load_master_key(None, data_dir)
    return env


def platform_files(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir() if p.name not in {"serve.lock"}) if data_dir.exists() else []


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_newer_and_mismatched_archives_are_refused_and_change_nothing(tmp_path, kind):
    env = small_platform(kind, tmp_path / "a")
    archive = tmp_path / "a.backup"
    assert cli(env, "storage", "backup", str(archive)).returncode == 0
    refused = cli(env, "storage", "backup", str(archive))
    assert refused.returncode != 0 and "already exists" in refused.stderr

    target = tmp_path / "fresh"
    target_env = env_for(kind, target)

    flipped = tmp_path / "flipped.backup"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    done = cli(target_env, "storage", "restore", str(flipped))
    assert done.returncode != 0 and "is damaged or not a maidcore backup" in done.stderr, done.stderr
    assert platform_files(target) == []

    newer = tmp_path / "newer.backup"
    repack(archive, newer, schema_revision="9999_from_the_future")
    done = cli(target_env, "storage", "restore", str(newer))
    assert done.returncode != 0 and "made by a newer maidcore" in done.stderr, done.stderr
    assert platform_files(target) == []

    # a member changed and the manifest left alone: its sha256 gives it away
    tampered = tmp_path / "tampered.backup"
    content = members(archive)
    content["secrets.key"] = b"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n"
    with tarfile.open(tampered, "w:gz") as tar:
        for name, blob in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    done = cli(target_env, "storage", "restore", str(tampered))
    assert done.returncode != 0 and "secrets.key does not match its sha256" in done.stderr, done.stderr

    other = "embedded" if kind == "sqlite" else "sqlite"
    done = cli(env_for(other, tmp_path / "other"), "storage", "restore", str(archive))
    assert done.returncode != 0 and f"holds a {kind} platform" in done.stderr, done.stderr

    # over a platform: refused without --force, replaced with it (and the old key gone with it)
    over = tmp_path / "over"
    over_env = small_platform(kind, over)
    old_key = (over / "secrets.key").read_text()
    done = cli(over_env, "storage", "restore", str(archive))
    assert done.returncode != 0 and "pass --force" in done.stderr
    assert (over / "secrets.key").read_text() == old_key
    done = cli(over_env, "storage", "restore", str(archive), "--force")
    assert done.returncode == 0, done.stderr
    assert (over / "secrets.key").read_text() == (tmp_path / "a" / "secrets.key").read_text()
    assert not [p for p in over.iterdir() if p.name.startswith((".restore-", ".replaced-"))]


def test_an_archive_of_an_older_schema_is_restored_and_upgraded(tmp_path):
    env = small_platform("sqlite", tmp_path / "a", revision="0005")
    archive = tmp_path / "old.backup"
    assert cli(env, "storage", "backup", str(archive)).returncode == 0
    assert json.loads(members(archive)["manifest.json"])["schema_revision"] == "0005"
    target = tmp_path / "b"
    done = cli(env_for("sqlite", target), "storage", "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert "schema upgraded 0005 -> " in done.stdout
    db = Database(DatabaseUrl.resolve("sqlite://", target))
    try:
        assert migrate.current_revision(db.engine) == HEAD
    finally:
        db.engine.dispose()


def test_an_external_postgresql_is_refused_pointing_at_pg_dump(tmp_path, pg_fresh_url):
    env = env_for("sqlite", tmp_path / "a")
    env["MAIDCORE_STORAGE__DATABASE_URL"] = pg_fresh_url
    for args in (("backup", str(tmp_path / "x.backup")), ("restore", str(tmp_path / "x.backup"))):
        done = cli(env, "storage", *args)
        assert done.returncode != 0 and "pg_dump -Fc" in done.stderr and "pg_dumpall --roles-only" in done.stderr
    assert not (tmp_path / "x.backup").exists()
    for command in ("backup", "restore"):  # the help says it before anyone makes an archive
        help_text = " ".join(cli(env, "storage", command, "--help").stdout.split()).lower()
        assert "warning: the archive holds the secrets key" in help_text
