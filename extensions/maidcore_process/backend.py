"""Plugin workers as plain subprocesses: for development, tests and ``maidcore replay``.

A worker is ``<python> -s -B __main__.py`` run in the bundle directory (so
``sys.path[0]`` and the working directory are the bundle root, as the SDK
contract §1 asks), with an empty environment, its own process group (so
``stop`` reaches every child) and resource limits. It does not isolate the
plugin from the network or the filesystem: ``isolates()`` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import resource
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from maidcore.layers.sandbox import (
    DependencyInstallError,
    ExitStatus,
    LineTooLong,
    SandboxUnavailable,
    WorkerSpec,
)
from maidcore_process.settings import ProcessSettings

log = logging.getLogger("maidcore.process")

_SDK_NAMES = frozenset({"yourbot-sdk", "mmo-maid-sdk"})
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def exit_status(returncode: int) -> ExitStatus:
    """Turn a ``Popen.returncode`` into an ``ExitStatus`` with a human reason."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return ExitStatus(exit_code=None, signal=-returncode, reason=f"killed by {name}")
    return ExitStatus(exit_code=returncode, reason=f"exit code {returncode}")


def requirement_name(line: str) -> str | None:
    """The normalised distribution name of one requirements.txt line (``None`` for blanks and comments)."""
    line = line.split("#", 1)[0].strip()
    match = _REQ_NAME.match(line)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


class ProcessWorker:
    """One running plugin process, seen as a byte stream."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, max_line_bytes: int) -> None:
        self.name = name
        self.pid = proc.pid
        self._proc = proc
        self._max_line = max_line_bytes
        self._status: ExitStatus | None = None
        self._on_stop: Callable[[ProcessWorker], None] | None = None

    async def readline(self) -> bytes:
        assert self._proc.stdout is not None
        try:
            return await self._proc.stdout.readline()
        except ValueError as exc:  # asyncio's limit overrun: the line is discarded
            raise LineTooLong(f"worker {self.name} wrote a stdout line over {self._max_line} bytes") from exc

    async def write(self, data: bytes) -> None:
        stdin = self._proc.stdin
        if stdin is None or stdin.is_closing():
            raise BrokenPipeError(f"worker {self.name} stdin is closed")
        try:
            stdin.write(data)
            await stdin.drain()
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise BrokenPipeError(f"worker {self.name} is gone") from exc

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
        return self._status

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def stop(self, grace: float = 5.0) -> ExitStatus:
        if self._proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.close_stdin(), timeout=1.0)
            self._signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._proc.wait(), timeout=grace)
            except TimeoutError:
                self._signal_group(signal.SIGKILL)
        status = await self.wait()
        self._signal_group(signal.SIGKILL)  # children the plugin left in its group
        if self._on_stop is not None:
            self._on_stop(self)
        return status


class ProcessBackend:
    """``SandboxBackend`` running each worker as a subprocess of the host."""

    name = "process"

    def __init__(self, settings: ProcessSettings | None = None, *, max_line_bytes: int = 1024 * 1024) -> None:
        self.settings = settings or ProcessSettings()
        self.max_line_bytes = max_line_bytes
        self._workers: dict[int, ProcessWorker] = {}  # by pid

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

    def isolates(self) -> bool:
        return False

    def environment(self, spec: WorkerSpec) -> dict[str, str]:
        """The whole environment a worker gets: nothing from the host, only what Python needs."""
        # MALLOC_ARENA_MAX keeps glibc from reserving 64 MB of address space per thread under RLIMIT_AS
        env = {"PYTHONUTF8": "1", "MALLOC_ARENA_MAX": "2"}
        if spec.site_dir is not None:
            env["PYTHONPATH"] = str(spec.site_dir)
        return env

    def _limit(self, pid: int) -> None:
        limits = (
            (resource.RLIMIT_AS, self.settings.memory_bytes),
            (resource.RLIMIT_CPU, self.settings.cpu_seconds),
            (resource.RLIMIT_NOFILE, self.settings.max_open_files),
        )
        for which, value in limits:
            with contextlib.suppress(ValueError, OSError, ProcessLookupError):
                resource.prlimit(pid, which, (value, value))

    async def spawn(self, spec: WorkerSpec) -> ProcessWorker:
        bundle = Path(spec.bundle_dir)
        if not (bundle / "__main__.py").is_file():
            raise FileNotFoundError(f"plugin bundle {bundle} has no __main__.py")
        proc = await asyncio.create_subprocess_exec(
            self.python,
            "-s",
            "-B",
            "__main__.py",
            cwd=str(bundle),
            env=self.environment(spec),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # own session and process group: killpg reaches every child
            limit=self.max_line_bytes + 1,
            close_fds=True,
        )
        self._limit(proc.pid)
        worker = ProcessWorker(spec.name, proc, self.max_line_bytes)
        worker._on_stop = lambda w: self._workers.pop(w.pid, None)
        self._workers[proc.pid] = worker
        log.debug("spawned %s (pid %s) with %s", spec.name, proc.pid, self.python)
        return worker

    async def close(self) -> None:
        workers, self._workers = list(self._workers.values()), {}
        await asyncio.gather(*(w.stop(grace=2.0) for w in workers), return_exceptions=True)

    async def prepare_version(self, bundle_dir: Path, site_dir: Path, requirements: list[str]) -> None:
        wanted = []
        for line in requirements:
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            name = requirement_name(text)
            if name is None or "://" in text or text.startswith("-"):
                raise DependencyInstallError(
                    f"requirements.txt line {text!r} is not a PEP 508 requirement "
                    "(options, URLs and local paths are refused)"
                )
            if name not in _SDK_NAMES:  # satisfied by the platform's own SDK, never installed from the index
                wanted.append(text)
        Path(site_dir).mkdir(parents=True, exist_ok=True)
        if not wanted:
            return
        proc = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-input",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--target",
            str(site_dir),
            *wanted,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode:
            text = out.decode("utf-8", "replace").strip()
            raise DependencyInstallError(f"pip could not install {', '.join(wanted)}: {text[-2000:]}")
