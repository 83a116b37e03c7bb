"""Start, talk, stop, kill, remove: containers are always removed and every ending is explained."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from maidcore_docker.backend import DockerBackend
from maidcore_docker.settings import DockerSettings

from maidcore.layers.sandbox import LineTooLong, SandboxUnavailable, WorkerSpec
from tests.extensions.maidcore_docker.support import containers_of, running_backend, write_bundle

pytestmark = [pytest.mark.docker]

ECHO = """
import sys
for line in sys.stdin:
    sys.stdout.write(line); sys.stdout.flush()
sys.stderr.write("stdin closed, bye\\n")
"""

IGNORES_EOF = """
import sys, time
sys.stdout.write("up\\n"); sys.stdout.flush()
sys.stdin.read()
while True:
    time.sleep(60)
"""


def spec(bundle, name, plugin="lifecycle"):
    return WorkerSpec(plugin, "1.0.0", bundle, f"maidcore-test-{name}-{os.getpid()}")


async def test_round_trip_then_eof_ends_it_cleanly_and_removes_it(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "echo", ECHO)
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(spec(bundle, "echo"))
        for n in range(50):
            await worker.write(b'{"n": %d}\n' % n)
            assert json.loads(await worker.readline()) == {"n": n}
        status = await worker.stop(grace=5)
        assert status.exit_code == 0
        assert status.reason == "exited normally (exit code 0)"
        assert await worker.stderr_lines() == b"stdin closed, bye\n"
        assert await worker.readline() == b""
        with pytest.raises(BrokenPipeError):
            await worker.write(b"{}\n")
        assert containers_of(docker_client, backend) == []


async def test_crash_is_reported_and_removed_without_stop(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "crash", "import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n")
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(spec(bundle, "crash"))
        status = await asyncio.wait_for(worker.wait(), 30)
        assert status.exit_code == 3
        assert status.reason == "exit code 3"
        assert await worker.stderr_lines() == b"boom\n"
        assert containers_of(docker_client, backend) == []
        assert worker not in backend.workers


async def test_timeout_kills_after_grace_and_removes(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "stuck", IGNORES_EOF)
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(spec(bundle, "stuck"))
        assert await worker.readline() == b"up\n"
        status = await worker.stop(grace=0.5)
        assert status.signal == 9
        assert status.reason == "did not stop within 0.5 s; killed by SIGKILL"
        assert containers_of(docker_client, backend) == []


async def test_kill_now_reports_sigkill(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "stuck", IGNORES_EOF)
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(spec(bundle, "killed"))
        assert await worker.readline() == b"up\n"
        status = await worker.kill()
        assert (status.exit_code, status.signal) == (137, 9)
        assert "SIGKILL" in status.reason
        assert containers_of(docker_client, backend) == []


async def test_oom_kill_is_detected(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(
        tmp_path / "hog",
        """
        import sys
        sys.stdout.write("up\\n"); sys.stdout.flush()
        hoard = []
        while True:
            hoard.append(bytearray(8 * 1024 * 1024))
        """,
    )
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(spec(bundle, "hog"))
        status = await asyncio.wait_for(worker.wait(), 60)
        assert status.oom_killed is True
        assert status.reason == "OOM-killed (over the 64m memory limit)"
        assert containers_of(docker_client, backend) == []


async def test_overlong_stdout_line_is_a_protocol_violation(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(
        tmp_path / "long",
        """
        import sys, time
        sys.stdout.write("x" * (3 * 1024 * 1024) + "\\n"); sys.stdout.flush()
        time.sleep(600)
        """,
    )
    async with running_backend(tmp_path / "data", docker_client) as backend:
        backend.max_line = 1024 * 1024
        worker = await backend.spawn(spec(bundle, "long"))
        with pytest.raises(LineTooLong):
            await worker.readline()
        status = await worker.stop(grace=0.2)
        assert status.reason.startswith("protocol violation: stdout line of over 1048576 bytes")
        assert containers_of(docker_client, backend) == []


async def test_stderr_flood_is_bounded_and_reported(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(
        tmp_path / "noisy",
        """
        import sys
        for _ in range(8 * 1024):
            sys.stderr.write("y" * 1023 + "\\n")
        sys.stderr.flush()
        sys.stdout.write("done\\n"); sys.stdout.flush()
        sys.stdin.read()
        """,
    )
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(spec(bundle, "noisy"))
        assert await asyncio.wait_for(worker.readline(), 30) == b"done\n"
        await worker.stop(grace=5)
        lines = []
        while line := await worker.stderr_lines():
            lines.append(line)
        assert sum(map(len, lines[:-1])) <= 1024 * 1024 + 16 * 1024
        assert lines[-1].startswith(b"[maidcore: ") and b"bytes of stderr dropped" in lines[-1]


async def test_startup_sweeps_what_a_crashed_maidcore_left(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "stuck", IGNORES_EOF)
    data_dir = tmp_path / "data"
    script = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from pathlib import Path
        from maidcore.layers.sandbox import WorkerSpec
        from maidcore_docker.settings import DockerSettings
        from maidcore_docker.backend import DockerBackend

        async def main():
            backend = DockerBackend(DockerSettings(warm_pool_size=1), data_dir=Path({str(data_dir)!r}))
            await backend.start()
            for n in range(2):
                name = f"maidcore-test-leftover-{{os.getpid()}}-{{n}}"
                spec = WorkerSpec("leftover", "1.0.0", Path({str(bundle)!r}), name)
                worker = await backend.spawn(spec)
                await worker.readline()
            await backend.prewarm(spec)
            print("spawned", flush=True)
            os._exit(9)  # maidcore dies without closing anything

        asyncio.run(main())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "spawned" in result.stdout, result.stderr
    return_code = result.returncode
    assert return_code == 9
    backend = DockerBackend(DockerSettings(), data_dir=data_dir, client=docker_client)
    left = containers_of(docker_client, backend)
    assert len(left) >= 3  # two workers (they ignore EOF and keep running) and a spare
    await backend.start()
    try:
        assert backend.swept == len(left)
        assert containers_of(docker_client, backend) == []
    finally:
        await backend.close()


async def test_sweep_leaves_other_nodes_alone(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "echo", ECHO)
    async with running_backend(tmp_path / "a", docker_client) as first:
        worker = await first.spawn(spec(bundle, "other-node"))
        second = DockerBackend(DockerSettings(), data_dir=tmp_path / "b", client=docker_client)
        await second.start()
        await second.close()
        assert second.swept == 0
        await worker.write(b"still here\n")
        assert await worker.readline() == b"still here\n"


async def test_unreachable_engine_raises_sandbox_unavailable_saying_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    backend = DockerBackend(DockerSettings(spawn_timeout_seconds=2), data_dir=tmp_path)
    with pytest.raises(SandboxUnavailable) as caught:
        await backend.start()
    message = str(caught.value)
    assert "Docker engine is not reachable" in message
    assert "systemctl start docker" in message and "DOCKER_HOST" in message


async def test_missing_image_raises_sandbox_unavailable_naming_the_build_command(tmp_path, docker_client):
    backend = DockerBackend(
        DockerSettings(image="maidcore-sandbox:no-such-tag"), data_dir=tmp_path, client=docker_client
    )
    with pytest.raises(SandboxUnavailable, match="maidcore sandbox build-image"):
        await backend.start()


async def test_bundle_without_main_is_refused_before_any_container(tmp_path, docker_client, runtime_image):
    (tmp_path / "empty").mkdir()
    async with running_backend(tmp_path / "data", docker_client) as backend:
        with pytest.raises(FileNotFoundError, match=r"no __main__\.py"):
            await backend.spawn(spec(tmp_path / "empty", "empty"))
        assert containers_of(docker_client, backend) == []


async def test_close_stops_and_removes_every_worker(tmp_path, docker_client, runtime_image):
    echo = write_bundle(tmp_path / "echo", ECHO)
    stuck = write_bundle(tmp_path / "stuck", IGNORES_EOF)
    backend = DockerBackend(
        DockerSettings(warm_pool_size=1, stop_timeout_seconds=0.5), data_dir=tmp_path / "data", client=docker_client
    )
    await backend.start()
    workers = [await backend.spawn(spec(echo, "close-a")), await backend.spawn(spec(stuck, "close-b", "stuckp"))]
    await asyncio.sleep(0.5)
    assert len(containers_of(docker_client, backend)) >= 2
    await backend.close()
    assert all(w.ended for w in workers)
    assert containers_of(docker_client, backend) == []
    assert backend.isolates() is True


async def test_cli_sweep_removes_this_nodes_containers(tmp_path, docker_client, runtime_image):
    from click.testing import CliRunner

    from maidcore.cli import make_cli
    from maidcore.extensions import Extensions

    bundle = write_bundle(tmp_path / "stuck", IGNORES_EOF)
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(spec(bundle, "swept"))
        assert await worker.readline() == b"up\n"
        cli = make_cli(Extensions.load())
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["--data-dir", str(tmp_path / "data"), "sandbox", "sweep", "--all"]
        )
        assert result.exit_code == 0, result.output
        assert f"removed 1 container(s) of node {backend.node}" in result.output
        status = await asyncio.wait_for(worker.wait(), 30)
        assert status.signal == 9
        assert containers_of(docker_client, backend) == []


async def test_death_by_signal_is_named(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "segv", "import ctypes\nctypes.string_at(0)\n")
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(spec(bundle, "segv"))
        status = await asyncio.wait_for(worker.wait(), 30)
        assert (status.exit_code, status.signal) == (139, 11)
        assert status.reason == "killed by SIGSEGV"
        assert containers_of(docker_client, backend) == []


async def test_sweep_spares_containers_of_a_maidcore_that_still_runs(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "echo", ECHO)
    async with running_backend(tmp_path / "data", docker_client) as running:
        worker = await running.spawn(spec(bundle, "live-owner"))
        # a second maidcore on the same data directory (another command, another process) starts up
        other = DockerBackend(DockerSettings(), data_dir=tmp_path / "data", client=docker_client)
        other.owner = "elsewhere/1/1"
        assert await asyncio.to_thread(other.sweep) == 0
        await worker.write(b"alive\n")
        assert await worker.readline() == b"alive\n"
        assert await asyncio.to_thread(other.sweep, include_live=True) == 1
        assert (await asyncio.wait_for(worker.wait(), 30)).signal == 9


def test_owner_tokens_tell_live_processes_from_dead_and_reused_pids():
    from maidcore_docker.containers import owner_alive, owner_token

    mine = owner_token()
    assert owner_alive(mine)
    host, pid, started = mine.split("/")
    assert not owner_alive(f"{host}/{pid}/{int(started) + 1}")  # same pid, another process
    assert not owner_alive(f"{host}/999999999/1")
    assert not owner_alive(None) and not owner_alive("garbage")
    assert owner_alive("another-host/1/1")  # cannot check another host's processes: leave them alone


async def test_cli_sweep_any_node_removes_orphans_only(tmp_path, docker_client, runtime_image):
    from click.testing import CliRunner

    from maidcore.cli import make_cli
    from maidcore.extensions import Extensions

    bundle = write_bundle(tmp_path / "stuck", IGNORES_EOF)
    async with running_backend(tmp_path / "live", docker_client) as live:
        alive = await live.spawn(spec(bundle, "orphan-live"))
        orphaned = DockerBackend(DockerSettings(warm_pool_size=0), data_dir=tmp_path / "dead", client=docker_client)
        orphaned.owner = f"{socket.gethostname()}/999999999/1"  # as if made by a maidcore that crashed here
        await orphaned.start()
        orphan = await orphaned.spawn(spec(bundle, "orphan-dead"))
        cli = make_cli(Extensions.load())
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["sandbox", "sweep", "--any-node"])
        assert result.exit_code == 0, result.output
        assert (await asyncio.wait_for(orphan.wait(), 30)).signal == 9
        assert containers_of(docker_client, orphaned) == []
        assert len(containers_of(docker_client, live)) == 1 and not alive.ended
        await orphaned.close()
