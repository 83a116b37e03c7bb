"""The platform: every layer chosen by name in settings, started in order and closed in reverse.

Start order: storage, rate limiter, sandbox backend, HTTP proxy and WebSocket
broker, the ``maidcore_startup`` hooks, the runner, the local mode (if the event
source offers one), and the event source last (so no event arrives before
something can handle it). ``close()`` undoes exactly what started, in reverse,
also after a failed start.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maidcore.bundles import Bundles
from maidcore.command_sync import CommandSync
from maidcore.extensions import ExtensionError, Extensions
from maidcore.install_watch import InstallChange, InstallWatcher, install_feed
from maidcore.interactions import InteractionOwners, MessageOwners, message_owners_file
from maidcore.layers import (
    EventSource,
    HandledEventTypes,
    LayerContext,
    LocalMode,
    RateLimiter,
    ReviewCheck,
    SandboxBackend,
    SandboxUnavailable,
    Shared,
    Storage,
)
from maidcore.settings import Settings, complete, load_settings, mask_url

if TYPE_CHECKING:
    from maidcore.cluster import ClusterNode, Coordinator
    from maidcore.layers import EventSink, RecordStore
    from maidcore.proxy import HttpProxy
    from maidcore.proxy.websocket import WebSocketBroker
    from maidcore.runner import Runner

log = logging.getLogger(__name__)


class PlatformError(Exception):
    """The platform cannot start as configured; ``str()`` says what to change."""


class Platform:
    """One maidcore node: settings, extensions and the layers built from them.

    Layers are built by ``start()`` (or only storage, by ``open_storage()``, for
    CLI commands that just read and write records).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        extensions: Extensions | None = None,
        unsafe_no_isolation: bool | None = None,
        runner_factory: Callable[[Platform], Runner] | None = None,
    ) -> None:
        self.extensions = extensions if extensions is not None else Extensions.load()
        sections = self.extensions.settings_sections()
        self.settings = complete(settings, sections) if settings is not None else load_settings(self.extensions)
        self.unsafe_no_isolation = (
            self.settings.unsafe_no_isolation if unsafe_no_isolation is None else unsafe_no_isolation
        )
        self.data_dir = Path(self.settings.data_dir).expanduser()
        self._runner_factory = runner_factory  # default: maidcore.runner.Runner
        self.storage: Storage = None  # type: ignore[assignment]
        self.limiter: RateLimiter = None  # type: ignore[assignment]
        self.sandbox: SandboxBackend = None  # type: ignore[assignment]
        self.events: EventSource = None  # type: ignore[assignment]
        self.review_checks: dict[str, ReviewCheck] = {}
        self.proxy: HttpProxy | None = None
        #: The plugins' WebSocket connections (``ctx.ws``), held by the host.
        self.websocket: WebSocketBroker | None = None
        self.runner: Runner | None = None
        #: What installed plugins handle; the runner keeps it current, event sources read it for intents.
        self.event_types = HandledEventTypes()
        #: This node's part in a cluster (``maidcore.cluster``); ``None`` for a single node (no coordinator).
        self.cluster: ClusterNode | None = None
        #: What cluster nodes share with layers (``LayerContext.shared``); backed by the coordinator in a cluster.
        self.shared = Shared()
        self._coordinator: Coordinator | None = None
        #: The local stand-in the event source runs against (the emulator); ``None`` when serving real users.
        self.local: LocalMode | None = None
        #: Which registered name serves each layer (after any fallback).
        self.chosen: dict[str, str] = {}
        #: Why the sandbox fell back to ``fallback_sandbox_backend`` (None if it did not).
        self.sandbox_fallback: str | None = None
        self._closers: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        #: This node's copies of version files, fetched from the storage layer by content hash.
        self.bundles = Bundles(self.data_dir, lambda: self.storage)
        #: Slash commands of each server, kept in step with its installs (and who owns each name).
        self.command_sync = CommandSync(
            lambda: self.records,
            lambda: self.events,
            store=lambda: getattr(self.storage, "command_syncs", None) if self.storage is not None else None,
            shared=self.shared.scoped("command_sync"),
        )
        #: Who owns each interaction, and who may answer it.
        owners = MessageOwners(
            message_owners_file(self.data_dir),
            shared=self.shared.scoped("interactions"),  # in a cluster, every node reads them (docs/cluster.md)
            message_ttl=self.settings.cluster.message_owner_days * 86400,
        )
        self.interactions = InteractionOwners(self.command_sync, owners)
        #: The one place install changes (from this process or another) are announced to the runner and commands.
        self.install_watcher = InstallWatcher(
            lambda: self.records,
            lambda: install_feed(self.storage, self.settings.install_poll_seconds, push=self.settings.install_push),
        )
        self.install_watcher.subscribe(self._runner_follows)
        self.install_watcher.subscribe(self.command_sync.installs_changed)
        self.started = False

    # --- shortcuts -----------------------------------------------------------------

    @property
    def records(self) -> RecordStore:
        return self.storage.records

    # --- building --------------------------------------------------------------

    def build_layer(self, layer: str, name: str) -> Any:
        """Build (not start) the implementation of ``layer`` registered as ``name``, from its ``LayerContext``."""
        registration = self.extensions.choose(layer, name)
        context = self.layer_context(layer, name, registration.settings)
        layer_obj = registration.obj(context)
        self.chosen[layer] = name
        log.info("layer built", extra={"layer": layer, "implementation": name, "extension": registration.extension})
        return layer_obj

    def layer_context(self, layer: str, name: str, section: str | None = None) -> LayerContext[Any]:
        """The narrow view of this platform a factory of ``layer`` registered as ``name`` gets."""
        settings = None
        if section is not None:
            if section not in type(self.settings).sections():
                known = ", ".join(sorted(type(self.settings).sections())) or "none"
                raise ExtensionError(
                    f"{layer} {name!r} is built with settings section {section!r}, which no loaded extension "
                    f"registers (registered sections: {known})"
                )
            settings = getattr(self.settings, section)
        return LayerContext(
            name=name,
            settings=settings,
            data_dir=self.data_dir,
            log=logging.getLogger(f"maidcore.{layer}.{name}"),
            event_types=self.event_types,
            max_line_bytes=self.settings.runner.max_line_bytes,
            local=self.local if layer == "event_source" else None,
            record_store=lambda: self.storage.records if self.storage is not None else None,
            shared=self.shared.scoped(f"{layer}.{name}"),
        )

    def _on_close(self, what: str, closer: Callable[[], Awaitable[Any]] | None) -> None:
        if closer is not None:
            self._closers.append((what, closer))

    async def open_storage(self) -> Storage:
        """Build and start only the storage layer (CLI commands that work on records)."""
        if self.storage is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.storage = self.build_layer("storage_backend", self.settings.storage_backend)
            await self.storage.start()
            self._on_close("storage", self.storage.close)
        return self.storage

    async def start(self) -> None:
        """Build and start every layer, the runner and the event source; on failure close what started."""
        if self.started:
            raise PlatformError("platform already started")
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        self.started = True

    async def _start(self) -> None:
        if self.settings.cluster.url:
            await self._reach_coordinator()
        await self.open_storage()
        await self.bundles.import_local(self.records)  # data directories from before bundles were in the database
        await self.bundles.prune(self.records)  # copies of versions (or digests) no record names any more

        self.limiter = self.build_layer("rate_limiter", self.settings.rate_limiter)
        await _maybe_call(self.limiter, "start")
        self._on_close("rate limiter", self.limiter.close)

        self.local = self._local_mode()

        self.sandbox = await self._start_sandbox()
        self._on_close("sandbox", self.sandbox.close)

        from maidcore.proxy import HttpProxy

        self.proxy = HttpProxy(self.settings.proxy)
        await self.proxy.start()
        self._on_close("proxy", self.proxy.close)

        from maidcore.proxy.websocket import WebSocketBroker

        self.websocket = WebSocketBroker(self.settings.websocket, self.settings.proxy)
        await self.websocket.start()
        self._on_close("websocket broker", self.websocket.close)

        self.review_checks = self.extensions.review_checks(self.settings)
        await self.command_sync.load()
        self._on_close("command sync", self.command_sync.close)
        # Built before the runner so the runner can reach platform.events; connected last.
        self.events = self.build_layer("event_source", self.settings.event_source)

        await self.extensions.startup(self)
        self._on_close("shutdown hooks", lambda: self.extensions.shutdown(self))

        if self._runner_factory is None:
            from maidcore.runner import Runner

            self._runner_factory = Runner
        self.runner = self._runner_factory(self)
        await self.runner.start()
        self._on_close("runner", self.runner.close)
        self.event_types.update(self.runner.event_types())

        if self.local is not None:
            await self.local.start()
            self._on_close("local mode", self.local.close)
        sink: EventSink = self.runner.router
        if self.settings.cluster.url:
            sink = await self._join_cluster()
        await self.events.start(sink, self.handled_event_types())
        self._on_close("event source", self.events.close)
        if self.cluster is not None:
            self.cluster.start()

        await self.install_watcher.start()
        self._on_close("install watcher", self.install_watcher.close)

    def local_mode(self) -> LocalMode | None:
        """The local mode of these settings: the started one, else one built (not started) to ask it things."""
        return self.local if self.local is not None else self._local_mode()

    async def _join_cluster(self) -> EventSink:
        """Cluster mode (``cluster.coordinator_url``): shards by lease, events through the shard logs, ticks once."""
        from maidcore.cluster import ClusterNode

        assert self.runner is not None
        self.cluster = ClusterNode(
            self.settings.cluster,
            self.runner.router,
            self.events,
            coordinator=self._coordinator,
            healthy=self._storage_ok,
        )
        await self.cluster.prepare()
        self._on_close("cluster node", self.cluster.close)
        self.runner.scheduler.once = self.cluster.once
        return self.cluster.sink

    async def _reach_coordinator(self) -> None:
        """First of all in a cluster: layers starting next (storage sweeps) already share its once-gate."""
        from maidcore.cluster.node import build_coordinator

        coordinator = build_coordinator(self.settings.cluster)
        try:
            await coordinator.start()
        except Exception as exc:  # unreachable, refused, wrong password: one line naming the setting
            with contextlib.suppress(Exception):
                await coordinator.close()
            where = mask_url(self.settings.cluster.url or "")
            raise PlatformError(
                f"cannot reach the cluster coordinator ({where}; cluster.coordinator_url): {type(exc).__name__}: {exc}"
            ) from exc
        self._coordinator = coordinator
        self.shared.attach(coordinator)

        async def leave() -> None:
            self.shared.attach(None)
            await coordinator.close()

        self._on_close("coordinator", leave)
        # closed before the coordinator (closers run newest first): owners still waiting get shared
        self._on_close("interaction owners", self.interactions.close_shared)

    async def _storage_ok(self) -> bool:
        """A round trip to the record store (a cluster node that cannot make one stops serving)."""
        await self.records.get_plugin("maidcore-cluster-health-check")
        return True

    def _local_mode(self) -> LocalMode | None:
        """The local mode the chosen event source's extension offers for these settings (None: real users)."""
        name = self.settings.event_source
        factory = self.extensions.local_modes().get(name)
        if factory is None:
            return None
        section = self.extensions.choose("event_source", name).settings
        local = factory(self.layer_context("event_source", name, section))
        if local is not None:
            log.info("local mode", extra={"event_source": name, "local": local.name})
        return local

    async def _start_sandbox(self) -> SandboxBackend:
        """Start the chosen sandbox backend, applying the isolation policy.

        Serving real users (no local mode), a non-isolating backend is refused
        unless forced (``--unsafe-no-isolation``), and an unavailable backend is
        an error. In local mode an unavailable backend falls back to
        ``fallback_sandbox_backend`` with a warning.
        """
        name = self.settings.sandbox_backend
        fallback_name = self.settings.fallback_sandbox_backend
        sandbox: SandboxBackend = self.build_layer("sandbox_backend", name)
        self._refuse_without_isolation(sandbox, name)
        try:
            await sandbox.start()
            return sandbox
        except SandboxUnavailable as exc:
            others = sorted(n for n in self.extensions.sandbox_backends() if n not in (name, fallback_name))
            if self.local is None:
                raise PlatformError(
                    f"sandbox backend {name!r} is unavailable: {exc}. Plugins serve real users here, so they "
                    f"must run isolated: start the Docker engine (`systemctl start docker`, or `dockerd &`) or "
                    f"choose another isolating backend with MAIDCORE_SANDBOX_BACKEND=<name>"
                    + (f" (registered: {', '.join(others)})" if others else "")
                ) from exc
            if not fallback_name or name == fallback_name:
                raise PlatformError(f"sandbox backend {name!r} is unavailable: {exc}") from exc
            fallback: SandboxBackend = self.build_layer("sandbox_backend", fallback_name)
            self.sandbox_fallback = str(exc)
            log.warning(
                "sandbox backend %r is unavailable (%s); local mode falls back to the %r backend%s",
                name,
                exc,
                fallback_name,
                ", which gives NO isolation: plugins run as plain processes on this machine"
                if not fallback.isolates()
                else "",
            )
            await fallback.start()
            return fallback

    def _refuse_without_isolation(self, sandbox: SandboxBackend, name: str) -> None:
        if self.local is not None or sandbox.isolates():
            return
        if not self.unsafe_no_isolation:
            raise PlatformError(
                f"sandbox backend {name!r} gives no isolation and event source {self.settings.event_source!r} "
                f"serves real users (it runs in no local mode with these settings, e.g. a Discord token is set): "
                f"refusing to run third-party plugins unisolated. Use an isolating backend (docker), or force it "
                f"with `maidcore serve --unsafe-no-isolation` (MAIDCORE_UNSAFE_NO_ISOLATION=1)"
            )
        log.warning(
            "UNSAFE: sandbox backend %r gives NO isolation and serves real users; plugins can read this "
            "machine's files, network and environment (forced with --unsafe-no-isolation)",
            name,
        )

    def handled_event_types(self) -> frozenset[str]:
        """Event types installed plugins handle (for gateway intents); every type when the runner cannot say."""
        if self.event_types.current():
            return self.event_types.current()
        from yourbot_sdk.events import EVENT_TYPES

        return frozenset(EVENT_TYPES)

    # --- installs changed elsewhere --------------------------------------------

    async def install_changed(self, server_id: str, plugin_id: str) -> None:
        """An install changed in this process (``maidcore.installs``): the runner and the commands follow now."""
        await self.install_watcher.changed(server_id, plugin_id)

    async def check_installs(self) -> list[tuple[str, str]]:
        """Pick up installs changed by another process (the CLI) now; returns those that changed."""
        return await self.install_watcher.check()

    async def _runner_follows(self, changes: Sequence[InstallChange]) -> None:
        if self.runner is not None:
            for change in changes:
                await self.runner.install_changed(change.server_id, change.plugin_id)

    # --- closing -----------------------------------------------------------------

    async def close(self) -> None:
        """Close everything that started, newest first; one failing closer does not stop the others."""
        while self._closers:
            what, closer = self._closers.pop()
            try:
                await closer()
            except Exception:
                log.exception("closing the %s failed", what)
        self.interactions.close()
        self.started = False

    async def __aenter__(self) -> Platform:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def _maybe_call(obj: Any, method: str) -> None:
    fn = getattr(obj, method, None)
    if fn is not None:
        result = fn()
        if inspect.isawaitable(result):
            await result
