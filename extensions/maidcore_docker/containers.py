"""Turn ``DockerSettings`` and a ``WorkerSpec`` into the container the guarantees describe.

Each guarantee is one setting (defaults in ``maidcore_docker.settings.DockerSettings``):
no network, read-only root, a size-capped ``/tmp``, 64 MB with no swap, 0.25 vCPU,
32 pids, uid/gid 65534, an environment holding only ``runtime_env``, no
capabilities, no-new-privileges, Docker's default seccomp profile, no IPC
namespace sharing, no engine-side logs, and labels naming platform, node, plugin
and version. Plugin code arrives through read-only named volumes only (no host path is visible inside).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from pathlib import Path
from typing import Any

from docker.types import LogConfig, Mount, Ulimit

from maidcore.layers.sandbox import WorkerSpec
from maidcore_docker.settings import DockerSettings

PLATFORM_LABEL = "maidcore.platform"
ROLE_LABEL = "maidcore.role"  # "build" on dependency build containers
NODE_LABEL = "maidcore.node"
OWNER_LABEL = "maidcore.owner"  # host, pid and start time of the maidcore process that created the container
PLUGIN_LABEL = "maidcore.plugin"
VERSION_LABEL = "maidcore.version"

BUNDLE_MOUNT = "/plugin"
SITE_MOUNT = "/site"
PYTHON = "/opt/maidcore/python"
ENTRY = "/opt/maidcore/entry.py"
BUILD_ENTRY = "/opt/maidcore/build.py"

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def container_name(name: str) -> str:
    """A Docker-valid container name for ``name`` (unsafe characters become ``-``)."""
    safe = _NAME_UNSAFE.sub("-", name).lstrip("_.-") or "worker"
    return safe[:200]


def node_id(settings: DockerSettings, data_dir: Path) -> str:
    """The label value that tells this node's containers from other nodes' on a shared engine."""
    if settings.node_id:
        return settings.node_id
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), which tells a live process from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_token() -> str:
    """Names this maidcore process: ``<hostname>/<pid>/<start time>``."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_process_start(pid) or 0}"


def owner_alive(token: str | None) -> bool:
    """Whether the process named by ``token`` still runs (on another host we cannot tell, so assume it does)."""
    if not token:
        return False
    try:
        host, pid, started = token.split("/")
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    return _process_start(int(pid)) == started


def command(settings: DockerSettings) -> list[str]:
    """``env -i`` so the interpreter's environment is exactly ``runtime_env`` (no image or engine PATH)."""
    env = [f"{key}={value}" for key, value in sorted(settings.runtime_env.items())]
    return ["/usr/bin/env", "-i", *env, PYTHON, ENTRY]


def security_options(settings: DockerSettings) -> list[str]:
    options = []
    if settings.no_new_privileges:
        options.append("no-new-privileges:true")
    if settings.seccomp_profile:
        profile = Path(settings.seccomp_profile)
        options.append(f"seccomp={profile.read_text() if profile.is_file() else settings.seccomp_profile}")
    return options


def create_kwargs(
    settings: DockerSettings,
    spec: WorkerSpec,
    *,
    name: str,
    node: str,
    owner: str = "",
    bundle_volume: str,
    site_volume: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``create_container_config``; ``host_config`` holds those of ``create_host_config``.

    The code comes from named volumes (``volumes.CodeVolumes``), never bind mounts: a bind mount would show
    the host path in ``/proc/self/mountinfo``. ``launch`` adds ``StdinOnce`` (EOF from the runner reaches the
    worker) which the SDK has no argument for.
    """
    mounts = [Mount(BUNDLE_MOUNT, bundle_volume, type="volume", read_only=True, no_copy=True)]
    if site_volume is not None:
        mounts.append(Mount(SITE_MOUNT, site_volume, type="volume", read_only=True, no_copy=True))
    labels = {
        **settings.labels,
        **spec.labels,
        PLATFORM_LABEL: "maidcore",
        NODE_LABEL: node,
        OWNER_LABEL: owner or owner_token(),
        PLUGIN_LABEL: spec.plugin_id,
        VERSION_LABEL: spec.version,
    }
    tmpfs_options = f"rw,nosuid,nodev,noexec,size={settings.tmpfs_size},mode=1777"
    host_config = {
        "mounts": mounts,
        "network_mode": settings.network_mode,
        "read_only": settings.read_only,
        "tmpfs": {settings.tmpfs_path: tmpfs_options},
        "mem_limit": settings.memory,
        "memswap_limit": settings.memory_swap,
        "nano_cpus": int(settings.cpus * 1_000_000_000),
        "pids_limit": settings.pids_limit,
        "cap_drop": list(settings.cap_drop),
        "security_opt": security_options(settings),
        "ipc_mode": settings.ipc_mode,
        "log_config": LogConfig(type=settings.log_driver),
        "ulimits": [
            Ulimit(name="core", soft=0, hard=0),
            Ulimit(name="nofile", soft=settings.max_open_files, hard=settings.max_open_files),
        ],
    }
    return {
        "image": settings.image,
        "name": name,
        "entrypoint": command(settings),
        "command": [],
        "environment": {},
        "user": settings.user,
        "working_dir": BUNDLE_MOUNT,
        "labels": labels,
        "hostname": "plugin",
        "stdin_open": True,
        "tty": False,
        "host_config": host_config,
    }


def build_kwargs(settings: DockerSettings, *, name: str, node: str, owner: str) -> dict[str, Any]:
    """A dependency build container: the worker's lockdown, larger limits, and nothing of the host.

    No network (the build entry relays index connections over stdio), no mounts at all (the result
    leaves as a tar on stdout), an empty environment, uid 65534, every capability dropped.
    """
    tmpfs_options = f"rw,nosuid,nodev,size={settings.build_tmpfs_size},mode=1777"
    host_config = {
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {"/tmp": tmpfs_options},
        "mem_limit": settings.build_memory,
        "memswap_limit": settings.build_memory,
        "nano_cpus": int(settings.build_cpus * 1_000_000_000),
        "pids_limit": settings.build_pids_limit,
        "cap_drop": ["ALL"],
        "security_opt": security_options(settings),
        "ipc_mode": settings.ipc_mode,
        "log_config": LogConfig(type="none"),
        "ulimits": [
            Ulimit(name="core", soft=0, hard=0),
            Ulimit(name="nofile", soft=settings.max_open_files, hard=settings.max_open_files),
        ],
    }
    return {
        "image": settings.build_image,
        "name": name,
        "entrypoint": ["/usr/bin/env", "-i", "PATH=/usr/bin:/bin", PYTHON, BUILD_ENTRY],
        "command": [],
        "environment": {},
        "user": settings.user,
        "working_dir": "/tmp",
        "labels": {
            **settings.labels,
            PLATFORM_LABEL: "maidcore",
            NODE_LABEL: node,
            OWNER_LABEL: owner,
            ROLE_LABEL: "build",
        },
        "hostname": "build",
        "stdin_open": True,
        "tty": False,
        "host_config": host_config,
    }
