"""Sandbox backends: start, feed, watch and stop plugin workers.

The runner sees a worker only as a byte stream (JSON-RPC lines on stdin and
stdout), a stderr line stream, and an exit status. How the worker is isolated
(container, process group, VM) is the backend's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class WorkerSpec:
    """What to run: one plugin version, with a unique worker name the backend uses for its container/process."""

    plugin_id: str
    version: str
    bundle_dir: Path  # the unpacked plugin (read-only to the worker); holds __main__.py
    name: str  # unique, e.g. "maidcore-dice_roller-1.2.0-3f9a"
    site_dir: Path | None = None  # per-version dependencies installed at publish time (a directory on sys.path)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExitStatus:
    """Why a worker ended; ``reason`` is a short human sentence ("OOM-killed", "exit code 3", "killed by SIGKILL")."""

    exit_code: int | None
    signal: int | None = None
    oom_killed: bool = False
    reason: str = ""


@runtime_checkable
class Worker(Protocol):
    """A running plugin process/container."""

    name: str

    async def readline(self) -> bytes:
        """Next line from the worker's stdout, newline included; ``b""`` at end of stream.

        Lines longer than ``max_line`` raise ``LineTooLong`` (the runner restarts the worker).
        """
        ...

    async def write(self, data: bytes) -> None:
        """Write bytes to the worker's stdin (already newline-terminated); raises ``BrokenPipeError`` if it is gone."""
        ...

    async def close_stdin(self) -> None:
        """Signal EOF on stdin (the SDK exits cleanly on EOF)."""
        ...

    async def stderr_lines(self) -> bytes:
        """Next line of stderr (free text for diagnostics); ``b""`` at end."""
        ...

    async def wait(self) -> ExitStatus:
        """Wait for the worker to end and say why."""
        ...

    async def stop(self, grace: float = 5.0) -> ExitStatus:
        """Ask the worker to end (SIGTERM), kill it after ``grace`` seconds, release every resource."""
        ...


@runtime_checkable
class DirectWriter(Protocol):
    """What a ``Worker`` may also offer: a write without a task switch, used when nothing waits to be written.

    The runner sends most lines to a worker that keeps up; handing them over at
    once saves a writer task's wake-up per line. A backend without it still works
    (every line goes through ``write``).
    """

    def write_nowait(self, data: bytes) -> bool:
        """Hand ``data`` to stdin now if nothing written earlier still waits in this worker's buffers.

        ``True``: handed over (what the pipe does not take at once stays buffered,
        and until it drains every call returns ``False``). ``False``: nothing was
        written; the caller uses ``write`` (also when a ``write`` is in progress or
        stdin is closed, so its error surfaces there). Never blocks, never raises.
        """
        ...


class LineTooLong(Exception):
    """A worker wrote a stdout line over the protocol limit."""


@runtime_checkable
class SandboxBackend(Protocol):
    """Creates workers. One instance per platform; must be safe to use from the runner's event loop."""

    name: str

    async def start(self) -> None:
        """Prepare the backend (connect to the engine, sweep leftovers of a crashed run, warm a pool)."""
        ...

    async def spawn(self, spec: WorkerSpec) -> Worker:
        """Start a worker for ``spec``; it is running and its stdin accepts ``host.boot`` when this returns."""
        ...

    async def close(self) -> None:
        """Stop every worker this backend started and release the backend."""
        ...

    def isolates(self) -> bool:
        """True if workers cannot reach the network, the host filesystem or the host environment."""
        ...

    async def prepare_version(self, bundle_dir: Path, site_dir: Path, requirements: list[str]) -> None:
        """Install a version's requirements into ``site_dir`` (publish/install time, never at run time).

        Raises ``DependencyInstallError`` with pip's message when one cannot be installed.
        """
        ...


class DependencyInstallError(Exception):
    """A plugin's requirements.txt could not be installed; ``str()`` holds pip's message."""


class SandboxUnavailable(Exception):
    """The backend cannot run workers here (e.g. no Docker engine); ``str()`` says how to fix it."""
