"""The ``[process]`` settings section (``MAIDCORE_PROCESS__*``): resource limits of plain worker processes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProcessSettings(BaseModel):
    python: str | None = None  # interpreter for plugin workers; None = the one running maidcore
    memory_bytes: int = 1024 * 1024 * 1024  # RLIMIT_AS: address space, so thread stacks and malloc arenas count
    cpu_seconds: int = 3600  # RLIMIT_CPU
    max_open_files: int = 256
    index_url: str = "https://pypi.org/simple"  # dependencies: wheels only, from here
    extra_index_urls: list[str] = Field(default_factory=list)
    pip_timeout_seconds: float = 600.0
    concurrent_spawns: int = Field(default=8, ge=1)  # workers booting at once; more wait in order, untimed
    spawn_hold_seconds: float = Field(default=10.0, gt=0)  # a silent worker frees its spawn turn after this
    warm_pool_size: int = Field(default=2, ge=0)  # booted interpreters no plugin ran in yet, taken by starts; 0 = none
    # the pool grows past warm_pool_size when starts find it empty, up to this (one spare ~12.5 MiB PSS)
    warm_pool_max: int = Field(default=8, ge=0)
    warm_pool_idle_reap_seconds: float = Field(default=300.0, gt=0)  # no spare taken this long: back to warm_pool_size
