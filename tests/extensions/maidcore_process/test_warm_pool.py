"""The process backend's warm pool: starts take booted spares that then run the plugin exactly as a cold start."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from pathlib import Path

from maidcore_process import ProcessBackend
from maidcore_process.settings import ProcessSettings

from maidcore.layers import WorkerSpec

REPORT = """
import json, os, resource, sys
import yourbot_sdk
with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
    parent = handle.read().split(b"\\0")
print(json.dumps({
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "path": sys.path,
    "argv": sys.argv,
    "file": __file__,
    "name": __name__,
    "main_is_this": sys.modules["__main__"].__dict__ is globals(),
    "own_group": os.getpgid(0) == os.getpid(),
    "own_session": os.getsid(0) == os.getpid(),
    "parent_is_reaper": any(part.endswith(b"reaper.py") for part in parent),
    "limits": [resource.getrlimit(r) for r in (resource.RLIMIT_AS, resource.RLIMIT_NOFILE, resource.RLIMIT_CPU)],
    "flags": [sys.flags.no_user_site, sys.flags.dont_write_bytecode, sys.flags.isolated],
    "backend_importable": any(p.endswith("maidcore_process") for p in sys.path),
    "future_annotations": "annotations" in globals(),
    "sdk": yourbot_sdk.__name__,
}), flush=True)
print(sys.stdin.readline().strip(), flush=True)
"""
LIMITS = {"memory_bytes": 512 * 1024 * 1024, "max_open_files": 64, "cpu_seconds": 30}


def write_bundle(root: Path, code: str, name: str = "bundle") -> Path:
    path = root / name
    path.mkdir(exist_ok=True)
    (path / "__main__.py").write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def spec(path: Path, site_dir: Path | None = None, name: str = "maidcore-probe-test") -> WorkerSpec:
    return WorkerSpec(plugin_id="probe", version="1.0.0", bundle_dir=path, name=name, site_dir=site_dir)


async def pool_ready(backend: ProcessBackend, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(backend.pool) < count or backend.pool.filling:
        assert time.monotonic() < deadline, f"warm pool never reached {count} spares ({len(backend.pool)})"
        await asyncio.sleep(0.02)


def started_at(pid: int) -> float:
    """When a process started, in ``CLOCK_BOOTTIME`` seconds (/proc counts it in clock ticks after boot)."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        ticks = int(handle.read().rsplit(b")", 1)[1].split()[19])
    return ticks / os.sysconf("SC_CLK_TCK")


def now() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


TICK = 0.011  # /proc's start times are truncated to 10 ms clock ticks


async def report_of(backend: ProcessBackend, worker_spec: WorkerSpec) -> tuple[dict, int, float, bool]:
    """What the plugin saw, its pid, when its process started, and whether the backend says it took a spare."""
    worker = await backend.spawn(worker_spec)
    started = started_at(worker.pid)
    try:
        report = json.loads(await asyncio.wait_for(worker.readline(), 30))
        await worker.write(b"echo after adoption\n")
        assert await asyncio.wait_for(worker.readline(), 10) == b"echo after adoption\n"  # stdin reaches the plugin
        status = await worker.wait()
        assert status.exit_code == 0, status
    finally:
        await worker.stop(grace=1.0)
    return report, worker.pid, started, worker.adopted


