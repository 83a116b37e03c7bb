"""The command line against a real data directory (its database on the session's PostgreSQL server)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from maidcore.cli import make_cli
from maidcore.cli.state import CliState
from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.records import DeadLetter
from maidcore.settings import Settings
from tests.core.plugins import write_plugin


@pytest.fixture(scope="module")
def extensions() -> Extensions:
    return Extensions.load()


@pytest.fixture
def invoke(tmp_path, extensions, monkeypatch, pg_fresh_url):
    """The CLI on a data directory whose database is a fresh one on the session's PostgreSQL server."""
    monkeypatch.setenv("MAIDCORE_STORAGE__DATABASE_URL", pg_fresh_url)
    data_dir = tmp_path / "data"
    cli = make_cli(extensions)

    def run(*args: str, ok: bool = True):
        result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run.data_dir = data_dir
    return run


def test_install_grant_installs_uninstall(invoke, tmp_path):
    source = write_plugin(tmp_path / "pinger")
    out = invoke("install", str(source), "--server", "111", "--grant", "storage:kv").output
    assert out.startswith("pinger 1.0.0 on server 111: granted storage:kv; blocked until granted: discord:ban_members")

    listed = [json.loads(line) for line in invoke("installs", "--json").output.splitlines()]
    assert [(r["plugin_id"], r["granted"], r["blocked"]) for r in listed] == [
        ("pinger", ["storage:kv"], ["discord:ban_members", "discord:send_message"])
    ]

    out = invoke("grant", "pinger", "discord:send_message", "--server", "111").output
    assert "granted discord:send_message, storage:kv; blocked until granted: discord:ban_members" in out
    out = invoke("grant", "pinger", "--all", "--server", "111", "--json").output
    assert json.loads(out)["blocked"] == []
    out = invoke("grant", "pinger", "discord:ban_members", "--revoke", "--server", "111").output
    assert "blocked until granted: discord:ban_members" in out

    assert invoke("disable", "pinger", "--server", "111").output == "disabled pinger on server 111\n"
    assert invoke("installs").output.rstrip().endswith("(disabled)")
    assert invoke("enable", "pinger", "--server", "111").output == "enabled pinger on server 111\n"
    assert "(disabled)" not in invoke("installs").output

    assert invoke("uninstall", "pinger", "--server", "111").output == "uninstalled pinger from server 111\n"
    assert invoke("installs").output == "no installs\n"


def test_install_grant_all_and_errors(invoke, tmp_path):
    source = write_plugin(tmp_path / "pinger")
    bad = invoke("install", str(source), "--server", "111", "--grant", "storage:sql", ok=False)
    assert bad.exit_code == 1 and "does not request storage:sql" in bad.output
    both = invoke("install", str(source), "--server", "111", "--grant", "storage:kv", "--grant-all", ok=False)
    assert both.exit_code == 2 and "not both" in both.output
    out = invoke("install", str(source), "--server", "111", "--grant-all").output
    assert "blocked" not in out
    missing = invoke("grant", "other", "storage:kv", "--server", "111", ok=False)
    assert "plugin 'other' is not installed on server 111; installed there: pinger" in missing.output
    assert "name at least one capability" in invoke("grant", "pinger", "--server", "111", ok=False).output


def test_dead_letters_list_and_delete(invoke):
    async def add():
        platform = Platform(Settings(data_dir=invoke.data_dir))
        await platform.open_storage()
        event = {"type": "message_create", "guild_id": "111", "content": "boom"}
        letter_id = await platform.records.add_dead_letter(
            DeadLetter(None, "111", "pinger", "1.0.0", "ev-1", event, 5, "worker crashed (exit code 3)")
        )
        await platform.close()
        return letter_id

    assert invoke("dead-letters").output == "no dead letters\n"
    letter_id = asyncio.run(add())
    out = invoke("dead-letters").output
    assert f"#{letter_id} " in out and "pinger 1.0.0 server 111 message_create event ev-1: 5 attempts" in out
    (line,) = invoke("dead-letters", "--json", "--plugin", "pinger").output.splitlines()
    assert json.loads(line)["event"]["content"] == "boom"
    assert invoke("dead-letters", "--server", "222").output == "no dead letters\n"
    assert invoke("dead-letters", "--delete", str(letter_id)).output.endswith("no dead letters\n")


