"""A real platform for tests: the installed extensions on local layers, Discord replaced by ``CannedDiscord``.

``running_platform`` starts exactly what ``maidcore serve`` starts (settings,
extensions, startup hooks, runner, install watcher) with settings chosen for a
test: the ``canned`` event source, plugins as plain processes of this
interpreter, SQLite and ``memory://`` rate limits in the given data directory,
no polling. Any setting can be overridden; a section given as a dict is merged
into that section's defaults.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.replay.canned import CannedDiscord, CannedExtension
from maidcore.settings import Settings, load_settings

#: Section values a test platform starts from (merged under the caller's), for the sections that exist.
LOCAL_SECTIONS: dict[str, dict[str, Any]] = {
    "process": {"python": sys.executable},
    "storage": {"database_url": None, "ephemeral_url": None},
    "limits": {"storage_uri": "memory://"},
}


def local_settings(extensions: Extensions, data_dir: Path, **values: Any) -> Settings:
    """Settings for a platform under test; ``values`` override (a dict for a section is merged into it)."""
    base = load_settings(extensions)
    sections = {"runner", "proxy", "websocket", "web", *type(base).sections()}
    wanted: dict[str, Any] = {
        "data_dir": data_dir,
        "event_source": "canned",
        "sandbox_backend": "process",
        "storage_backend": "sqlmodel",
        "rate_limiter": "limits",
        "install_poll_seconds": 0,
        **{name: dict(defaults) for name, defaults in LOCAL_SECTIONS.items() if name in sections},
    }
    for name, value in values.items():
        if isinstance(value, Mapping) and isinstance(wanted.get(name), dict):
            wanted[name] = {**wanted[name], **value}
        else:
            wanted[name] = value
    update: dict[str, Any] = {}
    for name, value in wanted.items():
        current = getattr(base, name, None)
        if name in sections and isinstance(current, BaseModel) and isinstance(value, Mapping):
            update[name] = current.model_copy(update=dict(value))
        else:
            update[name] = value
    return type(base).model_validate({**base.model_dump(), **_dumped(update)})


def _dumped(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in values.items()}


@asynccontextmanager
async def running_platform(
    data_dir: Path,
    *,
    source: CannedDiscord | None = None,
    extensions: Extensions | None = None,
    **values: Any,
) -> AsyncIterator[Platform]:
    """A started platform (closed on exit) whose event source is ``source`` (a fresh ``CannedDiscord`` if none)."""
    extensions = extensions if extensions is not None else Extensions.load()
    source = source if source is not None else CannedDiscord()
    if "canned" not in extensions.names:
        extensions.register(CannedExtension(source), name="canned")
    async with Platform(local_settings(extensions, data_dir, **values), extensions=extensions) as platform:
        yield platform
