"""Plugin code reaches workers through named volumes, so nothing inside a container names a host path.

A bind mount shows its host source in ``/proc/self/mountinfo`` (the data directory, the
plugin's id and version). Instead, each version's bundle and site directory is copied
once per maidcore process into a volume named by a hash (``maidcore-code-<hash>``),
which workers mount read-only at ``/plugin`` and ``/site``: the mount table then shows
only the engine's own volume path. The copy goes through the engine (``put_archive``
into a never-started helper container), so it also works with a remote engine.
It costs one copy per version at its first cold start in a process; warm starts and
later cold starts reuse the volume. Volumes carry the node and owner labels of
containers: ``close()`` removes this process's, and ``sweep`` those of a maidcore that is
gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from maidcore_docker import containers

if TYPE_CHECKING:
    import docker

    from maidcore_docker.worker import Calls

KIND_LABEL = "maidcore.code"  # "bundle" or "site"
SKIP = frozenset({"__pycache__", ".git"})


def source_key(path: Path) -> str:
    """Names one copy of a directory: its resolved path and identity (a site dir replaced by rename is new)."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return f"{resolved}\0{stat.st_dev}\0{stat.st_ino}\0{stat.st_mtime_ns}"


def code_archive(root: Path) -> bytes:
    """A tar of ``root``'s tree for the volume: owned by root, world-readable, nobody may write."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
            for name in [*dirnames, *sorted(filenames)]:
                path = Path(dirpath, name)
                info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isdir():
                    info.mode = 0o755
                elif info.isreg():
                    info.mode = 0o755 if info.mode & 0o111 else 0o644
                    with open(path, "rb") as handle:
                        tar.addfile(info, handle)
                    continue
                tar.addfile(info)
    return buffer.getvalue()


class CodeVolumes:
    """The volumes holding each version's code for this process, filled on first use."""

    def __init__(
        self, client: docker.DockerClient, *, image: str, node: str, owner: str, calls: Calls = asyncio.to_thread
    ) -> None:
        self.client = client
        self._calls = calls
        self.image = image
        self.node = node
        self.owner = owner
        self._volumes: dict[str, asyncio.Future[str]] = {}

    def name_for(self, kind: str, path: Path) -> str:
        digest = hashlib.sha256(f"{self.owner}\0{kind}\0{source_key(path)}".encode()).hexdigest()[:24]
        return f"maidcore-code-{digest}"

    async def volume(self, kind: str, path: Path) -> str:
        """The volume holding a copy of ``path``, created and filled the first time it is asked for."""
        name = self.name_for(kind, path)
        future = self._volumes.get(name)
        if future is None or (future.done() and (future.cancelled() or future.exception() is not None)):
            future = asyncio.ensure_future(self._calls(self._fill, name, kind, Path(path)))
            self._volumes[name] = future
        return await asyncio.shield(future)

    def _fill(self, name: str, kind: str, path: Path) -> str:
        api = self.client.api
        labels = {
            containers.PLATFORM_LABEL: "maidcore",
            containers.NODE_LABEL: self.node,
            containers.OWNER_LABEL: self.owner,
            KIND_LABEL: kind,
        }
        with contextlib.suppress(Exception):
            api.remove_volume(name, force=True)  # a half-filled leftover of an interrupted fill
        api.create_volume(name, labels=labels)
        helper = api.create_container(
            self.image,
            entrypoint=["/bin/true"],
            user="0:0",
            network_disabled=True,
            labels={**labels, containers.ROLE_LABEL: "fill"},
            host_config=api.create_host_config(
                mounts=[_mount("/code", name, read_only=False)], network_mode="none", log_config={"type": "none"}
            ),
        )
        try:
            if not api.put_archive(helper["Id"], "/code", code_archive(path)):
                raise RuntimeError(f"the engine refused to copy {kind} files into volume {name}")
        except BaseException:
            with contextlib.suppress(Exception):
                api.remove_container(helper["Id"], force=True)
            with contextlib.suppress(Exception):
                api.remove_volume(name, force=True)
            raise
        api.remove_container(helper["Id"], force=True)
        return name

    async def close(self) -> None:
        """Remove this process's volumes (their workers are gone by now), all at once.

        A fill still running (a start cancelled at shutdown) is waited for first, so its volume goes too.
        """
        futures, self._volumes = self._volumes, {}
        await asyncio.gather(*futures.values(), return_exceptions=True)
        names = [name for name, future in futures.items() if not future.cancelled() and future.exception() is None]

        async def remove(name: str) -> None:
            with contextlib.suppress(Exception):
                await self._calls(self.client.api.remove_volume, name, force=True)

        await asyncio.gather(*(remove(name) for name in names))


def _mount(target: str, volume: str, *, read_only: bool):
    from docker.types import Mount

    return Mount(target, volume, type="volume", read_only=read_only, no_copy=True)


def sweep_volumes(
    client: docker.DockerClient,
    node: str | None,
    *,
    keep_owner: str | None = None,
    created_before: float | None = None,
) -> int:
    """Remove code volumes (of ``node``, or of every node when None) whose maidcore process is gone
    (and, with ``created_before``, that are older than that epoch time)."""
    label = f"{containers.NODE_LABEL}={node}" if node else f"{containers.PLATFORM_LABEL}=maidcore"
    found = (client.api.volumes(filters={"label": [label, KIND_LABEL]}) or {}).get("Volumes") or []
    removed = 0
    for volume in found:
        owner = (volume.get("Labels") or {}).get(containers.OWNER_LABEL)
        if owner == keep_owner or containers.owner_alive(owner):
            continue
        if created_before is not None and _created_at(volume) >= created_before:
            continue
        with contextlib.suppress(Exception):
            client.api.remove_volume(volume["Name"], force=True)
            removed += 1
    return removed


def _created_at(volume: dict) -> float:
    """The engine's ``CreatedAt`` of a volume as epoch seconds (RFC 3339, e.g. ``2026-01-02T03:04:05Z``)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(volume.get("CreatedAt", "")).timestamp()
    except ValueError:
        return 0.0  # unreadable: old enough to go, like any orphan