def test_status_without_a_running_server_reads_records(invoke, tmp_path):
    invoke("install", str(write_plugin(tmp_path / "pinger")), "--server", "111")
    data = json.loads(invoke("status", "--json").output)
    assert data["running"] is False
    assert data["installs"] == 1 and data["installs_by_plugin"] == {"pinger 1.0.0": 1}
    assert data["dead_letters"] == 0


def test_extensions_lists_defaults_and_layer_choices(invoke):
    out = invoke("extensions").output
    for name in ("discord", "docker", "process", "sqlmodel", "limits", "review"):
        assert f"  {name:12} maidcore_{name}.extension  (maidcore " in out
    assert "storage_backend  uses sqlmodel (from sqlmodel)" in out
    data = json.loads(invoke("extensions", "--json").output)
    assert data["failed"] == [] and data["layers"]["sandbox_backend"]["chosen_from"] == "docker"


def test_capabilities_lists_tiers(invoke):
    out = invoke("capabilities").output
    assert "discord:ban_members          Dangerous" in out and "storage:sql                  Risky" in out


def test_help_lists_every_core_command(invoke):
    out = invoke("--help").output
    for command in (
        "serve",
        "extensions",
        "config",
        "install",
        "grant",
        "uninstall",
        "installs",
        "dead-letters",
        "status",
        "replay",
        "schema",
    ):
        assert f"  {command} " in out


