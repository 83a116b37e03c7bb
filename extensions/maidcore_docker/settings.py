"""The ``[docker]`` settings section (``MAIDCORE_DOCKER__*``): every sandbox guarantee is one setting."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class DockerSettings(BaseModel):
    image: str = "maidcore-sandbox:latest"
    base_image: str = "python:3.11-slim"  # used by the FROM build when a registry is reachable
    memory: str = "64m"
    memory_swap: str = "64m"  # equal to memory: no swap
    cpus: float = 0.25
    pids_limit: int = 32
    tmpfs_size: str = "16m"
    user: str = "65534:65534"
    network_mode: str = "none"
    read_only: bool = True
    cap_drop: list[str] = Field(default_factory=lambda: ["ALL"])
    no_new_privileges: bool = True
    tmpfs_path: str = "/tmp"
    ipc_mode: str = "none"  # no /dev/shm: it would be a second, uncapped writable place
    seccomp_profile: str | None = None  # None = Docker's default profile; a path = that JSON profile
    log_driver: str = "none"  # worker output reaches the runner over attach, never the engine's disk
    max_open_files: int = 1024  # RLIMIT_NOFILE inside the container
    labels: dict[str, str] = Field(default_factory=dict)  # extra labels on every worker container
    runtime_env: dict[str, str] = Field(
        default_factory=lambda: {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": "/opt/maidcore/sdk:/site"}
    )  # the whole environment of a worker; nothing else is passed in
    warm_pool_size: int = Field(default=2, ge=0)  # idle pre-started containers across all versions (0 = no pool)
    warm_pool_max: int = Field(default=8, ge=0)  # starts finding no spare grow the pool up to this (6.1 MiB each)
    # a spare unused this long is removed, and a grown pool shrinks back to warm_pool_size
    warm_pool_idle_reap_seconds: float = Field(default=300.0, gt=0)
    stop_timeout_seconds: float = 5.0
    spawn_timeout_seconds: float = 30.0  # one Docker API call; starts beyond concurrent_spawns queue, untimed
    concurrent_spawns: int = Field(default=4, ge=1)  # container starts at once; spares start only when none waits
    engine_calls: int = Field(default=16, ge=1)  # engine calls at once (stop, remove, ...): threads and connections
    node_id: str | None = None  # labels this node's containers for the startup sweep; None = derived from data_dir
    cache_dir: Path | None = None  # offline base tarball cache; None = ~/.cache/maidcore/sandbox
    base_source: Literal["auto", "debootstrap", "registry"] = "auto"  # auto: base_image if present, else debootstrap
    debian_suite: str = "bookworm"
    debian_mirror: str = "http://deb.debian.org/debian"
    pip_timeout_seconds: float = 600.0  # one version's dependency build, download included
    # dependency builds: a container of build_image, no network but a relay to the index hosts only
    build_image: str = "maidcore-sandbox-build:latest"
    index_url: str = "https://pypi.org/simple"
    extra_index_urls: list[str] = Field(default_factory=list)
    index_hosts: list[str] = Field(default_factory=lambda: ["files.pythonhosted.org"])  # where indexes keep files
    index_ca_file: Path | None = None  # CAs the build trusts for the index; None = those the host's Python trusts
    build_memory: str = "1g"  # memory + swap of the build container, its /tmp included
    build_cpus: float = 1.0
    build_pids_limit: int = 256
    build_tmpfs_size: str = "1g"  # /tmp: pip's downloads, unpacked sdists and the installed tree
    build_max_site_bytes: int = 512 * 1024 * 1024  # the installed tree the host accepts from one build
    build_max_connections: int = 32  # connections to the index one build may hold open at once
