"""The five swappable layers, as the core sees them.

Each module holds one layer's interface (a ``Protocol``); implementations live
in extensions and are registered through ``maidcore.hookspecs``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from maidcore.layers.events import EventSink, EventSource
from maidcore.layers.ratelimit import Bucket, Decision, OverLimit, RateLimiter
from maidcore.layers.review import BundleView, Finding, ReviewCheck, Severity
from maidcore.layers.sandbox import (
    DependencyInstallError,
    ExitStatus,
    LineTooLong,
    SandboxBackend,
    SandboxUnavailable,
    Worker,
    WorkerSpec,
)
from maidcore.layers.storage import (
    EphemeralStore,
    KvStore,
    MetricStore,
    RecordStore,
    SecretStore,
    SqlSandbox,
    Storage,
)

if TYPE_CHECKING:
    from maidcore.platform import Platform

RegisterEventSource = Callable[[str, Callable[["Platform"], EventSource]], None]
RegisterSandboxBackend = Callable[[str, Callable[["Platform"], SandboxBackend]], None]
RegisterStorage = Callable[[str, Callable[["Platform"], Storage]], None]
RegisterRateLimiter = Callable[[str, Callable[["Platform"], RateLimiter]], None]
RegisterReviewCheck = Callable[[str, ReviewCheck], None]
RegisterSettings = Callable[[str, type[BaseModel]], None]

__all__ = [
    "Bucket",
    "BundleView",
    "Decision",
    "DependencyInstallError",
    "EphemeralStore",
    "EventSink",
    "EventSource",
    "ExitStatus",
    "Finding",
    "KvStore",
    "LineTooLong",
    "MetricStore",
    "OverLimit",
    "RateLimiter",
    "RecordStore",
    "RegisterEventSource",
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
    "SqlSandbox",
    "Storage",
    "Worker",
    "WorkerSpec",
]