@pytest.mark.slow
def test_replay_prints_host_calls_and_exits_zero_when_all_acked(tmp_path):
    root = Path(__file__).resolve().parents[2]
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "message_create", "content": "!ping", "channel_id": "42"}\n')
    maidcore = Path(sys.executable).with_name("maidcore")
    result = subprocess.run(
        [str(maidcore), "replay", str(root / "examples" / "ping_pong"), str(events), "--server", "555"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (call,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert call["method"] == "discord.send_message" and call["server_id"] == "555"
    assert call["params"]["channel_id"] == "42" and call["result"]["channel_id"] == "42"
    assert "1 acked, 0 not acked" in result.stderr


def test_extensions_command_reports_a_broken_extension(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "ext_broken_cli.py").write_text("raise ImportError('needs libfoo >= 2')\n")
    eps = [
        EntryPoint("limits", "maidcore_limits.extension", "maidcore"),
        EntryPoint("broken", "ext_broken_cli", "maidcore"),
    ]
    exts = Extensions.load(environ={}, entry_points_=eps)
    cli = make_cli(exts)
    args = ["--data-dir", str(tmp_path / "d"), "extensions"]
    out = CliRunner().invoke(cli, args, obj=CliState(exts)).output
    assert "failed (skipped):\n  broken       ext_broken_cli: ImportError: needs libfoo >= 2" in out
    assert "rate_limiter     uses limits (from limits)" in out
    assert "storage_backend  uses sqlmodel (NOT REGISTERED)" in out
    full = CliRunner().invoke(cli, [*args, "--tracebacks"], obj=CliState(exts)).output
    assert "Traceback (most recent call last)" in full


def test_auth_secrets_and_approved_hosts(invoke, tmp_path):
    out = invoke("secrets", "set-auth", "pinger", "API", "--host", "api.example.com", "--value", "dev").output
    assert out == "auth secret API of pinger set for every server without its own; sent only to api.example.com\n"
    invoke("secrets", "set-auth", "pinger", "API", "--host", "api.example.com", "--server", "111", "--value", "own")
    listed = json.loads(invoke("secrets", "list", "pinger", "--json").output)
    assert listed["auth_secrets"] == [
        {"server_id": "", "name": "API", "hosts": ["api.example.com"]},
        {"server_id": "111", "name": "API", "hosts": ["api.example.com"]},
    ]
    assert "dev" not in invoke("secrets", "list", "pinger").output.replace("default", "")
    assert invoke("secrets", "delete-auth", "pinger", "API", "--server", "111").exit_code == 0
    missing = invoke("secrets", "delete-auth", "pinger", "API", "--server", "111", ok=False)
    assert missing.exit_code == 1 and "has no auth secret API for 111" in missing.output
    refused = invoke("secrets", "set-auth", "pinger", "BAD", "--host", "*.example.com", "--value", "x", ok=False)
    assert refused.exit_code == 1 and "wildcards are not allowed" in refused.output
    gone = invoke("secrets", "revoke-host", "pinger", "feed.example.com", "--server", "111", "--kind", "ws", ok=False)
    assert gone.exit_code == 1 and "is not an approved ws host" in gone.output


def test_status_prints_a_table_of_workers_not_raw_json():
    from maidcore.cli.status import render

    data = {
        "source": "/data/status.json",
        "running": True,
        "mode": "pool",
        "workers": [
            {
                "plugin_id": "pinger",
                "version": "1.0.0",
                "server_id": None,
                "state": "running",
                "in_flight": 2,
                "waiting": 0,
                "restarts": 1,
                "parked_reason": None,
            },
            {
                "plugin_id": "crashy",
                "version": "0.3.0",
                "server_id": None,
                "state": "parked",
                "in_flight": 0,
                "waiting": 0,
                "restarts": 8,
                "parked_reason": "crashed 8 times",
            },
        ],
        "in_flight": 2,
        "waiting": 0,
        "restarts": 9,
        "counters": {"acked": 5},
        "rate_limited": {},
        "host_calls": 3,
        "host_call_errors": 1,
    }
    out = render(data).splitlines()
    assert "{" not in "\n".join(out)
    header = next(line for line in out if line.startswith("PLUGIN"))
    assert header.split() == ["PLUGIN", "VERSION", "SERVER", "STATE", "IN", "FLIGHT", "WAITING", "RESTARTS", "PARKED"]
    rows = out[out.index(header) + 1 :]
    assert rows[0].split()[:7] == ["pinger", "1.0.0", "-", "running", "2", "0", "1"]
    assert rows[1].split()[:4] == ["crashy", "0.3.0", "-", "parked"] and rows[1].endswith("crashed 8 times")
    # columns line up: every row's STATE starts where the header's does
    column = header.index("STATE")
    assert all(row[column:].split()[0] in ("running", "parked") for row in rows)


def test_status_without_a_server_shows_installs_as_a_table(invoke, tmp_path):
    invoke("install", str(write_plugin(tmp_path / "pinger")), "--server", "111")
    out = invoke("status").output
    assert "server:      not running" in out
    assert [line.split() for line in out.splitlines() if line.startswith("pinger")] == [["pinger", "1.0.0", "1", "0"]]


def _add_logs(data_dir: Path, url: str, entries) -> None:
    from maidcore.records import PluginLog

    async def add():
        platform = Platform(Settings(data_dir=data_dir), extensions=Extensions.load())
        await platform.open_storage()
        try:
            await platform.records.add_logs([PluginLog(*entry) for entry in entries])
        finally:
            await platform.close()

    asyncio.run(add())


def test_logs_filters_by_plugin_server_and_level(invoke, tmp_path, pg_fresh_url):
    _add_logs(
        tmp_path / "data",
        pg_fresh_url,
        [
            ("111", "pinger", "info", "pong sent"),
            ("222", "pinger", "error", "handler failed: KeyError"),
            ("111", "quiz", "debug", "question 3"),
        ],
    )
    lines = invoke("logs").output.splitlines()
    assert [line.split("  ")[1] for line in lines] == ["pinger", "pinger", "quiz"]  # oldest first, every plugin
    assert "server=222  ERROR   handler failed: KeyError" in lines[1]
    assert [line.split()[-1] for line in invoke("logs", "pinger", "--server", "111").output.splitlines()] == ["sent"]
    assert len(invoke("logs", "--level", "warning").output.splitlines()) == 1
    assert json.loads(invoke("logs", "quiz", "--json").output)["message"] == "question 3"


@pytest.mark.timeout(90)
def test_logs_follow_prints_new_lines_as_they_are_stored(tmp_path, pg_fresh_url, monkeypatch):
    monkeypatch.setenv("MAIDCORE_STORAGE__DATABASE_URL", pg_fresh_url)
    env = {**os.environ, "MAIDCORE_STORAGE__DATABASE_URL": pg_fresh_url, "MAIDCORE_DATA_DIR": str(tmp_path / "data")}
    _add_logs(tmp_path / "data", pg_fresh_url, [("111", "pinger", "info", "before")])
    maidcore = Path(sys.executable).with_name("maidcore")
    proc = subprocess.Popen(
        [str(maidcore), "logs", "pinger", "--follow"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().rstrip().endswith("before")
        _add_logs(tmp_path / "data", pg_fresh_url, [("111", "pinger", "warning", "after")])
        assert proc.stdout.readline().rstrip().endswith("WARNING after")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err
