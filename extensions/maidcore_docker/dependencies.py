"""Install a plugin version's requirements into its per-version site dir, inside a build container.

Nothing of a plugin's dependencies runs on the host. An sdist's build code (``setup.py``,
a PEP 517 backend) is code: even ``pip download`` runs its metadata hooks. So the whole
install, resolution included, runs in a container of ``docker.build_image`` (the runtime
image plus pip): no network, no mounts, an empty environment (so no secrets), uid 65534,
every capability dropped, memory/CPU/pids/tmpfs limits. pip reaches the index through
the host's relay (``relay.py``), which connects only to the configured index hosts.
The installed tree comes back as a tar stream; the host unpacks it with tarfile's
``data`` filter (no links out, no devices, no setuid bits, owned by the host), capped
at ``build_max_site_bytes``, and renames it into place. The host itself never imports,
builds or executes anything it received. Workers read the result read-only at ``/site``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from yourbot_sdk.review import PLATFORM_SDKS

from maidcore.layers.sandbox import DependencyInstallError
from maidcore.requirements import host_ca_file, installable
from maidcore_docker import containers
from maidcore_docker.relay import HEADER, Relay, RelayError, allowed_destinations
from maidcore_docker.streams import STDERR, cancel_quietly

if TYPE_CHECKING:
    import docker

    from maidcore_docker.engine import EngineAddress
    from maidcore_docker.settings import DockerSettings

STDERR_TAIL = 64 << 10  # pip's last words kept for the error message


def make_readable(root: Path) -> None:
    """Workers run as uid 65534: every file must be world-readable, every directory world-searchable."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | 0o555)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
        del dirnames  # walked by os.walk


def provided_by_platform(entry: str) -> bool:
    """A top-level site entry of the platform's own SDK (``mmo_maid_sdk``, ``yourbot_sdk-0.10.1.dist-info``)."""
    name = entry.split("-", 1)[0] if entry.endswith((".dist-info", ".egg-info")) else entry
    return re.sub(r"[-_.]+", "-", name.removesuffix(".py")).lower() in PLATFORM_SDKS


def extract_site(tar_path: Path, dest: Path) -> None:
    """Unpack a build's result into ``dest`` with tarfile's ``data`` filter; skip ``bin/`` and the SDK.

    The filter refuses absolute paths, ``..``, links leading out of ``dest`` and device files, clears
    setuid/setgid and group/other write bits, and does not keep the container's owners.
    """
    try:
        with tarfile.open(tar_path, "r:") as tar:
            members = []
            for member in tar:
                top = member.name.removeprefix("./").split("/", 1)[0]
                if top in ("", ".", "bin") or provided_by_platform(top):
                    continue
                members.append(member)
            tar.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise DependencyInstallError(f"the build's result could not be unpacked safely: {exc}") from None


def pip_index_options(settings: DockerSettings) -> list[str]:
    """pip's index arguments for the build entry (plain-http indexes must be named trusted)."""
    args = ["--index-url", settings.index_url]
    for url in settings.extra_index_urls:
        args += ["--extra-index-url", url]
    for url in (settings.index_url, *settings.extra_index_urls):
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.hostname:
            args += ["--trusted-host", parts.netloc]
    return args


def index_ca(settings: DockerSettings) -> str | None:
    """The certificate authorities the build's pip trusts for the index, as PEM text.

    ``docker.index_ca_file``, else the bundle the host's own Python trusts (``SSL_CERT_FILE`` or
    OpenSSL's default), so an index behind a corporate or egress CA works as it does on the host;
    None (pip's bundled roots) when there is neither.
    """
    if settings.index_ca_file is not None:
        try:
            return Path(settings.index_ca_file).read_text()
        except OSError as exc:
            raise DependencyInstallError(f"docker.index_ca_file {settings.index_ca_file}: {exc}") from None
    path = host_ca_file()
    if path is not None:
        with contextlib.suppress(OSError):
            return path.read_text()
    return None


async def install_requirements(
    site_dir: Path,
    requirements: list[str],
    *,
    client: docker.DockerClient | None,
    engine: EngineAddress | None,
    settings: DockerSettings,
    node: str,
    owner: str,
) -> list[str]:
    """Install ``requirements`` into ``site_dir`` (replaced atomically) in a build container; return them.

    Raises ``DependencyInstallError`` naming the refused line, pip's message, or the limit that was hit.
    """
    wanted = installable(requirements)
    site_dir = Path(site_dir)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-", dir=site_dir.parent))
    result = staging.with_name(staging.name + ".tar")
    try:
        if wanted:
            assert client is not None and engine is not None, "a build needs the engine"
            await BuildRun(client, engine, settings, wanted, node=node, owner=owner).run(result)
            extract_site(result, staging)
        make_readable(staging)
        if site_dir.exists():
            shutil.rmtree(site_dir)
        staging.rename(site_dir)
    finally:
        result.unlink(missing_ok=True)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return wanted


