"""Fixtures for extension authors: test your extension against the real maidcore host.

Enable it in your ``conftest.py``::

    pytest_plugins = ["maidcore.testing.pytest_plugin"]

| fixture | gives |
|---|---|
| ``maidcore_data_dir`` | a fresh, temporary data directory |
| ``maidcore_extensions`` | the installed extensions, loaded strictly (a broken one fails with its traceback) |
| ``canned_discord`` | the fake event source: ``await emit(type, event)`` publishes, ``calls`` records actions |
| ``maidcore_platform`` | ``async with maidcore_platform(**settings) as platform``: the real platform, started |
| ``recording_log`` | the list every recording layer and hook appends to, in order |
| ``recording_extension`` | the ``RecordingExtension`` registering the recording layers |
| ``recording_platform`` | ``recording_platform(*extensions, **settings)``: recording layers, not started |
| ``layer_context`` | ``layer_context(settings, name=...)``: the ``LayerContext`` a factory gets |

Every factory is synchronous (or returns an async context manager), so it works
with pytest-asyncio and anyio alike.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from maidcore.extensions import Extensions
from maidcore.layers import LayerContext
from maidcore.platform import Platform
from maidcore.replay.canned import CannedDiscord
from maidcore.settings import settings_class
from maidcore.testing.layers import RecordingExtension, RecordingRunner
from maidcore.testing.platform import running_platform

__all__ = [
    "canned_discord",
    "layer_context",
    "maidcore_data_dir",
    "maidcore_extensions",
    "maidcore_platform",
    "recording_extension",
    "recording_log",
    "recording_platform",
]


@pytest.fixture
def maidcore_data_dir(tmp_path: Path) -> Path:
    """A fresh data directory (removed with the test's ``tmp_path``)."""
    path = tmp_path / "maidcore-data"
    path.mkdir()
    return path


@pytest.fixture
def maidcore_extensions() -> Extensions:
    """The installed extensions (``MAIDCORE_LOAD_EXTENSIONS`` applies), strict: loading errors fail the test."""
    return Extensions.load(strict=True)


@pytest.fixture
def canned_discord() -> CannedDiscord:
    """The fake event source the ``maidcore_platform`` runs on (servers: none reported; pass your own)."""
    return CannedDiscord()


@pytest.fixture
def maidcore_platform(
    maidcore_data_dir: Path, maidcore_extensions: Extensions, canned_discord: CannedDiscord
) -> Callable[..., AbstractAsyncContextManager[Platform]]:
    """``async with maidcore_platform(**settings) as platform``: the real platform, started on ``canned_discord``.

    Defaults: plugins as local processes of this interpreter, SQLite and ``memory://`` limits in
    ``maidcore_data_dir``, no polling; any setting can be given, a section as a dict (merged).
    """

    def build(**values: Any) -> AbstractAsyncContextManager[Platform]:
        return running_platform(maidcore_data_dir, source=canned_discord, extensions=maidcore_extensions, **values)

    return build


@pytest.fixture
def recording_log() -> list[str]:
    return []


@pytest.fixture
def recording_extension(recording_log: list[str]) -> RecordingExtension:
    """Registers the recording layers; set ``.local`` / ``.isolating_unavailable`` before building a platform."""
    return RecordingExtension(recording_log, local=True)


@pytest.fixture
def recording_platform(
    maidcore_data_dir: Path, recording_log: list[str], recording_extension: RecordingExtension
) -> Callable[..., Platform]:
    """``recording_platform(*extensions, **settings)``: a platform (not started) on the recording layers.

    ``extensions`` are registered beside the recording one (strict), named ``under_test``,
    ``under_test_2``, ...; every layer choice defaults to a
    recording implementation; ``runner=False`` uses the real runner instead of ``RecordingRunner``;
    ``unsafe_no_isolation`` is passed to the platform.
    """

    def build(*extensions: object, runner: bool = True, unsafe_no_isolation: bool | None = None, **values: Any):
        exts = Extensions(strict=True)
        exts.register(recording_extension, name="recording")
        for number, extension in enumerate(extensions, 1):
            exts.register(extension, name="under_test" if number == 1 else f"under_test_{number}")
        settings = settings_class(exts.settings_sections())(
            **{
                "data_dir": maidcore_data_dir,
                "event_source": "recording",
                "storage_backend": "recording",
                "rate_limiter": "recording",
                "sandbox_backend": "isolating",
                "install_poll_seconds": 0,
                **values,
            }
        )
        factory = (lambda platform: RecordingRunner(platform, recording_log)) if runner else None
        return Platform(settings, extensions=exts, unsafe_no_isolation=unsafe_no_isolation, runner_factory=factory)

    return build


@pytest.fixture
def layer_context(maidcore_data_dir: Path) -> Callable[..., LayerContext[Any]]:
    """``layer_context(settings, name="mine", **fields)``: what the platform hands a layer factory."""

    def build(settings: Any = None, *, name: str = "under_test", **fields: Any) -> LayerContext[Any]:
        return LayerContext(name, settings, maidcore_data_dir, **fields)

    return build
