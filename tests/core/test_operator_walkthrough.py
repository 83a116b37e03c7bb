"""What an operator trying maidcore on a fresh machine ran into: each mistake is one line naming what to change.

Before these fixes each of them ended in a Python traceback, or (a missing ``MAIDCORE_CONFIG`` file) in
silence and the defaults.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from maidcore.cli.status import render
from maidcore.cluster.local import ensure_database
from tests.core.test_serve import MAIDCORE, ROOT, cli, environment, wait_for


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The run failed with exit 1 and said why in one ``Error:`` line, with no traceback anywhere."""
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    return errors[0]


def local_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = environment(tmp_path / "data", MAIDCORE_DISCORD__DEMO="false")
    env.update({"MAIDCORE_STORAGE__DATABASE_URL": f"sqlite:///{tmp_path}/m.db", **extra})
    return env


@pytest.fixture
def taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("variable", "setting"),
    [("MAIDCORE_DISCORD__EMULATOR_PORT", "discord.emulator_port"), ("MAIDCORE_WEB__PORT", "web.port")],
)
def test_a_port_in_use_names_the_setting_that_moves_it(tmp_path, taken_port, variable, setting):
    env = local_env(tmp_path, **{variable: str(taken_port)})
    line = one_error_line(cli(env, "serve", "--sandbox", "process"))
    assert f"cannot listen on 127.0.0.1:{taken_port}" in line and "in use" in line
    assert setting in line and variable in line
    assert not (tmp_path / "data" / "serve.json").exists()


def test_a_broken_settings_file_is_named_with_its_line(tmp_path):
    (tmp_path / "maidcore.toml").write_text('[storage\ndatabase_url = "sqlite://"\n', encoding="utf-8")
    env = local_env(tmp_path, MAIDCORE_CONFIG=str(tmp_path / "maidcore.toml"))
    line = one_error_line(cli(env, "config"))
    assert f"{tmp_path / 'maidcore.toml'} is not valid TOML" in line and "line 1" in line


def test_a_settings_file_named_but_missing_is_an_error_not_the_defaults(tmp_path):
    env = local_env(tmp_path, MAIDCORE_CONFIG=str(tmp_path / "nowhere.toml"))
    line = one_error_line(cli(env, "config"))
    assert f"MAIDCORE_CONFIG names {tmp_path / 'nowhere.toml'}, which is not a file" in line


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MAIDCORE_STORAGE__DATABASE_URL", "mysql://root:hunter2@db/maidcore", "scheme 'mysql' is not supported"),
        ("MAIDCORE_STORAGE__DATABASE_URL", "db.internal:5432", "must be a URL such as postgresql://"),
        ("MAIDCORE_LIMITS__STORAGE_URI", "redis//127.0.0.1:6379", "limits.storage_uri must be a storage URI"),
        ("MAIDCORE_LIMITS__STORAGE_URI", "http://user:hunter2@cache:80", "limits.storage_uri must be a storage URI"),
        ("MAIDCORE_STORAGE__EPHEMERAL_URL", "http://user:hunter2@cache:80", "storage.ephemeral_url must start with"),
    ],
)
def test_a_url_of_an_engine_maidcore_lacks_is_refused_when_settings_load(tmp_path, variable, value, expected):
    env = local_env(tmp_path, **{variable: value})
    line = one_error_line(cli(env, "config"))  # not only at serve's first connection: `config` says so too
    assert line.startswith("Error: invalid settings") and expected in line
    assert "hunter2" not in line  # a password in the given URL is never echoed


def test_a_database_that_cannot_be_reached_is_one_line_without_its_password(tmp_path):
    env = local_env(tmp_path, MAIDCORE_STORAGE__DATABASE_URL="postgresql://maidcore:hunter2@127.0.0.1:1/maidcore")
    line = one_error_line(cli(env, "serve", "--sandbox", "process", "--no-web"))
    assert "cannot connect to the database" in line and "storage.database_url" in line and "port 1" in line
    assert "hunter2" not in line


def test_a_coordinator_that_cannot_be_reached_is_one_line_naming_the_setting(tmp_path):
    env = local_env(tmp_path, MAIDCORE_CLUSTER__COORDINATOR_URL="redis://:hunter2@127.0.0.1:1/0")
    line = one_error_line(cli(env, "serve", "--sandbox", "process", "--no-web"))
    assert "cannot reach the cluster coordinator" in line and "cluster.coordinator_url" in line
    assert "127.0.0.1:1" in line and "hunter2" not in line


