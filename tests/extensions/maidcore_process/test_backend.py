"""The ``process`` sandbox backend: what a worker process gets, how it is stopped, its limits."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from maidcore_process import ProcessBackend
from maidcore_process.backend import requirement_name
from maidcore_process.settings import ProcessSettings

from maidcore.layers import DependencyInstallError, LineTooLong, SandboxUnavailable, WorkerSpec


def bundle(tmp_path: Path, code: str) -> Path:
    path = tmp_path / "bundle"
    path.mkdir(exist_ok=True)
    (path / "__main__.py").write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def spec(path: Path, site_dir: Path | None = None) -> WorkerSpec:
    return WorkerSpec(
        plugin_id="probe", version="1.0.0", bundle_dir=path, name="maidcore-probe-test", site_dir=site_dir
    )


async def test_a_worker_runs_in_its_bundle_with_an_empty_environment_and_limits(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIDCORE_SECRET_TOKEN", "must-not-leak")
    site = tmp_path / "site"
    site.mkdir()
    code = """
    import json, os, resource, sys
    print(json.dumps({
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "site_on_path": any(p.endswith("/site") for p in sys.path),
        "own_group": os.getpgid(0) == os.getpid(),
        "as": resource.getrlimit(resource.RLIMIT_AS)[0],
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
        "name": __name__,
    }), flush=True)
    """
    backend = ProcessBackend(ProcessSettings(memory_bytes=512 * 1024 * 1024, max_open_files=64, cpu_seconds=30))
    await backend.start()
    worker = await backend.spawn(spec(bundle(tmp_path, code), site))
    report = json.loads(await worker.readline())
    status = await worker.wait()
    await worker.stop()
    assert status.exit_code == 0 and status.reason == "exit code 0"
    assert set(report["env"]) <= {"PYTHONUTF8", "MALLOC_ARENA_MAX", "PYTHONPATH", "LC_CTYPE"}
    assert report["cwd"] == str(tmp_path / "bundle") and report["path0"] == str(tmp_path / "bundle")
    assert report["site_on_path"] and report["own_group"] and report["name"] == "__main__"
    assert (report["as"], report["nofile"], report["cpu"]) == (512 * 1024 * 1024, 64, 30)
    assert backend.isolates() is False


async def test_stop_ends_the_whole_process_group(tmp_path):
    code = """
    import os, sys, time
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    time.sleep(60)
    """
    backend = ProcessBackend()
    worker = await backend.spawn(spec(bundle(tmp_path, code)))
    child = int(await worker.readline())
    status = await worker.stop(grace=0.5)
    assert status.signal is not None and status.reason.startswith("killed by SIG")
    await asyncio.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        for _ in range(20):  # the child may linger a moment as a zombie of init
            os.kill(child, 0)
            await asyncio.sleep(0.1)
            if Path(f"/proc/{child}/status").read_text().find("State:\tZ") >= 0:
                raise ProcessLookupError


async def test_lines_over_the_limit_raise_line_too_long(tmp_path):
    code = """
    import sys
    sys.stdout.write("a" * 1000 + "\\n")
    sys.stdout.write("b" * 5000 + "\\n")
    sys.stdout.flush()
    """
    backend = ProcessBackend(max_line_bytes=1000)
    worker = await backend.spawn(spec(bundle(tmp_path, code)))
    assert len(await worker.readline()) == 1001
    with pytest.raises(LineTooLong, match="over 1000 bytes"):
        await worker.readline()
    await worker.stop()


async def test_stdin_stderr_and_exit_codes(tmp_path):
    code = """
    import sys
    line = sys.stdin.readline()
    print("got " + line.strip(), file=sys.stderr, flush=True)
    sys.exit(3)
    """
    backend = ProcessBackend()
    worker = await backend.spawn(spec(bundle(tmp_path, code)))
    await worker.write(b"hello\n")
    assert await worker.stderr_lines() == b"got hello\n"
    status = await worker.wait()
    assert (status.exit_code, status.reason) == (3, "exit code 3")
    assert await worker.readline() == b""
    await worker.stop()
    with pytest.raises(BrokenPipeError):
        await worker.write(b"more\n")


async def test_close_stops_every_worker(tmp_path):
    backend = ProcessBackend()
    workers = [await backend.spawn(spec(bundle(tmp_path, "import time\ntime.sleep(60)\n"))) for _ in range(2)]
    await backend.close()
    for worker in workers:
        assert (await worker.wait()).signal is not None


async def test_a_missing_interpreter_makes_the_backend_unavailable():
    backend = ProcessBackend(ProcessSettings(python="/nowhere/python3"))
    with pytest.raises(SandboxUnavailable, match="/nowhere/python3"):
        await backend.start()


async def test_a_bundle_without_main_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no __main__\.py"):
        await ProcessBackend().spawn(spec(tmp_path))


async def test_prepare_version_skips_the_sdk_and_reports_pip_errors(tmp_path):
    backend = ProcessBackend(ProcessSettings(python=sys.executable))
    site = tmp_path / "site"
    await backend.prepare_version(tmp_path, site, ["# comment", "mmo-maid-sdk>=0.5.5,<0.6", "MMO_Maid.SDK"])
    assert site.is_dir() and list(site.iterdir()) == []
    with pytest.raises(DependencyInstallError, match=r"'\./no-such-dir' is not a PEP 508 requirement"):
        await backend.prepare_version(tmp_path, site, ["./no-such-dir"])
    with pytest.raises(DependencyInstallError, match="pip could not install"):
        await backend.prepare_version(tmp_path, site, ["requests>=2; python_version < '1'", "pkg[extra===1"])


def test_requirement_names_are_normalised():
    assert requirement_name("Requests[socks]>=2 ; python_version>'3'") == "requests"
    assert requirement_name("mmo_maid.sdk==0.5.5") == "mmo-maid-sdk"
    assert requirement_name("   # only a comment") is None


def test_the_extension_registers_the_process_backend():
    from maidcore.extensions import Extensions

    backends = Extensions.load().sandbox_backends()
    assert "process" in backends
