"""A platform with real storage (maidcore_sqlmodel, on the database its caller names) for marketplace and web tests."""

from __future__ import annotations

from pathlib import Path

from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.settings import load_settings


class RecordingRunner:
    """Stands in for core B's runner (not under test here): records which installs changed."""

    def __init__(self) -> None:
        self.changed: list[tuple[str, str]] = []

    async def install_changed(self, server_id: str, plugin_id: str) -> None:
        self.changed.append((server_id, plugin_id))

    def stats(self) -> dict:
        return {"mode": "pool", "workers": [], "in_flight": 0}


async def open_platform(data_dir: Path, **settings) -> Platform:
    extensions = Extensions.load()
    platform = Platform(
        load_settings(extensions, data_dir=data_dir, sandbox_backend="process", install_poll_seconds=0, **settings),
        extensions=extensions,
    )
    await platform.open_storage()
    platform.review_checks = platform.extensions.review_checks()
    platform.runner = RecordingRunner()
    return platform
