"""The ``docker`` sandbox backend: one locked-down container per plugin worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from maidcore.layers.poolsize import PoolSize
from maidcore.layers.sandbox import DependencyInstallError, SandboxUnavailable, WorkerSpec
from maidcore.layers.spawnqueue import SpawnQueue
from maidcore.requirements import installable
from maidcore_docker import containers
from maidcore_docker.calls import EngineCalls
from maidcore_docker.dependencies import install_requirements, make_readable
from maidcore_docker.engine import EngineAddress, EngineError
from maidcore_docker.image import stale_image_warning
from maidcore_docker.pool import WarmPool
from maidcore_docker.settings import DockerSettings
from maidcore_docker.volumes import CodeVolumes, sweep_volumes
from maidcore_docker.worker import DockerWorker, launch

if TYPE_CHECKING:
    import docker

    from maidcore.layers import LayerContext

log = logging.getLogger(__name__)

HOW_TO_START = (
    "start it (`sudo systemctl start docker`, or `sudo dockerd &`), point DOCKER_HOST at a running engine, "
    "or choose another backend with MAIDCORE_SANDBOX_BACKEND=process (which does not isolate plugins)"
)


def docker_client(timeout: float = 30.0, connections: int | None = None) -> docker.DockerClient:
    """A connected client for ``DOCKER_HOST`` (or the local socket); ``SandboxUnavailable`` if there is no engine.

    ``connections``: how many it keeps open to the engine (the SDK's default, 10, when None).
    """
    import docker
    from docker.constants import DEFAULT_MAX_POOL_SIZE

    try:
        client = docker.from_env(timeout=int(timeout), max_pool_size=connections or DEFAULT_MAX_POOL_SIZE)
        client.ping()
    except Exception as exc:
        raise SandboxUnavailable(
            f"the Docker engine is not reachable ({exc.__class__.__name__}: {exc}); {HOW_TO_START}"
        ) from exc
    return client


class DockerBackend:
    """Creates worker containers with every guarantee in ``DockerSettings``, from a warm pool when it can."""

    name = "docker"

    def __init__(
        self,
        settings: DockerSettings | None = None,
        *,
        data_dir: Path,
        max_line: int = 1024 * 1024,
        client: docker.DockerClient | None = None,
    ) -> None:
        self.settings = settings or DockerSettings()
        self.data_dir = Path(data_dir)
        self.max_line = max_line
        self.node = containers.node_id(self.settings, self.data_dir)
        self.owner = containers.owner_token()
        self.client = client
        self._own_client = client is None
        self.engine: EngineAddress | None = None
        self.workers: set[DockerWorker] = set()
        self.calls = EngineCalls(self.settings.engine_calls)
        self.pool = WarmPool(
            sizing=PoolSize(
                self.settings.warm_pool_size, self.settings.warm_pool_max, self.settings.warm_pool_idle_reap_seconds
            ),
            launch=self._launch_spare,
            stop_grace=self.settings.stop_timeout_seconds,
        )
        self.spawns = SpawnQueue(self.settings.concurrent_spawns)
        self.swept = 0
        self.volumes: CodeVolumes | None = None  # set by start()
        self._background: set[asyncio.Task] = set()

    @classmethod
    def from_context(cls, context: LayerContext[DockerSettings]) -> DockerBackend:
        """The layer factory: the ``[docker]`` section, the data directory, the protocol's line limit."""
        return cls(context.settings, data_dir=context.data_dir, max_line=context.max_line_bytes)

    # --- SandboxBackend ------------------------------------------------------------

    async def start(self) -> None:
        """Connect (``SandboxUnavailable`` with how to fix it), check the image, sweep leftovers, start the pool."""
        if self.client is None:
            self.client = await asyncio.to_thread(self._connect)
        else:
            try:
                await asyncio.to_thread(self.client.ping)
            except Exception as exc:
                raise SandboxUnavailable(f"the Docker engine is not reachable ({exc}); {HOW_TO_START}") from exc
        try:
            self.engine = EngineAddress.from_client(self.client)
        except EngineError as exc:
            raise SandboxUnavailable(str(exc)) from exc
        import docker.errors

        try:
            await asyncio.to_thread(self.client.images.get, self.settings.image)
        except docker.errors.ImageNotFound:
            raise SandboxUnavailable(
                f"the plugin runtime image {self.settings.image} does not exist on this engine; "
                "build it with `maidcore sandbox build-image` (offline, a minute) "
                "or set MAIDCORE_DOCKER__IMAGE to one you built"
            ) from None
        stale = await asyncio.to_thread(stale_image_warning, self.client, self.settings.image)
        if stale:
            log.warning(stale)
        self.swept = await asyncio.to_thread(self.sweep)
        if self.swept:
            log.warning("removed %d leftover worker container(s) of an earlier run on node %s", self.swept, self.node)
        self.volumes = CodeVolumes(
            self.client, image=self.settings.image, node=self.node, owner=self.owner, calls=self.calls
        )
        self.pool.start()

    async def spawn(self, spec: WorkerSpec) -> DockerWorker:
        """A running worker for ``spec``: a warm spare when one exists, else a fresh container."""
        if self.engine is None:
            raise RuntimeError("DockerBackend.start() must be awaited before spawn()")
        worker = self.pool.take(spec)
        if worker is not None:
            worker.on_removed = self._untrack
            self._track(worker)
            self._in_background(worker.rename(containers.container_name(spec.name)))
            worker.name = spec.name
            worker.adopted = True
        else:
            async with self.spawns.first_start():  # waits its turn (no timeout) when many start at once
                worker = await self._launch(spec, name=containers.container_name(spec.name))
        self.pool.refill(spec)
        return worker

    async def prewarm(self, spec: WorkerSpec) -> None:
        """Start a warm spare for this version now, so its next ``spawn`` pays no container start."""
        await self.pool.prewarm(spec)

    async def close(self) -> None:
        """Stop spares and any worker the runner left, all at once; remove their containers and code volumes.

        Every stop and removal goes through ``engine_calls`` threads at a time, so a node with many
        containers closes in (containers / engine_calls) engine round trips, not one after another.
        """
        await self.pool.close()
        grace = self.settings.stop_timeout_seconds
        await asyncio.gather(*(worker.stop(grace) for worker in list(self.workers)), return_exceptions=True)
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        if self.volumes is not None:
            await self.volumes.close()
            self.volumes = None
        self.calls.close()
        if self.client is not None and self._own_client:
            self.client.close()
            self.client = None
        self.engine = None

    def isolates(self) -> bool:
        s = self.settings
        return s.network_mode == "none" and s.read_only and "ALL" in [c.upper() for c in s.cap_drop]

    async def prepare_version(self, bundle_dir: Path, site_dir: Path, requirements: list[str]) -> None:
        """Install ``requirements`` into ``site_dir`` in a build container (never at run time, never on the host).

        Refused lines fail before any engine call. Works before ``start()`` (``maidcore install`` prepares
        versions without serving).
        """
        client = engine = None
        if installable(requirements):
            client, engine = await self._engine()
        await install_requirements(
            site_dir,
            requirements,
            client=client,
            engine=engine,
            settings=self.settings,
            node=self.node,
            owner=self.owner,
        )
        _world_readable(Path(bundle_dir))

    async def _engine(self) -> tuple[docker.DockerClient, EngineAddress]:
        """The client and engine address, connecting first if ``start()`` has not (``DependencyInstallError`` if
        there is no engine: dependencies are only ever built in a container)."""
        if self.client is None:
            try:
                self.client = await asyncio.to_thread(self._connect)
            except SandboxUnavailable as exc:
                raise DependencyInstallError(f"dependencies are built in a container, and {exc}") from None
        if self.engine is None:
            try:
                self.engine = EngineAddress.from_client(self.client)
            except EngineError as exc:
                raise DependencyInstallError(str(exc)) from None
        return self.client, self.engine

    # --- cleanup ---------------------------------------------------------------------

    def sweep(self, *, include_live: bool = False) -> int:
        """Remove this node's containers (running or exited) whose maidcore process is gone; return how many.

        Containers of a maidcore process that still runs on this host (another command sharing the data
        directory) are left alone unless ``include_live``. Code volumes of a gone maidcore go too.
        """
        assert self.client is not None
        client = self.client
        leftovers = client.api.containers(all=True, filters={"label": [f"{containers.NODE_LABEL}={self.node}"]})
        doomed = []
        for item in leftovers:
            owner = (item.get("Labels") or {}).get(containers.OWNER_LABEL)
            if include_live or (owner != self.owner and not containers.owner_alive(owner)):
                doomed.append(item["Id"])

        def remove(container_id: str) -> bool:
            try:
                client.api.remove_container(container_id, force=True)
            except Exception:
                return False
            return True

        # all a killed node's containers at once (engine_calls at a time): a restart waits for this sweep
        with ThreadPoolExecutor(max(1, min(self.settings.engine_calls, len(doomed)))) as threads:
            removed = sum(threads.map(remove, doomed))
        sweep_volumes(client, self.node, keep_owner=self.owner)
        return removed

    # --- internals --------------------------------------------------------------------

    def _connect(self) -> docker.DockerClient:
        """This backend's own client: one connection per ``engine_calls`` thread, so none is dropped and redone."""
        return docker_client(self.settings.spawn_timeout_seconds, self.settings.engine_calls)

    def _track(self, worker: DockerWorker) -> None:
        self.workers.add(worker)

    def _untrack(self, worker: DockerWorker) -> None:
        self.workers.discard(worker)

    def _in_background(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _launch_spare(self, spec: WorkerSpec) -> DockerWorker:
        name = containers.container_name(f"maidcore-warm-{spec.plugin_id}-{spec.version}-{uuid.uuid4().hex[:8]}")
        async with self.spawns.spare():  # after every waiting first start
            return await self._launch(spec, name=name, track=False)

    async def _launch(self, spec: WorkerSpec, *, name: str, track: bool = True) -> DockerWorker:
        assert self.client is not None and self.engine is not None
        if not (Path(spec.bundle_dir) / "__main__.py").is_file():
            raise FileNotFoundError(f"{spec.bundle_dir} has no __main__.py; a plugin bundle needs one")
        bundle_volume, site_volume = await self._code_volumes(spec)
        kwargs = containers.create_kwargs(
            self.settings,
            spec,
            name=name,
            node=self.node,
            owner=self.owner,
            bundle_volume=bundle_volume,
            site_volume=site_volume,
        )
        try:
            worker = await asyncio.wait_for(
                launch(
                    self.client,
                    self.engine,
                    kwargs,
                    spec,
                    memory=self.settings.memory,
                    max_line=self.max_line,
                    on_removed=self._untrack,
                    calls=self.calls,
                ),
                self.settings.spawn_timeout_seconds,
            )
        except TimeoutError:
            self._in_background(self.calls(self._remove_by_name, name))
            raise SandboxUnavailable(
                f"starting container {name} took over {self.settings.spawn_timeout_seconds:g} s; "
                "is the engine overloaded?"
            ) from None
        except Exception as exc:
            if _is_engine_down(exc):
                raise SandboxUnavailable(f"the Docker engine is not reachable ({exc}); {HOW_TO_START}") from exc
            raise
        if track:
            self._track(worker)
        else:
            worker.on_removed = None
        return worker

    async def _code_volumes(self, spec: WorkerSpec) -> tuple[str, str | None]:
        assert self.volumes is not None
        bundle = await self.volumes.volume("bundle", Path(spec.bundle_dir))
        site = None
        if spec.site_dir is not None and Path(spec.site_dir).is_dir():
            site = await self.volumes.volume("site", Path(spec.site_dir))
        return bundle, site

    def _remove_by_name(self, name: str) -> None:
        assert self.client is not None
        with contextlib.suppress(Exception):
            self.client.api.remove_container(name, force=True)


def sweep_orphans(client: docker.DockerClient, *, created_before: float | None = None) -> int:
    """Remove maidcore worker containers of any node whose maidcore process on this host is gone.

    For a single-node engine (a developer machine, CI) where crashed runs used throwaway data directories.
    ``created_before`` (epoch seconds) spares newer orphans: a test run clears earlier runs' leftovers
    without removing those a parallel test is about to sweep on purpose.
    """
    found = client.api.containers(all=True, filters={"label": [f"{containers.PLATFORM_LABEL}=maidcore"]})
    removed = 0
    for item in found:
        labels = item.get("Labels") or {}
        if containers.NODE_LABEL not in labels or containers.owner_alive(labels.get(containers.OWNER_LABEL)):
            continue
        if created_before is not None and item.get("Created", 0) >= created_before:
            continue
        with contextlib.suppress(Exception):
            client.api.remove_container(item["Id"], force=True)
            removed += 1
    sweep_volumes(client, None, created_before=created_before)
    return removed


def _is_engine_down(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, requests.exceptions.ConnectionError | ConnectionRefusedError | FileNotFoundError) and (
        not isinstance(exc, FileNotFoundError) or "docker.sock" in str(exc)
    )


def _world_readable(root: Path) -> None:
    if root.is_dir():
        with contextlib.suppress(OSError):
            make_readable(root)
