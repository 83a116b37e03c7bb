"""A stop signal while ``maidcore serve`` start-up hangs (Discord never answers) stops it there, in one clear line.

Before serve raced ``platform.start()`` against the stop signal, SIGTERM waited for a start that never came: a
single process hung until discord.py's own 5-minute HTTP timeout, and a ``--processes`` parent had to SIGKILL
its children after the grace period.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.core.test_serve import MAIDCORE, ROOT, environment, wait_for


@pytest.fixture
def silent_discord() -> Iterator[str]:
    """A Discord API base whose server accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/v10"


def start_hanging(args: list[str], env: dict[str, str], log_path) -> tuple[subprocess.Popen, object]:
    out = open(log_path, "w+", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    server = subprocess.Popen([str(MAIDCORE), *args], env=env, cwd=ROOT, stderr=out, text=True)
    return server, out


def stop_and_read(server: subprocess.Popen, out) -> str:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)  # a hang shows as TimeoutExpired, not as a slow pass
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        out.seek(0)
        text = out.read()
        out.close()
    return text


def hanging_env(tmp_path, api_base: str, **extra: str) -> dict[str, str]:
    return environment(
        tmp_path / "data",
        MAIDCORE_DISCORD__TOKEN="silent-discord-token",
        MAIDCORE_DISCORD__API_BASE=api_base,
        **extra,
    )


def test_sigterm_while_discord_never_answers_stops_serve_promptly(tmp_path, silent_discord):
    env = hanging_env(tmp_path, silent_discord, MAIDCORE_STORAGE__DATABASE_URL=f"sqlite:///{tmp_path}/m.db")
    log_path = tmp_path / "serve.log"
    server, out = start_hanging(["serve", "--sandbox", "process", "--unsafe-no-isolation", "--no-web"], env, log_path)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(lambda: server.poll() is None and server.kill())
        # start-up reached the event source, which now waits on a Discord that never answers
        wait_for(lambda: "layer built" in log_path.read_text() and "event_source" in log_path.read_text(), 60, "")
        assert server.poll() is None, log_path.read_text()[-3000:]
        stderr = stop_and_read(server, out)
    assert server.returncode == 0, stderr[-3000:]
    assert "stopping during start-up (signal received)" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "data" / "serve.json").exists()


@pytest.mark.slow
def test_sigterm_to_the_processes_parent_while_children_hang_in_start_up(tmp_path, silent_discord, pg_fresh_url):
    env = hanging_env(tmp_path, silent_discord, MAIDCORE_STORAGE__DATABASE_URL=pg_fresh_url)
    env["MAIDCORE_DISCORD__SHARD_COUNT"] = "2"
    log_path = tmp_path / "serve.log"
    args = ["serve", "--processes", "2", "--sandbox", "process", "--unsafe-no-isolation", "--no-web"]
    server, out = start_hanging(args, env, log_path)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(lambda: server.poll() is None and server.kill())

        def both_children_waiting_on_discord() -> bool:
            text = log_path.read_text()
            return text.count("implementation=discord") >= 2

        wait_for(both_children_waiting_on_discord, 90, "both children building their event source")
        stderr = stop_and_read(server, out)
    assert server.returncode == 0, stderr[-3000:]
    assert stderr.count("stopping during start-up (signal received)") == 2, stderr[-3000:]
    assert "did not stop in time" not in stderr  # the parent never had to SIGKILL a child
    assert "Traceback" not in stderr
    assert not (tmp_path / "data" / "serve.json").exists()
