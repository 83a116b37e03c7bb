"""What a layer factory receives: its own settings section and the few platform services a layer needs.

A factory never sees the ``Platform``: it gets a ``LayerContext`` holding the
settings section its registration names (``register(name, factory,
settings="docker")``), the data directory, a logger, the record store (once
storage is open), the event types installed plugins handle, the protocol's
line limit, what the nodes of a cluster share (``shared``: once-only work such
as sweeps, state any node can read), and — for an event source in local mode —
the ``LocalMode`` the platform runs. Build one directly to test a layer on its own.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from maidcore.layers.shared import Shared
from maidcore.settings import RunnerSettings

if TYPE_CHECKING:
    from maidcore.layers.events import LocalMode
    from maidcore.layers.storage import RecordStore

log = logging.getLogger(__name__)

S = TypeVar("S")
L = TypeVar("L")

EventTypesListener = Callable[[frozenset[str]], Awaitable[None] | None]


class HandledEventTypes:
    """The event types the running plugins handle, as the runner learns them (for gateway intents).

    ``current()`` is empty until every running plugin said what it handles,
    which means "deliver every type". ``subscribe`` is called with the new set
    whenever it changes, so a source can widen what it asks its service for.
    """

    def __init__(self, types: frozenset[str] = frozenset()) -> None:
        self._types = frozenset(types)
        self._listeners: list[EventTypesListener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def current(self) -> frozenset[str]:
        return self._types

    def subscribe(self, listener: EventTypesListener) -> None:
        """Call ``listener(types)`` (a function or a coroutine function) after every change."""
        self._listeners.append(listener)

    def update(self, types: frozenset[str]) -> None:
        """Set the handled types (the runner calls this); listeners run only when the set changed."""
        types = frozenset(types)
        if types == self._types:
            return
        self._types = types
        for listener in list(self._listeners):
            try:
                result = listener(types)
            except Exception:
                log.exception("an event-types listener failed")
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("an event-types listener failed", exc_info=task.exception())


def _no_records() -> RecordStore | None:
    return None


@dataclass(frozen=True)
class LayerContext(Generic[S]):
    """Everything a layer factory may use; ``settings`` is the section its registration named (else ``None``)."""

    name: str  # the registered name being built, e.g. "docker"
    settings: S
    data_dir: Path
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("maidcore.layers"))
    event_types: HandledEventTypes = field(default_factory=HandledEventTypes)
    #: the longest protocol line a worker may write (``runner.max_line_bytes``); sandbox streams enforce it
    max_line_bytes: int = RunnerSettings.model_fields["max_line_bytes"].default
    #: for the event source: the local stand-in the platform runs instead of the real service (started just
    #: before the source), ``None`` when it serves real users
    local: LocalMode | None = None
    record_store: Callable[[], RecordStore | None] = _no_records
    #: once-only work (``once``, ``turn`` for periodic jobs such as sweeps) and state every node of a cluster
    #: reads; on a single node every ``once`` is granted. Keys are this layer's own.
    shared: Shared = field(default_factory=Shared)

    @property
    def records(self) -> RecordStore:
        """The platform's records; open once storage started (so the storage factory itself cannot use them)."""
        store = self.record_store()
        if store is None:
            raise LookupError(
                f"the record store is not open yet: {self.name!r} may use context.records only after storage "
                "started (not in the storage layer's own factory or __init__)"
            )
        return store


class RegisterLayer(Protocol[L]):
    """The ``register`` callback of a layer hook."""

    def __call__(
        self, name: str, factory: Callable[[LayerContext[Any]], L], /, *, settings: str | None = None
    ) -> None: ...
