r"""Plugin workers as plain subprocesses: for development, tests and ``maidcore replay``.

A worker is ``<python> -s -B __main__.py`` run in the bundle directory (so
``sys.path[0]`` and the working directory are the bundle root, as the SDK
contract §1 asks), with an empty environment, its own session and resource
limits, under a reaper (``reaper.py``) that makes every process the plugin starts
die with it, even one that ``setsid()``\ s and double-forks. It does not isolate
the plugin from the network or the filesystem: ``isolates()`` says so.

Starts go through a ``SpawnQueue`` (``concurrent_spawns`` at a time, the rest wait in
order): a start holds its turn from ``exec`` until the worker's first stdout line (its
interpreter booted and imported the SDK: the costly part), its end, or
``spawn_hold_seconds``, whichever comes first.

With ``warm_pool_size`` above 0 a start takes a warm spare instead (``pool.py``): an
interpreter that booted under the same reaper, limits and environment and is told
which bundle to run, so waking an idle plugin pays no interpreter start. Spares start
only when no first start waits. The pool grows with demand up to ``warm_pool_max`` and
shrinks back after ``warm_pool_idle_reap_seconds`` without a spare taken
(``maidcore.layers.poolsize``); ``ProcessWorker.adopted`` says whether a start took a spare.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from maidcore.layers.poolsize import PoolSize
from maidcore.layers.sandbox import ExitStatus, LineTooLong, SandboxUnavailable, WorkerSpec
from maidcore.layers.spawnqueue import SpawnQueue, Turn
from maidcore_process.pool import Spare, SparePool, adoption, stop_spare
from maidcore_process.settings import ProcessSettings
from maidcore_process.wheels import install_wheels

log = logging.getLogger("maidcore.process")

REAPER = Path(__file__).with_name("reaper.py")
SPARE = Path(__file__).with_name("spare.py")
SPARE_BOOT_TIMEOUT = 60.0  # a spare silent this long after its exec is broken: it is killed, not pooled


def exit_status(returncode: int) -> ExitStatus:
    """Turn a ``Popen.returncode`` into an ``ExitStatus`` with a human reason."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return ExitStatus(exit_code=None, signal=-returncode, reason=f"killed by {name}")
    return ExitStatus(exit_code=returncode, reason=f"exit code {returncode}")


class ProcessWorker:
    """One running plugin process, seen as a byte stream."""

    def __init__(
        self, name: str, proc: asyncio.subprocess.Process, max_line_bytes: int, starting: Turn | None = None
    ) -> None:
        self.name = name
        self.pid = proc.pid
        self._proc = proc
        self._max_line = max_line_bytes
        self._status: ExitStatus | None = None
        self._on_stop: Callable[[ProcessWorker], None] | None = None
        self.starting = starting  # its turn in the spawn queue, released once it booted (first stdout line) or ended
        self.adopted = False  # True when this worker is a warm spare told to run the plugin, False for a cold start

    def started(self) -> None:
        """Its start is over: give its place in the spawn queue to the next one."""
        if self.starting is not None:
            self.starting.release()

    async def readline(self) -> bytes:
        assert self._proc.stdout is not None
        try:
            return await self._proc.stdout.readline()
        except ValueError as exc:  # asyncio's limit overrun: the line is discarded
            raise LineTooLong(f"worker {self.name} wrote a stdout line over {self._max_line} bytes") from exc
        finally:
            self.started()

    async def write(self, data: bytes) -> None:
        stdin = self._proc.stdin
        if stdin is None or stdin.is_closing():
            raise BrokenPipeError(f"worker {self.name} stdin is closed")
        try:
            stdin.write(data)
            await stdin.drain()
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise BrokenPipeError(f"worker {self.name} is gone") from exc

    def write_nowait(self, data: bytes) -> bool:
        stdin = self._proc.stdin
        if stdin is None or stdin.is_closing() or stdin.transport.get_write_buffer_size():
            return False
        stdin.write(data)  # the pipe transport never raises here: a broken pipe closes it for the next ``write``
        return True

    async def close_stdin(self) -> None:
        stdin = self._proc.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                await stdin.wait_closed()

    async def stderr_lines(self) -> bytes:
        assert self._proc.stderr is not None
        try:
            return await self._proc.stderr.readline()
        except ValueError:
            return b"[stderr line over the limit, dropped]\n"

    async def wait(self) -> ExitStatus:
        if self._status is None:
            self._status = exit_status(await self._proc.wait())
            self.started()
        return self._status

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, sig)

    async def _ended_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self._proc.wait()), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def stop(self, grace: float = 5.0) -> ExitStatus:
        """EOF on stdin, SIGTERM, SIGKILL after ``grace`` s; returns once every process the plugin started is gone.

        The signals go to the reaper, which relays them and kills the plugin's remaining descendants before it
        exits; SIGKILL to the reaper itself is the last resort (the plugin dies with it, by ``PDEATHSIG``).
        """
        if self._proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.close_stdin(), timeout=1.0)
            self._signal(signal.SIGTERM)
            if not await self._ended_within(grace):
                self._signal(signal.SIGUSR1)  # the reaper SIGKILLs the plugin, then its descendants
                if not await self._ended_within(5.0):
                    log.warning("reaper of %s did not end; killing it", self.name)
                    self._signal(signal.SIGKILL)
        status = await self.wait()
        self.started()
        if self._on_stop is not None:
            self._on_stop(self)
        return status


