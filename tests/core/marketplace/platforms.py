"""A platform with real storage (maidcore_sqlmodel, on the database its caller names) for marketplace and web tests."""

from __future__ import annotations

import base64
import hashlib
import zipfile
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


def build_wheel(directory: Path, name: str = "tinydep", version: str = "1.0") -> Path:
    """A minimal pure-Python wheel, so pip can install a requirement with no network."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}-py3-none-any.whl"
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for rel, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{rel},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in files.items():
            zf.writestr(rel, data)
    return path
