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
from maidcore_process.settings import ProcessSettings

from maidcore.layers import DependencyInstallError, LineTooLong, SandboxUnavailable, WorkerSpec
from tests.package_index import make_sdist, make_wheel, serve_index


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


async def test_prepare_version_skips_the_sdk_and_refuses_what_review_refuses(tmp_path):
    backend = ProcessBackend(ProcessSettings(python=sys.executable))
    site = tmp_path / "site"
    await backend.prepare_version(
        tmp_path, site, ["# comment", "mmo-maid-sdk>=0.5.5,<0.6", "MMO_Maid.SDK", "yourbot-sdk"]
    )
    assert site.is_dir() and list(site.iterdir()) == []
    with pytest.raises(DependencyInstallError, match=r"'\./no-such-dir' is a local path"):
        await backend.prepare_version(tmp_path, site, ["./no-such-dir"])
    with pytest.raises(DependencyInstallError, match=r"'pkg @ file:///tmp/x' is a direct reference"):
        await backend.prepare_version(tmp_path, site, ["pkg @ file:///tmp/x"])
    with pytest.raises(DependencyInstallError, match=r"is an option line"):
        await backend.prepare_version(tmp_path, site, ["--extra-index-url=http://evil.example/simple"])


SETUP_WITH_MARKER = """
import os
from setuptools import setup
open({marker!r}, "w").write(repr(dict(os.environ)))
setup(name="sourceonly", version="1.0", py_modules=[])
"""


