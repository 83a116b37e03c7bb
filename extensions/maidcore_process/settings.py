"""The ``[process]`` settings section (``MAIDCORE_PROCESS__*``): resource limits of plain worker processes."""

from __future__ import annotations

from pydantic import BaseModel


class ProcessSettings(BaseModel):
    python: str | None = None  # interpreter for plugin workers; None = the one running maidcore
    memory_bytes: int = 1024 * 1024 * 1024  # RLIMIT_AS: address space, so thread stacks and malloc arenas count
    cpu_seconds: int = 3600  # RLIMIT_CPU
    max_open_files: int = 256
