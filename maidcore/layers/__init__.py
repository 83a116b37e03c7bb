"""The five swappable layers, as the core sees them.

Each module holds one layer's interface (a ``Protocol``); implementations live
in extensions and are registered through ``maidcore.hookspecs``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from maidcore.layers.context import HandledEventTypes, LayerContext, RegisterLayer
from maidcore.layers.events import EventSink, EventSource, InteractionOrigin, LocalMode
from maidcore.layers.ratelimit import Bucket, Decision, OverLimit, RateLimiter
from maidcore.layers.review import BundleView, Finding, ReviewCheck, Severity
from maidcore.layers.sandbox import (
    DependencyInstallError,
    DirectWriter,
    ExitStatus,
    LineTooLong,
    SandboxBackend,
    SandboxUnavailable,
    Worker,
    WorkerSpec,
)
from maidcore.layers.shared import Shared
from maidcore.layers.storage import (
    BlobStore,
    CommandSyncStore,
    EphemeralStore,
    InstallFeed,
    InstallKey,
    KvStore,
    MetricStore,
    RecordStore,
    SecretStore,
    SqlSandbox,
    Storage,
)

RegisterEventSource = RegisterLayer[EventSource]
RegisterSandboxBackend = RegisterLayer[SandboxBackend]
RegisterStorage = RegisterLayer[Storage]
RegisterRateLimiter = RegisterLayer[RateLimiter]
RegisterReviewCheck = Callable[[str, ReviewCheck], None]
RegisterLocalMode = Callable[[str, Callable[[LayerContext[Any]], LocalMode | None]], None]
RegisterSettings = Callable[[str, type[BaseModel]], None]

__all__ = [
    "BlobStore",
    "Bucket",
    "BundleView",
    "CommandSyncStore",
    "Decision",
    "DependencyInstallError",
    "DirectWriter",
    "EphemeralStore",
    "EventSink",
    "EventSource",
    "ExitStatus",
    "Finding",
    "HandledEventTypes",
    "InstallFeed",
    "InstallKey",
    "InteractionOrigin",
    "KvStore",
    "LayerContext",
    "LineTooLong",
    "LocalMode",
    "MetricStore",
    "OverLimit",
    "RateLimiter",
    "RecordStore",
    "RegisterEventSource",
    "RegisterLayer",
    "RegisterLocalMode",
    "RegisterRateLimiter",
    "RegisterReviewCheck",
    "RegisterSandboxBackend",
    "RegisterSettings",
    "RegisterStorage",
    "ReviewCheck",
    "SandboxBackend",
    "SandboxUnavailable",
    "SecretStore",
    "Severity",
    "Shared",
    "SqlSandbox",
    "Storage",
    "Worker",
    "WorkerSpec",
]