async def test_dependencies_are_wheels_only_and_no_build_code_runs_on_the_host(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIDCORE_STORAGE__SECRETS_KEY", "host-secret-key")
    marker = tmp_path / "setup-py-ran"
    async with serve_index() as index:
        index.add("wheelpkg", make_wheel(tmp_path, "wheelpkg", "1.0", {"wheelpkg.py": "VALUE = 7\n"}))
        index.add(
            "sourceonly",
            make_sdist(tmp_path, "sourceonly", "1.0", {"setup.py": SETUP_WITH_MARKER.format(marker=str(marker))}),
        )
        backend = ProcessBackend(ProcessSettings(python=sys.executable, index_url=index.url))
        site = tmp_path / "site"
        await backend.prepare_version(tmp_path, site, ["wheelpkg==1.0"])
        assert (site / "wheelpkg.py").read_text() == "VALUE = 7\n"
        with pytest.raises(DependencyInstallError) as caught:
            await backend.prepare_version(tmp_path, tmp_path / "site2", ["wheelpkg", "sourceonly==1.0"])
        with pytest.raises(DependencyInstallError, match=r"there is no package 'nosuchpkg'"):
            await backend.prepare_version(tmp_path, tmp_path / "site3", ["nosuchpkg"])
    message = str(caught.value)
    assert "sourceonly has no wheel" in message and "sourceonly-1.0.tar.gz" in message
    assert "use the docker backend" in message
    assert not marker.exists()  # the sdist's setup.py never ran on the host


async def test_a_setsid_double_forked_grandchild_dies_with_the_worker(tmp_path):
    code = """
    import os, sys, time
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()  # leave the worker's session and group
        if os.fork() == 0:
            os.write(write, str(os.getpid()).encode() + b"\\n")
            while True:
                time.sleep(1)
        os._exit(0)  # the grandchild is an orphan now
    os.wait()
    print(os.read(read, 64).decode().strip(), flush=True)
    sys.stdin.readline()  # until the host closes stdin
    """
    backend = ProcessBackend()
    worker = await backend.spawn(spec(bundle(tmp_path, code)))
    grandchild = int(await worker.readline())
    assert alive(grandchild)
    assert os.getsid(grandchild) != os.getsid(worker.pid)  # out of every group the host could signal
    status = await worker.stop(grace=2.0)
    assert status.reason in ("exit code 0", "killed by SIGTERM")  # EOF, then SIGTERM: the plugin stopped politely
    assert not alive(grandchild)


async def test_backend_close_ends_descendants_that_ignore_sigterm(tmp_path):
    code = """
    import os, signal, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if os.fork() == 0:
            os.write(write, str(os.getpid()).encode() + b"\\n")
            while True:
                time.sleep(1)
        os._exit(0)
    print(os.read(read, 64).decode().strip(), flush=True)
    while True:
        time.sleep(1)  # ignores EOF and SIGTERM alike
    """
    backend = ProcessBackend()
    worker = await backend.spawn(spec(bundle(tmp_path, code)))
    grandchild = int(await worker.readline())
    await backend.close()
    status = await worker.wait()
    assert status.reason == "killed by SIGKILL"
    assert not alive(grandchild)


def alive(pid: int) -> bool:
    """Running (not a zombie waiting to be reaped)."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_the_extension_registers_the_process_backend():
    from maidcore.extensions import Extensions

    backends = Extensions.load().sandbox_backends()
    assert "process" in backends


def test_start_lifts_the_open_files_limit_so_hundreds_of_workers_fit():
    import resource

    from maidcore_process.backend import FDS_PER_WORKER, raise_open_files_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip(f"the hard open-files limit ({hard}) leaves nothing to lift")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # a low soft limit, as a default login gives 1,024
    try:
        workers = raise_open_files_limit()
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
        assert workers > 256 // FDS_PER_WORKER
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def pool_settled(backend: ProcessBackend) -> None:
    """Wait until no warm spare is starting (a refill holds a spawn turn while its interpreter boots)."""
    for _ in range(600):
        if not backend.pool.filling:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{backend.pool.filling} warm spares still starting after 30 s")


async def test_starts_wait_in_order_and_at_most_concurrent_spawns_boot_at_once(tmp_path):
    """Each worker notes when its interpreter began and finished booting (a slow import) before its first line."""
    journal = tmp_path / "journal.txt"
    code = f"""
    import sys, time
    with open({str(journal)!r}, "a") as f:
        f.write(f"begin {{sys.argv[0]}} {{time.monotonic()}}\\n")
    time.sleep(0.3)  # an SDK import
    with open({str(journal)!r}, "a") as f:
        f.write(f"end {{sys.argv[0]}} {{time.monotonic()}}\\n")
    print('{{"jsonrpc": "2.0", "method": "plugin.log", "params": {{}}}}', flush=True)
    sys.stdin.read()
    """
    bundles = []
    for n in range(6):
        path = tmp_path / f"b{n}"
        path.mkdir()
        (path / "__main__.py").write_text(textwrap.dedent(code).replace("sys.argv[0]", repr(str(n))), encoding="utf-8")
        bundles.append(path)
    backend = ProcessBackend(ProcessSettings(python=sys.executable, concurrent_spawns=2))
    await backend.start()
    workers = []

    async def start(n: int) -> None:
        worker = await backend.spawn(spec(bundles[n]))
        workers.append(worker)
        assert await worker.readline()  # booted: its turn goes to the next start

    try:
        await asyncio.wait_for(asyncio.gather(*(start(n) for n in range(6))), 60)
        events = sorted(
            (float(at), kind, int(n)) for kind, n, at in (line.split() for line in journal.read_text().splitlines())
        )
        booting, peak = 0, 0
        for _, kind, _ in events:
            booting += 1 if kind == "begin" else -1
            peak = max(peak, booting)
        assert peak == 2  # never more than concurrent_spawns interpreters booting, and the bound is used
        begun = [n for _, kind, n in events if kind == "begin"]
        assert [set(begun[i : i + 2]) for i in (0, 2, 4)] == [{0, 1}, {2, 3}, {4, 5}]  # first come, first started
        await pool_settled(backend)  # the warm pool's refills hold turns until their interpreters booted
        assert backend.spawns.running == 0 and backend.spawns.peak_running == 2
    finally:
        await backend.close()


async def test_a_silent_worker_gives_its_spawn_turn_up_after_spawn_hold_seconds(tmp_path):
    silent = bundle(tmp_path, "import sys\nsys.stdin.read()\n")
    backend = ProcessBackend(ProcessSettings(python=sys.executable, concurrent_spawns=1, spawn_hold_seconds=0.3))
    await backend.start()
    try:
        first = await backend.spawn(spec(silent))
        assert backend.spawns.running == 1
        second = await asyncio.wait_for(backend.spawn(spec(silent)), 10)  # waits for the first's hold to end
        assert backend.spawns.peak_waiting == 1
        await second.stop(grace=1.0)  # an ended worker frees its turn at once
        await first.stop(grace=1.0)
        await asyncio.sleep(0.35)
        await pool_settled(backend)
        assert backend.spawns.running == 0
    finally:
        await backend.close()