async def test_a_start_takes_a_spare_that_runs_the_plugin_exactly_as_a_cold_start(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIDCORE_SECRET_TOKEN", "must-not-leak")
    site = tmp_path / "site"
    site.mkdir()
    (site / "dependency.py").write_text("VALUE = 7\n", encoding="utf-8")
    code = REPORT.replace("import yourbot_sdk", "import yourbot_sdk, dependency\nassert dependency.VALUE == 7")
    plugin = write_bundle(tmp_path, "from __future__ import annotations\n" + code)
    cold = ProcessBackend(ProcessSettings(python=sys.executable, warm_pool_size=0, **LIMITS))
    warm = ProcessBackend(ProcessSettings(python=sys.executable, warm_pool_size=1, **LIMITS))
    await cold.start()
    await warm.start()
    try:
        await pool_ready(warm, 1)
        spares = warm.pool.pids
        event = now()
        from_pool, pid, started, adopted = await report_of(warm, spec(plugin, site))
        assert adopted and pid in spares and started < event - TICK  # the worker's process existed before the start
        assert warm.pool.hits == 1 and pid not in warm.pool.pids
        event = now()
        from_cold, _, started, adopted = await report_of(cold, spec(plugin, site))
        assert not adopted and started >= event - TICK and cold.pool.started == 0
    finally:
        await cold.close()
        await warm.close()
    assert from_pool == from_cold  # environment, cwd, sys.path, argv, limits, session, parent: all the same
    assert set(from_pool["env"]) <= {"PYTHONUTF8", "MALLOC_ARENA_MAX", "PYTHONPATH", "LC_CTYPE"}
    assert from_pool["env"]["PYTHONPATH"] == str(site)
    assert from_pool["cwd"] == str(plugin) and from_pool["path"][:2] == [str(plugin), str(site)]
    assert from_pool["limits"] == [[512 * 1024 * 1024] * 2, [64, 64], [30, 30]]
    assert from_pool["own_session"] and from_pool["parent_is_reaper"] and from_pool["main_is_this"]
    assert not from_pool["backend_importable"] and from_pool["name"] == "__main__"


async def test_the_pool_refills_and_a_spare_never_runs_a_second_plugin(tmp_path):
    waits = write_bundle(tmp_path, "import sys\nprint('up', flush=True)\nsys.stdin.read()\n")
    backend = ProcessBackend(ProcessSettings(python=sys.executable, warm_pool_size=2))
    await backend.start()
    try:
        await pool_ready(backend, 2)
        first_spares = set(backend.pool.pids)
        one = await backend.spawn(spec(waits, name="one"))
        assert one.pid in first_spares and one.pid not in backend.pool.pids
        assert await asyncio.wait_for(one.readline(), 10) == b"up\n"
        await pool_ready(backend, 2)  # refilled in the background
        assert backend.pool.started == 3 and one.pid not in backend.pool.pids
        await one.stop(grace=1.0)
        seen = {one.pid}
        for n in range(3):  # more starts than spares: each takes a spare no plugin ran in
            await pool_ready(backend, 2)
            worker = await backend.spawn(spec(waits, name=f"next-{n}"))
            assert worker.pid not in seen
            seen.add(worker.pid)
            assert await asyncio.wait_for(worker.readline(), 10) == b"up\n"
            await worker.stop(grace=1.0)
        assert backend.pool.hits == 4
    finally:
        await backend.close()
    assert len(backend.pool) == 0 and not backend._workers


async def test_pool_size_0_starts_no_spare_and_every_start_is_cold(tmp_path):
    waits = write_bundle(tmp_path, "import sys\nprint('up', flush=True)\nsys.stdin.read()\n")
    backend = ProcessBackend(ProcessSettings(python=sys.executable, warm_pool_size=0))
    await backend.start()
    try:
        await asyncio.sleep(0.3)
        event = now()
        worker = await backend.spawn(spec(waits))
        assert await asyncio.wait_for(worker.readline(), 10) == b"up\n"
        assert started_at(worker.pid) >= event - TICK
        assert backend.pool.started == 0 and len(backend.pool) == 0 and backend.pool.misses == 0
        await worker.stop(grace=1.0)
    finally:
        await backend.close()


async def test_spares_start_only_after_every_waiting_first_start(tmp_path):
    """One spawn slot: the pool's first spare has it; three first starts then queue ahead of the second spare."""
    waits = write_bundle(tmp_path, "import sys\nprint('up', flush=True)\nsys.stdin.read()\n")
    settings = ProcessSettings(python=sys.executable, warm_pool_size=2, warm_pool_max=2, concurrent_spawns=1)
    backend = ProcessBackend(settings)  # a fixed pool: the order of a growing one is the next test's
    execs: list[str] = []
    exec_ = backend._exec

    async def recording(command, **kwargs):
        execs.append("spare" if command[-1].endswith("spare.py") else "first")
        return await exec_(command, **kwargs)

    backend._exec = recording  # type: ignore[method-assign]
    await backend.start()  # two spares asked for: one takes the free slot, one waits

    async def start(n: int):
        worker = await backend.spawn(spec(waits, name=f"first-{n}"))
        assert await asyncio.wait_for(worker.readline(), 20) == b"up\n"  # booted: the slot goes on
        return worker

    try:
        workers = await asyncio.wait_for(asyncio.gather(*(start(n) for n in range(3))), 60)
        await pool_ready(backend, 2)
        assert execs == ["spare", "first", "first", "first", "spare"]
        assert backend.spawns.peak_running == 1 and backend.spawns.peak_waiting == 3
        for worker in workers:
            await worker.stop(grace=1.0)
    finally:
        await backend.close()


async def test_code_shadowing_a_module_the_spare_imported_starts_cold(tmp_path):
    """A bundle with its own ``json.py`` gets it in a cold start; a spare already holds the stdlib one."""
    plugin = write_bundle(tmp_path, "import json, sys\nprint(json.MINE, flush=True)\nsys.stdin.read()\n")
    (plugin / "json.py").write_text("MINE = 'own json'\n", encoding="utf-8")
    backend = ProcessBackend(ProcessSettings(python=sys.executable, warm_pool_size=1))
    await backend.start()
    try:
        await pool_ready(backend, 1)
        spares = backend.pool.pids
        worker = await backend.spawn(spec(plugin))
        assert worker.pid not in spares and backend.pool.pids == spares  # the spare stays for another plugin
        assert await asyncio.wait_for(worker.readline(), 10) == b"own json\n"
        assert backend.pool.misses == 1 and backend.pool.hits == 0
        await worker.stop(grace=1.0)
    finally:
        await backend.close()


async def test_a_plugin_error_in_a_spare_exits_1_with_its_own_traceback(tmp_path):
    plugin = write_bundle(tmp_path, "raise ValueError('broken plugin')\n")
    backend = ProcessBackend(ProcessSettings(python=sys.executable, warm_pool_size=1))
    await backend.start()
    try:
        await pool_ready(backend, 1)
        worker = await backend.spawn(spec(plugin))
        assert backend.pool.hits == 1
        status = await asyncio.wait_for(worker.wait(), 10)
        stderr = b""
        while line := await worker.stderr_lines():
            stderr += line
        assert status.exit_code == 1
        text = stderr.decode()
        assert "ValueError: broken plugin" in text and "__main__.py" in text and "spare.py" not in text
    finally:
        await backend.close()


def spare_processes() -> set[int]:
    """Warm spares alive under this process, read from /proc: reapers whose command line ends in ``spare.py``.

    (Adopted spares keep that command line: tests subtract the workers they started, and what other tests left.)
    """
    found = set()
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as handle:
        children = [int(pid) for pid in handle.read().split()]
    for pid in children:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state != b"Z" and any(part.endswith(b"spare.py") for part in argv):
            found.add(pid)
    return found


async def burst(backend: ProcessBackend, bundle: Path, count: int, tag: str) -> list:
    """``count`` starts at once, each booted (first line read); returns the workers."""

    async def start(n: int):
        worker = await backend.spawn(spec(bundle, name=f"{tag}-{n}"))
        assert await asyncio.wait_for(worker.readline(), 30) == b"up\n"
        return worker

    return await asyncio.wait_for(asyncio.gather(*(start(n) for n in range(count))), 90)


async def test_a_burst_grows_the_pool_to_the_ceiling_and_the_next_burst_is_served_from_spares(tmp_path):
    """Floor 1, ceiling 3: a burst of 4 takes the one spare and starts 3 cold; the pool grows to 3, the next 3 adopt."""
    waits = write_bundle(tmp_path, "import sys\nprint('up', flush=True)\nsys.stdin.read()\n")
    settings = ProcessSettings(python=sys.executable, warm_pool_size=1, warm_pool_max=3, warm_pool_idle_reap_seconds=60)
    backend = ProcessBackend(settings)
    others = spare_processes()
    await backend.start()
    try:
        await pool_ready(backend, 1)
        first = await burst(backend, waits, 4, "first")
        assert sorted(w.adopted for w in first) == [False, False, False, True]
        assert backend.pool.size == 3 and backend.pool.sizing.grown >= 1
        await pool_ready(backend, 3)
        assert len(backend.pool) == 3 and set(backend.pool.pids) == spare_processes() - others - {w.pid for w in first}
        second = await burst(backend, waits, 3, "second")
        assert [w.adopted for w in second] == [True, True, True]  # every start of the same burst size took a spare
        assert backend.pool.size == 3  # hits do not grow it further
        for worker in first + second:
            await worker.stop(grace=1.0)
    finally:
        await backend.close()
    assert not spare_processes() - others


async def test_unused_spares_are_reaped_back_to_the_floor(tmp_path):
    waits = write_bundle(tmp_path, "import sys\nprint('up', flush=True)\nsys.stdin.read()\n")
    settings = ProcessSettings(python=sys.executable, warm_pool_size=1, warm_pool_max=4, warm_pool_idle_reap_seconds=4)
    backend = ProcessBackend(settings)
    others = spare_processes()
    await backend.start()
    try:
        await pool_ready(backend, 1)
        workers = await burst(backend, waits, 3, "burst")
        for worker in workers:
            await worker.stop(grace=1.0)
        assert backend.pool.size == 3
        await pool_ready(backend, 3)
        grown = set(backend.pool.pids)
        assert grown <= spare_processes() and len(grown) == 3
        deadline = time.monotonic() + 30
        while backend.pool.size > 1 or len(backend.pool) > 1 or backend.pool._stopping:
            assert time.monotonic() < deadline, f"pool never went back to its floor ({len(backend.pool)})"
            await asyncio.sleep(0.05)
        assert backend.pool.sizing.shrunk == 1 and backend.pool.pids[0] in grown
        assert spare_processes() - others == set(backend.pool.pids)  # the two above the floor are gone from /proc
    finally:
        await backend.close()


async def test_a_growing_pool_still_starts_its_spares_after_every_waiting_first_start(tmp_path):
    """One spawn slot, floor 1, ceiling 4: five first starts grow the pool, yet every spare exec waits behind them."""
    waits = write_bundle(tmp_path, "import sys\nprint('up', flush=True)\nsys.stdin.read()\n")
    settings = ProcessSettings(python=sys.executable, warm_pool_size=1, warm_pool_max=4, concurrent_spawns=1)
    backend = ProcessBackend(settings)
    execs: list[str] = []
    exec_ = backend._exec

    async def recording(command, **kwargs):
        execs.append("spare" if command[-1].endswith("spare.py") else "first")
        return await exec_(command, **kwargs)

    backend._exec = recording  # type: ignore[method-assign]
    await backend.start()
    try:
        await pool_ready(backend, 1)
        workers = await burst(backend, waits, 5, "first")  # one takes the spare, four start cold
        await pool_ready(backend, 4)
        assert execs == ["spare"] + ["first"] * 4 + ["spare"] * 4
        assert backend.spawns.peak_running == 1
        for worker in workers:
            await worker.stop(grace=1.0)
    finally:
        await backend.close()