def test_cluster_demo_creates_its_database_once(postgres_url):
    name = f"demo_{uuid.uuid4().hex[:12]}"
    url = urlunparse(urlparse(postgres_url)._replace(path=f"/{name}"))
    try:
        assert ensure_database(url) == name
        assert ensure_database(url) is None  # there now: left as it is
        psycopg.connect(url).close()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_cluster_demo_stops_its_nodes_and_emulator_on_sigterm(tmp_path, pg_fresh_url, redis_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    args = [str(MAIDCORE), "cluster-demo", "--nodes", "2", "--port", "0", "--dir", str(tmp_path / "demo")]
    args += ["--redis-url", redis_url, "--database-url", pg_fresh_url]
    demo = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started: list[int] = []
    try:
        wait_for(lambda: len(children_of(demo.pid)) == 3, 60, "the emulator and two nodes started")
        started = children_of(demo.pid)
        time.sleep(1)
        demo.send_signal(signal.SIGTERM)
        out, err = demo.communicate(timeout=90)
    finally:
        if demo.poll() is None:
            demo.kill()
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert "stopping" in out, out + err
    assert not [pid for pid in started if alive(pid)], "cluster-demo left processes behind after SIGTERM"


@pytest.mark.slow
def test_cluster_demo_ends_when_every_node_has_exited(tmp_path, pg_fresh_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    args = [str(MAIDCORE), "cluster-demo", "--nodes", "1", "--port", "0", "--dir", str(tmp_path / "demo")]
    args += ["--redis-url", "redis://127.0.0.1:1/0", "--database-url", pg_fresh_url]  # no Redis there: nodes exit
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "node1 exited" in done.stderr and "every node exited" in done.stderr


EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "manifest.json").is_file())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_demo_examples_use_the_sdk_name_that_warns_nothing(example):
    """``serve`` installs these on a fresh machine: under the deprecated ``mmo_maid_sdk`` name each worker's start
    wrote a DeprecationWarning (two log lines) into the operator's first serve log."""
    code = "import runpy; runpy.run_path('__main__.py', run_name='example')"
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_status_of_a_processes_parent_shows_every_childs_workers():
    """``status.json`` of ``serve --processes 2`` holds the children's workers under ``processes``: the table showed
    "installs: 0" and no worker at all."""
    worker = {"plugin_id": "ping_pong", "version": "1.0.0", "server_id": None, "state": "idle", "in_flight": 0}
    child = {"mode": "pool", "workers": [worker], "counters": {"acked": 2}, "in_flight": 0}
    data = {
        "running": True,
        "source": "status.json",
        "in_flight": 0,
        "processes": [
            {**child, "index": 0, "pid": 11, "shards": [0], "process_restarts": 0},
            {**child, "index": 1, "pid": 12, "shards": [1], "process_restarts": 3},
        ],
    }
    text = render(data)
    assert "installs:" not in text
    rows = [line.split() for line in text.splitlines()]
    assert ["1", "12", "1", "3"] in rows  # the processes table: index, pid, shards, restarts
    assert ["0", "ping_pong", "1.0.0", "-", "idle", "0", "-", "-", "-"] in rows
    assert ["1", "ping_pong", "1.0.0", "-", "idle", "0", "-", "-", "-"] in rows
    assert "acked=4" in text


def test_an_unknown_log_level_is_a_usage_error_listing_the_levels(tmp_path):
    done = cli(local_env(tmp_path), "serve", "--log-level", "bogus")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "'bogus' is not one of" in done.stderr and "'warning'" in done.stderr


def test_schema_check_without_a_file_is_a_usage_error(tmp_path):
    done = cli(local_env(tmp_path), "schema", "manifest", "--check")
    assert done.returncode == 2 and "-o FILE" in done.stderr and done.stdout == ""


@pytest.mark.slow
def test_processes_against_a_standalone_emulator_serve_both_shards_and_say_so_once(tmp_path, pg_fresh_url):
    """The documented way to try ``--processes`` without a bot token: ``discord.emulator_url``. Each child printed
    the emulator's address, so the operator saw it once per process."""
    from tests.core.test_serve_processes import EmulatorThread

    emulator = EmulatorThread()
    env = local_env(
        tmp_path, MAIDCORE_STORAGE__DATABASE_URL=pg_fresh_url, MAIDCORE_DISCORD__EMULATOR_URL=emulator.emu.base_url
    )
    args = [str(MAIDCORE), "serve", "--processes", "2", "--sandbox", "process", "--no-web"]
    server = subprocess.Popen(args, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: emulator.shards() == {(0, 2), (1, 2)}, 90, "one gateway session per shard")
        data_dir = tmp_path / "data"
        serving = ("status.0.json", "status.1.json")  # written once a child serves
        wait_for(lambda: all((data_dir / name).is_file() for name in serving), 60, "both children serving")
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=90)
        emulator.close()
    assert server.returncode == 0, stderr[-3000:]
    assert stderr.count("Discord emulator: open") == 1, stderr[-3000:]


def test_a_refused_token_and_an_unreachable_discord_are_one_line_each(tmp_path):
    """discord.py's ``LoginFailure`` and aiohttp's connection errors were tracebacks, followed by asyncio's
    "Unclosed client session" error for the session the failed login left open."""
    from tests.core.test_serve_processes import EmulatorThread

    emulator = EmulatorThread()
    try:
        args = ("serve", "--sandbox", "process", "--unsafe-no-isolation", "--no-web")
        refused = local_env(
            tmp_path, MAIDCORE_DISCORD__TOKEN="not.the.token", MAIDCORE_DISCORD__API_BASE=emulator.emu.api_base
        )
        done = cli(refused, *args)
        line = one_error_line(done)
        assert "Unclosed" not in done.stderr
        assert "Discord refused discord.token" in line and "MAIDCORE_DISCORD__TOKEN" in line
        assert "not.the.token" not in line
    finally:
        emulator.close()
    unreachable = local_env(
        tmp_path, MAIDCORE_DISCORD__TOKEN="a.token", MAIDCORE_DISCORD__API_BASE="http://127.0.0.1:1/api/v10"
    )
    done = cli(unreachable, *args)
    line = one_error_line(done)
    assert "cannot reach Discord's API at http://127.0.0.1:1/api/v10" in line and "discord.api_base" in line
    assert "Unclosed" not in done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("MAIDCORE_WEB__PORT", "abc", "web.port"),
        ("MAIDCORE_STORAGE__DATABASE_URL", "postgresql://u@127.0.0.1:1/x", "storage.database_url"),
    ],
)
def test_with_json_logs_a_failed_start_is_json_too(tmp_path, variable, value, named):
    """docs/operations.md: with ``--log-format json`` nothing but JSON lines is written to stderr; a failed start
    ended with click's plain ``Error: …`` line (a bad setting wrote nothing else)."""
    done = cli(local_env(tmp_path, **{variable: value}), "serve", "--log-format", "json", "--no-web")
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]  # each one JSON
    assert lines[-1]["level"] == "error" and named in lines[-1]["msg"]
