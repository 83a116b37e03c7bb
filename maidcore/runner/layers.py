"""The platform's layers as the runner's parts see them: read when used, so a layer swapped in a test is seen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from maidcore.layers import EventSource, RateLimiter, SandboxBackend, Storage
    from maidcore.proxy import HttpProxy
    from maidcore.proxy.websocket import WebSocketBroker


class RunnerLayers(Protocol):
    """What the router, the host API and the worker slots reach: never the platform's settings or records policy."""

    @property
    def storage(self) -> Storage: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def sandbox(self) -> SandboxBackend: ...

    @property
    def events(self) -> EventSource: ...

    @property
    def proxy(self) -> HttpProxy | None: ...

    @property
    def websocket(self) -> WebSocketBroker | None: ...