class BuildRun:
    """One build container: created, attached, relayed, waited for, and removed whatever happens."""

    def __init__(
        self,
        client: docker.DockerClient,
        engine: EngineAddress,
        settings: DockerSettings,
        wanted: list[str],
        *,
        node: str,
        owner: str,
    ) -> None:
        self.client = client
        self.engine = engine
        self.settings = settings
        self.wanted = wanted
        self.name = containers.container_name(f"maidcore-build-{uuid.uuid4().hex[:12]}")
        self.kwargs = containers.build_kwargs(settings, name=self.name, node=node, owner=owner)
        self.job = {"pip": pip_index_options(settings), "requirements": wanted, "ca": index_ca(settings)}
        self.stderr: collections.deque[bytes] = collections.deque()
        self._stderr_size = 0
        self.tar_bytes = 0

    def _keep_stderr(self, data: bytes) -> None:
        self.stderr.append(data)
        self._stderr_size += len(data)
        while self._stderr_size > STDERR_TAIL and len(self.stderr) > 1:
            self._stderr_size -= len(self.stderr.popleft())

    def _said(self) -> str:
        text = b"".join(self.stderr).decode("utf-8", "replace").strip()
        return text[-4000:]

    async def run(self, result: Path) -> None:
        import docker.errors

        api = self.client.api
        kwargs = dict(self.kwargs)
        name = kwargs.pop("name")
        kwargs["host_config"] = api.create_host_config(**kwargs["host_config"])
        config = api.create_container_config(**kwargs)
        config["StdinOnce"] = True
        try:
            created = await asyncio.to_thread(api.create_container_from_config, config, name)
        except docker.errors.ImageNotFound:
            raise DependencyInstallError(
                f"the dependency build image {self.settings.build_image} does not exist on this engine; "
                "build it with `maidcore sandbox build-image`"
            ) from None
        container_id = created["Id"]
        writer = wait_task = None
        try:
            reader, writer = await self.engine.attach(container_id)
            wait_task = await self.engine.open_wait(container_id)
            await asyncio.to_thread(api.start, container_id)
            with open(result, "wb") as out:
                status = await self._relay(reader, writer, wait_task, out, container_id)
            state = (await asyncio.to_thread(api.inspect_container, container_id)).get("State", {})
        finally:
            if writer is not None:
                writer.close()
            await cancel_quietly(wait_task)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(api.remove_container, container_id, force=True)
        self._check(status, state)

    async def _relay(self, reader, writer, wait_task, out, container_id: str) -> dict[str, Any]:
        limit = self.settings.build_max_site_bytes

        def on_tar(data: bytes) -> None:
            self.tar_bytes += len(data)
            if self.tar_bytes > limit:
                raise RelayError(
                    f"the installed dependencies are over {limit} bytes (docker.build_max_site_bytes); "
                    "require fewer or smaller packages"
                )
            out.write(data)

        async def send(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        job = json.dumps(self.job).encode()
        await send(HEADER.pack(b"C", 0, len(job)) + job)

        relay = Relay(
            allowed_destinations([self.settings.index_url, *self.settings.extra_index_urls], self.settings.index_hosts),
            send=send,
            on_tar=on_tar,
            max_connections=self.settings.build_max_connections,
        )
        self.relay = relay

        async def pump() -> dict[str, Any]:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, OSError):
                while True:
                    header = await reader.readexactly(8)
                    size = int.from_bytes(header[4:8], "big")
                    payload = await reader.readexactly(size) if size else b""
                    if header[0] == STDERR:
                        self._keep_stderr(payload)
                    else:
                        relay.feed(payload)
            return await wait_task

        timeout = self.settings.pip_timeout_seconds
        try:
            return await asyncio.wait_for(pump(), timeout)
        except TimeoutError:
            await self._kill(container_id)
            raise DependencyInstallError(
                f"installing {', '.join(self.wanted)} took longer than {timeout:g} s "
                f"(docker.pip_timeout_seconds); last output:\n{self._said()}"
            ) from None
        except RelayError as exc:
            await self._kill(container_id)
            raise DependencyInstallError(f"installing {', '.join(self.wanted)} was stopped: {exc}") from None
        finally:
            await relay.close()

    async def _kill(self, container_id: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.client.api.kill, container_id, "SIGKILL")

    def _check(self, status: dict[str, Any], state: dict[str, Any]) -> None:
        code = status.get("StatusCode", state.get("ExitCode"))
        refused = sorted(set(self.relay.refused))
        note = (
            f"\n(the build asked for {', '.join(refused)}, which is not a package index host: "
            "see docker.index_url, extra_index_urls and index_hosts)"
            if refused
            else ""
        )
        if state.get("OOMKilled"):
            raise DependencyInstallError(
                f"installing {', '.join(self.wanted)} ran out of memory (docker.build_memory = "
                f"{self.settings.build_memory}, /tmp included){note}"
            )
        if code == 3:
            raise DependencyInstallError(f"pip could not install {', '.join(self.wanted)}:\n{self._said()}{note}")
        if code != 0:
            raise DependencyInstallError(
                f"the dependency build of {', '.join(self.wanted)} ended with exit code {code}:\n{self._said()}{note}"
            )
        if self.tar_bytes == 0:
            raise DependencyInstallError(f"the dependency build of {', '.join(self.wanted)} sent no result")