FDS_PER_WORKER = 3  # stdin, stdout and stderr pipes held by the host for each worker


def raise_open_files_limit() -> int:
    """Lift this process's soft ``RLIMIT_NOFILE`` to its hard limit; returns the workers it now allows.

    Each worker holds three pipes in the host, so the usual soft limit of 1,024 would refuse
    new workers past about 330 plugins ("Too many open files"); the hard limit is usually far above.
    Workers keep their own limit: the reaper sets ``max_open_files`` for the plugin.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft // FDS_PER_WORKER if soft != resource.RLIM_INFINITY else 1 << 30


class ProcessBackend:
    """``SandboxBackend`` running each worker as a subprocess of the host."""

    name = "process"

    def __init__(self, settings: ProcessSettings | None = None, *, max_line_bytes: int = 1024 * 1024) -> None:
        self.settings = settings or ProcessSettings()
        self.max_line_bytes = max_line_bytes
        self._workers: dict[int, ProcessWorker] = {}  # by pid
        self.spawns = SpawnQueue(self.settings.concurrent_spawns)
        sizing = PoolSize(
            self.settings.warm_pool_size, self.settings.warm_pool_max, self.settings.warm_pool_idle_reap_seconds
        )
        self.pool = SparePool(sizing, self._launch_spare)

    @property
    def python(self) -> str:
        """The interpreter plugin workers run with, as an absolute path (workers start in their bundle dir).

        Not ``resolve()``d: a virtualenv's ``bin/python`` is a symlink whose location selects the venv.
        """
        python = self.settings.python or sys.executable
        if os.sep in python:
            return os.path.abspath(python)
        return shutil.which(python) or python

    async def start(self) -> None:
        python = self.python
        if not (Path(python).is_file() and os.access(python, os.X_OK)) and shutil.which(python) is None:
            raise SandboxUnavailable(
                f"process backend: interpreter {python!r} does not exist or is not executable; "
                "set MAIDCORE_PROCESS__PYTHON (or --python) to a Python 3.10+ interpreter"
            )
        workers = raise_open_files_limit()
        if workers < 2000:
            log.warning(
                "process backend: the open-files limit (ulimit -n) allows about %d workers; "
                "raise the hard limit (e.g. LimitNOFILE= in the systemd unit) to host more plugins",
                workers,
            )
        self.pool.start()

    def isolates(self) -> bool:
        return False

    def environment(self, spec: WorkerSpec) -> dict[str, str]:
        """The whole environment a worker gets: nothing from the host, only what Python needs."""
        env = self.base_environment()
        if spec.site_dir is not None:
            env["PYTHONPATH"] = str(spec.site_dir)
        return env

    @staticmethod
    def base_environment() -> dict[str, str]:
        """What every worker's environment holds whatever its plugin: all a warm spare starts with."""
        # MALLOC_ARENA_MAX keeps glibc from reserving 64 MB of address space per thread under RLIMIT_AS
        return {"PYTHONUTF8": "1", "MALLOC_ARENA_MAX": "2"}

    def command(self, grace: float = 5.0, program: str = "__main__.py") -> list[str]:
        """The reaper (on the interpreter running maidcore, isolated mode) starting the plugin with its limits."""
        return [
            sys.executable,
            "-I",
            "-S",
            str(REAPER),
            "--as",
            str(self.settings.memory_bytes),
            "--cpu",
            str(self.settings.cpu_seconds),
            "--nofile",
            str(self.settings.max_open_files),
            "--grace",
            str(grace),
            "--",
            self.python,
            "-s",
            "-B",
            program,
        ]

    async def spawn(self, spec: WorkerSpec) -> ProcessWorker:
        """Start a worker once its turn in the spawn queue comes (waiting is never timed)."""
        bundle = Path(spec.bundle_dir)
        if not (bundle / "__main__.py").is_file():
            raise FileNotFoundError(f"plugin bundle {bundle} has no __main__.py")
        spare = self.pool.take(spec)
        if spare is not None:
            worker = await self._adopt(spare, spec, bundle)
            if worker is not None:
                return worker
        turn = await self.spawns.turn()
        try:
            proc = await self._exec(self.command(), cwd=bundle, env=self.environment(spec))
        except BaseException:
            turn.release()
            raise
        # a worker that stays silent (an SDK waiting to be asked) gives its turn up after spawn_hold_seconds
        asyncio.get_running_loop().call_later(self.settings.spawn_hold_seconds, turn.release)
        log.debug("spawned %s (pid %s) with %s", spec.name, proc.pid, self.python)
        return self._track(ProcessWorker(spec.name, proc, self.max_line_bytes, starting=turn))

    def _track(self, worker: ProcessWorker) -> ProcessWorker:
        worker._on_stop = lambda w: self._workers.pop(w.pid, None)
        self._workers[worker.pid] = worker
        return worker

    async def _exec(self, command: list[str], *, cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *command,
            cwd=str(cwd),
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # away from the host's terminal signals; the reaper puts the plugin in its own
            limit=self.max_line_bytes + 1,
            close_fds=True,
        )

    async def _adopt(self, spare: Spare, spec: WorkerSpec, bundle: Path) -> ProcessWorker | None:
        """Tell a spare which plugin it runs; None (and the spare stopped) if it is gone."""
        order = adoption(bundle.absolute(), self.environment(spec), self.base_environment())
        worker = ProcessWorker(spec.name, spare.proc, self.max_line_bytes)
        worker.adopted = True
        try:
            await worker.write(order)
        except BrokenPipeError:
            log.info("warm spare %s was gone; %s starts cold", spare.proc.pid, spec.name)
            await stop_spare(spare)
            return None
        log.debug("%s runs in warm spare pid %s", spec.name, spare.proc.pid)
        return self._track(worker)

    async def _launch_spare(self) -> Spare:
        """Start one spare when no first start waits; holds that spawn turn until its interpreter booted.

        As for a cold start, a spare slower than ``spawn_hold_seconds`` gives its turn up meanwhile.
        """
        turn = await self.spawns.turn(spare=True)
        asyncio.get_running_loop().call_later(self.settings.spawn_hold_seconds, turn.release)
        try:
            proc = await self._exec(self.command(program=str(SPARE)), cwd=Path("/"), env=self.base_environment())
            try:
                assert proc.stdout is not None and proc.stderr is not None
                line = await asyncio.wait_for(proc.stdout.readline(), SPARE_BOOT_TIMEOUT)
                ready = json.loads(line) if line.startswith(b"{") else {}
            except BaseException:
                await stop_spare(Spare(proc, frozenset()))
                raise
            if ready.get("maidcore_spare") != "ready":
                await stop_spare(Spare(proc, frozenset()))
                stderr = (await proc.stderr.read())[-500:].decode(errors="replace").strip()
                raise RuntimeError(f"the spare wrote {line[:200]!r} instead of its ready line; stderr: {stderr!r}")
        finally:
            turn.release()
        return Spare(proc, frozenset(ready.get("modules", ())))

    async def close(self) -> None:
        await self.pool.close()
        workers, self._workers = list(self._workers.values()), {}
        await asyncio.gather(*(w.stop(grace=2.0) for w in workers), return_exceptions=True)

    async def prepare_version(self, bundle_dir: Path, site_dir: Path, requirements: list[str]) -> None:
        """Install wheels only, on the host, with pip in an empty environment: nothing of the plugin runs here.

        An sdist would need its build code run; the error names the package and points at the docker backend.
        """
        await install_wheels(
            Path(site_dir),
            requirements,
            python=self.python,
            index_url=self.settings.index_url,
            extra_index_urls=self.settings.extra_index_urls,
            timeout=self.settings.pip_timeout_seconds,
        )
