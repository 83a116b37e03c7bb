"""The platform: every layer chosen by name in settings, started in order and closed in reverse.

Start order: storage, rate limiter, sandbox backend, HTTP proxy and WebSocket broker, the
``maidcore_startup`` hooks, the runner, and the event source last (so no event
arrives before something can handle it). ``close()`` undoes exactly what
started, in reverse, also after a failed start.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maidcore.extensions import Extensions
from maidcore.layers import EventSource, RateLimiter, ReviewCheck, SandboxBackend, SandboxUnavailable, Storage
from maidcore.settings import Settings

if TYPE_CHECKING:
    from maidcore.layers import RecordStore

log = logging.getLogger(__name__)

#: The backend used when the chosen one is unavailable in emulator mode (no Discord token).
FALLBACK_SANDBOX = "process"


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
        runner_factory: Callable[[Platform], Any] | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self.extensions = extensions if extensions is not None else Extensions.load()
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
        self.proxy: Any = None
        self.websocket: Any = None  # maidcore.proxy.websocket.WebSocketBroker: the plugins' sockets
        self.runner: Any = None
        #: Which registered name serves each layer (after any fallback).
        self.chosen: dict[str, str] = {}
        #: Why the sandbox fell back to ``process`` (None if it did not).
        self.sandbox_fallback: str | None = None
        self._closers: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        self._install_snapshot: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._watcher: asyncio.Task[None] | None = None
        self.started = False

    # --- shortcuts -----------------------------------------------------------------

    @property
    def records(self) -> RecordStore:
        return self.storage.records

    @property
    def emulator_mode(self) -> bool:
        """No Discord token configured: the local emulator stands in for Discord."""
        token = self.settings.discord.token
        return token is None or not token.get_secret_value().strip()

    # --- building --------------------------------------------------------------

    def build_layer(self, layer: str, name: str) -> Any:
        """Build (not start) the implementation of ``layer`` registered as ``name``."""
        registration = self.extensions.choose(layer, name)
        layer_obj = registration.obj(self)
        self.chosen[layer] = name
        log.info("layer built", extra={"layer": layer, "implementation": name, "extension": registration.extension})
        return layer_obj

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
        await self.open_storage()

        self.limiter = self.build_layer("rate_limiter", self.settings.rate_limiter)
        await _maybe_call(self.limiter, "start")
        self._on_close("rate limiter", self.limiter.close)

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

        self.review_checks = self.extensions.review_checks()
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

        await self.events.start(self.runner, self.handled_event_types())
        self._on_close("event source", self.events.close)

        await self._snapshot_installs()
        self._watcher = asyncio.create_task(self._watch_installs(), name="maidcore-install-watcher")
        self._on_close("install watcher", self._stop_watcher)

    async def _start_sandbox(self) -> SandboxBackend:
        """Start the chosen sandbox backend, applying the isolation policy.

        With a real Discord token, a non-isolating backend is refused unless
        forced (``--unsafe-no-isolation``), and an unavailable backend is an
        error. In emulator mode an unavailable backend falls back to
        ``process`` with a warning.
        """
        name = self.settings.sandbox_backend
        sandbox: SandboxBackend = self.build_layer("sandbox_backend", name)
        self._refuse_without_isolation(sandbox, name)
        try:
            await sandbox.start()
            return sandbox
        except SandboxUnavailable as exc:
            others = sorted(n for n in self.extensions.sandbox_backends() if n not in (name, FALLBACK_SANDBOX))
            if not self.emulator_mode:
                raise PlatformError(
                    f"sandbox backend {name!r} is unavailable: {exc}. A Discord token is configured, so plugins "
                    f"must run isolated: start the Docker engine (`systemctl start docker`, or `dockerd &`) or "
                    f"choose another isolating backend with MAIDCORE_SANDBOX_BACKEND=<name>"
                    + (f" (registered: {', '.join(others)})" if others else "")
                ) from exc
            if name == FALLBACK_SANDBOX:
                raise PlatformError(f"sandbox backend {name!r} is unavailable: {exc}") from exc
            self.sandbox_fallback = str(exc)
            log.warning(
                "sandbox backend %r is unavailable (%s); emulator mode falls back to the %r backend, "
                "which gives NO isolation: plugins run as plain processes on this machine",
                name,
                exc,
                FALLBACK_SANDBOX,
            )
            fallback: SandboxBackend = self.build_layer("sandbox_backend", FALLBACK_SANDBOX)
            await fallback.start()
            return fallback

    def _refuse_without_isolation(self, sandbox: SandboxBackend, name: str) -> None:
        if self.emulator_mode or sandbox.isolates():
            return
        if not self.unsafe_no_isolation:
            raise PlatformError(
                f"sandbox backend {name!r} gives no isolation and a Discord token is configured: refusing to run "
                f"third-party plugins unisolated against real Discord. Use an isolating backend (docker), or force "
                f"it with `maidcore serve --unsafe-no-isolation` (MAIDCORE_UNSAFE_NO_ISOLATION=1)"
            )
        log.warning(
            "UNSAFE: sandbox backend %r gives NO isolation and serves real Discord; plugins can read this "
            "machine's files, network and environment (forced with --unsafe-no-isolation)",
            name,
        )

    def handled_event_types(self) -> frozenset[str]:
        """Event types installed plugins handle (for gateway intents); every type when the runner cannot say."""
        runner_types = getattr(self.runner, "event_types", None)
        if callable(runner_types):
            runner_types = runner_types()
        if runner_types:
            return frozenset(runner_types)
        from mmo_maid_sdk.events import EVENT_TYPES

        return frozenset(EVENT_TYPES)

    # --- installs changed elsewhere --------------------------------------------

    async def install_changed(self, server_id: str, plugin_id: str) -> None:
        """Tell the runner (if running) that an install changed; keeps the watcher from repeating it."""
        record = await self.records.get_install(server_id, plugin_id)
        key = (server_id, plugin_id)
        if record is None:
            self._install_snapshot.pop(key, None)
        else:
            self._install_snapshot[key] = _install_state(record)
        if self.runner is not None:
            await self.runner.install_changed(server_id, plugin_id)

    async def _snapshot_installs(self) -> dict[tuple[str, str], tuple[Any, ...]]:
        current = {(r.server_id, r.plugin_id): _install_state(r) for r in await self.records.list_installs()}
        previous, self._install_snapshot = self._install_snapshot, current
        return previous

    async def check_installs(self) -> list[tuple[str, str]]:
        """Re-read every install and pass those changed by another process (the CLI) to the runner."""
        previous = await self._snapshot_installs()
        changed = sorted(
            key
            for key in previous.keys() | self._install_snapshot.keys()
            if previous.get(key) != self._install_snapshot.get(key)
        )
        for server_id, plugin_id in changed:
            log.info("install changed on disk", extra={"server_id": server_id, "plugin_id": plugin_id})
            if self.runner is not None:
                await self.runner.install_changed(server_id, plugin_id)
        return changed

    async def _watch_installs(self) -> None:
        interval = self.settings.install_poll_seconds
        while interval > 0:
            await asyncio.sleep(interval)
            try:
                await self.check_installs()
            except Exception:
                log.exception("re-reading installs failed; retrying in %ss", interval)

    async def _stop_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    # --- closing -----------------------------------------------------------------

    async def close(self) -> None:
        """Close everything that started, newest first; one failing closer does not stop the others."""
        while self._closers:
            what, closer = self._closers.pop()
            try:
                await closer()
            except Exception:
                log.exception("closing the %s failed", what)
        self.started = False

    async def __aenter__(self) -> Platform:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _install_state(record: Any) -> tuple[Any, ...]:
    return (record.version, tuple(sorted(record.granted)), record.enabled, record.pending_version)


async def _maybe_call(obj: Any, method: str) -> None:
    fn = getattr(obj, method, None)
    if fn is not None:
        result = fn()
        if inspect.isawaitable(result):
            await result
