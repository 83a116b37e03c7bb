"""`maidcore serve` as a user runs it: a real subprocess with the emulator, the process backend and the web API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from maidcore_discord.emulator import DEMO_GUILD_ID as DEMO_GUILD

from tests.core.plugins import write_plugin

ROOT = Path(__file__).resolve().parents[2]
MAIDCORE = Path(sys.executable).with_name("maidcore")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    env.update(
        MAIDCORE_DATA_DIR=str(data_dir),
        MAIDCORE_DISCORD__EMULATOR_PORT=str(free_port()),
        MAIDCORE_WEB__PORT=str(free_port()),
        MAIDCORE_INSTALL_POLL_SECONDS="0.5",
        **extra,
    )
    return env


def processes_under(path: Path) -> list[int]:
    """Live processes whose working directory is inside ``path`` (plugin workers run in their bundle)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            state = (proc / "stat").read_text().split(") ")[-1][0]
        except OSError:
            continue
        if state != "Z" and cwd.startswith(str(path)):
            found.append(int(proc.name))
    return found


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(MAIDCORE), *args], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)


@pytest.mark.slow
def test_serve_runs_installed_plugins_notices_cli_installs_and_stops_clean(tmp_path):
    data_dir = tmp_path / "data"
    env = environment(data_dir)
    assert cli(env, "install", str(write_plugin(tmp_path / "pinger")), "--server", "111", "--grant-all").returncode == 0
    server = subprocess.Popen(
        [str(MAIDCORE), "serve", "--sandbox", "process", "--log-format", "json"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = wait_for(
            lambda: (data_dir / "serve.json").is_file() and json.loads((data_dir / "serve.json").read_text()),
            60,
            "serve.json",
        )
        assert info["pid"] == server.pid and info["emulator"].startswith("http://127.0.0.1:")
        bundles = data_dir / "bundles"
        wait_for(lambda: processes_under(bundles / "pinger"), 30, "the pinger worker process")

        # an install made by the CLI while the server runs is picked up without a restart
        second = write_plugin(tmp_path / "echoer", plugin_id="echoer")
        # (on a guild the emulator has: an install on one it lacks is refused now that it ran)
        refused = cli(env, "install", str(second), "--server", "222", "--grant-all")
        assert refused.returncode == 1 and "server 222 is not a guild of the Discord emulator" in refused.stderr
        assert cli(env, "install", str(second), "--server", DEMO_GUILD, "--grant-all").returncode == 0
        wait_for(lambda: processes_under(bundles / "echoer"), 30, "the echoer worker started after a CLI install")

        def workers_in_status():
            status = json.loads(cli(env, "status", "--json").stdout)
            assert status["running"] is True
            workers = {(w["plugin_id"], w["version"]) for w in status["workers"]}
            return workers >= {("pinger", "1.0.0"), ("echoer", "1.0.0")}

        wait_for(workers_in_status, 20, "maidcore status to list both workers")

        # with an admin token, status asks the web API of the running server
        token = json.loads(cli(env, "tokens", "create", "--admin", "ops", "--json").stdout)["token"]
        via_web = json.loads(cli(env, "status", "--json", "--token", token).stdout)
        assert via_web["source"] == f"{info['web']}/api/status"
        assert {w["plugin_id"] for w in via_web["workers"]} >= {"pinger", "echoer"}

        examples = sorted(p.name for p in (ROOT / "examples").glob("*/manifest.json"))
        installs = [
            json.loads(line) for line in cli(env, "installs", "--server", DEMO_GUILD, "--json").stdout.splitlines()
        ]
        assert len(installs) == len(examples) + 1  # every example on the demo guild, all granted (and echoer)
        assert all(row["blocked"] == [] for row in installs)
    finally:
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        server.send_signal(signal.SIGINT)  # an impatient second signal must not cut the cleanup short
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "maidcore serving" in messages and "stopped" in messages
    serving = next(line for line in lines if line["msg"] == "maidcore serving")
    assert serving["sandbox_backend"] == "process" and serving["storage_backend"] == "sqlmodel"
    assert processes_under(data_dir) == [], "plugin workers left behind"
    assert not (data_dir / "serve.json").exists()


def test_serve_refuses_the_process_backend_with_a_real_token(tmp_path):
    env = environment(tmp_path / "data", MAIDCORE_DISCORD__TOKEN="not-a-real-token")
    result = cli(env, "serve", "--sandbox", "process")
    assert result.returncode == 1
    assert "gives no isolation" in result.stderr and "--unsafe-no-isolation" in result.stderr
    assert "not-a-real-token" not in result.stderr


def test_serve_with_a_token_and_no_docker_says_how_to_fix(tmp_path):
    env = environment(
        tmp_path / "data", MAIDCORE_DISCORD__TOKEN="not-a-real-token", DOCKER_HOST="unix:///nonexistent.sock"
    )
    result = cli(env, "serve")
    assert result.returncode == 1
    assert "start the Docker engine" in result.stderr and "MAIDCORE_SANDBOX_BACKEND" in result.stderr


@pytest.mark.slow
def test_serve_in_emulator_mode_without_docker_falls_back_to_process(tmp_path):
    data_dir = tmp_path / "data"
    env = environment(data_dir, DOCKER_HOST="unix:///nonexistent.sock", MAIDCORE_DISCORD__DEMO="false")
    server = subprocess.Popen(
        [str(MAIDCORE), "serve", "--no-web"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: (data_dir / "serve.json").is_file(), 60, "serve.json")
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr[-3000:]
    assert "falls back to the 'process' backend" in stderr and "NO isolation" in stderr
    assert "sandbox_backend=process" in stderr


def serve(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(MAIDCORE), "serve", "--sandbox", "process"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )


def stop(server: subprocess.Popen) -> str:
    server.send_signal(signal.SIGTERM)
    _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr[-3000:]
    return stderr


def embedded_postgres(data_dir: Path) -> list[int]:
    """The embedded PostgreSQL server's processes (they run in the cluster directory)."""
    return processes_under(data_dir / "postgres")


@pytest.mark.slow
def test_a_second_serve_on_one_data_directory_refuses_in_one_line_and_touches_nothing(tmp_path):
    data_dir = tmp_path / "data"
    env = environment(data_dir, MAIDCORE_DISCORD__DEMO="false")
    first = serve(env)
    try:
        info = wait_for(lambda: (data_dir / "serve.json").is_file() and (data_dir / "serve.json").read_text(), 60, "")
        wait_for(lambda: (data_dir / "status.json").is_file(), 10, "status.json")
        # the same ports too: the second must refuse before it binds (or builds) anything
        second = cli(env, "serve", "--sandbox", "process")
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"Error: maidcore serve is already running on {data_dir} (pid {first.pid}); stop it first, "
            "or give this one another --data-dir"
        ]
        assert (data_dir / "serve.json").read_text() == info and (data_dir / "status.json").is_file()
        assert first.poll() is None
        with urllib.request.urlopen(json.loads(info)["emulator"], timeout=5) as page:  # the first still serves
            assert page.status == 200
        status = json.loads(cli(env, "status", "--json").stdout)
        assert status["running"] is True and status["database"]["kind"] == "embedded"
    finally:
        stop(first)
    assert embedded_postgres(data_dir) == [] and not (data_dir / "serve.json").exists()


@pytest.mark.slow
def test_serve_killed_with_sigkill_starts_again_on_the_same_data_directory(tmp_path):
    data_dir = tmp_path / "data"
    env = environment(data_dir, MAIDCORE_DISCORD__DEMO="false")
    assert cli(env, "install", str(write_plugin(tmp_path / "pinger")), "--server", "111", "--grant-all").returncode == 0
    first = serve(env)
    try:
        wait_for(lambda: (data_dir / "serve.json").is_file(), 60, "serve.json")
        assert embedded_postgres(data_dir)
    finally:
        first.kill()  # SIGKILL: no cleanup at all
        first.communicate(timeout=30)
    assert (data_dir / "serve.json").exists()  # left behind, stale
    assert json.loads(cli(env, "status", "--json").stdout)["running"] is False
    second = serve(environment(data_dir, MAIDCORE_DISCORD__DEMO="false"))
    try:
        wait_for(
            lambda: (
                (data_dir / "serve.json").is_file()
                and json.loads((data_dir / "serve.json").read_text())["pid"] == second.pid
            ),
            60,
            "the restarted server's serve.json",
        )
        installs = cli(env, "installs", "--json").stdout.splitlines()
        assert [json.loads(line)["plugin_id"] for line in installs] == ["pinger"]
    finally:
        stop(second)
    assert processes_under(data_dir) == [], "plugin workers or the database left behind"


@pytest.fixture(scope="module")
def runtime_image(docker_client) -> None:
    """The plugin runtime image, built the way a user builds it (instant when up to date)."""
    result = subprocess.run(
        [str(MAIDCORE), "sandbox", "build-image", "-q"], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.docker
@pytest.mark.slow
def test_serve_with_docker_leaves_no_container_behind(tmp_path, docker_client, runtime_image):
    from maidcore_docker.containers import node_id
    from maidcore_docker.settings import DockerSettings

    data_dir = tmp_path / "data"
    env = environment(data_dir, MAIDCORE_DISCORD__DEMO="false", MAIDCORE_DOCKER__WARM_POOL_SIZE="1")
    assert cli(env, "install", str(write_plugin(tmp_path / "pinger")), "--server", "111", "--grant-all").returncode == 0
    node = node_id(DockerSettings(), data_dir)

    def containers():
        return docker_client.api.containers(all=True, filters={"label": [f"maidcore.node={node}"]})

    server = subprocess.Popen(
        [str(MAIDCORE), "serve", "--no-web"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: (data_dir / "serve.json").is_file(), 120, "serve.json")
        running = wait_for(
            lambda: [c for c in containers() if c["Labels"].get("maidcore.plugin") == "pinger"], 120, "the container"
        )
        assert running[0]["State"] == "running"
        assert processes_under(data_dir / "bundles") == []  # the worker runs in the container, not as a host process
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=120)
    assert server.returncode == 0, stderr[-3000:]
    assert "sandbox_backend=docker" in stderr
    assert containers() == [], "containers left behind after SIGTERM"


def test_a_bad_setting_is_one_clear_line_without_a_traceback(tmp_path):
    env = environment(tmp_path / "data")
    env["MAIDCORE_WEB__PORT"] = "abc"
    result = cli(env, "serve", "--sandbox", "process")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: invalid settings") and "web.port" in lines[0] and "'abc'" in lines[0]
    assert not (tmp_path / "data" / "serve.json").exists()


@pytest.mark.slow
def test_serve_starts_quietly_and_json_logs_are_only_json(tmp_path):
    data_dir = tmp_path / "data"
    env = environment(data_dir, MAIDCORE_DISCORD__DEMO="false")
    server = subprocess.Popen(
        [str(MAIDCORE), "serve", "--sandbox", "process", "--log-format", "json"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: (data_dir / "serve.json").is_file(), 60, "serve.json")
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # every line is a JSON object
    serving = next(line for line in lines if line["msg"] == "maidcore serving")
    assert serving["emulator"].startswith("http://") and serving["web"].startswith("http://")
    noisy = [line["msg"] for line in lines if line["level"] in ("warning", "error")]
    assert noisy == [], noisy  # no voice-support warning, nothing else to worry a newcomer
