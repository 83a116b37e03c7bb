"""The official SDK wheels from PyPI as peers: one cached virtualenv per (distribution, version).

Differential tests, the compatibility matrix and the SDK benchmark run plugins on
the official wheels beside ours. The wheels are only ever *run* (never read as
source). Each venv lives under ``.cache/official-sdk/<dist>-<version>/`` and is
created once; a lock file keeps parallel test processes from building the same
venv twice. ``pytest`` is installed beside the SDK so a plugin's own test suite
can run on the official testing kit.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: ``MAIDCORE_OFFICIAL_SDK_CACHE`` lets several checkouts share one cache.
CACHE = Path(os.environ.get("MAIDCORE_OFFICIAL_SDK_CACHE") or ROOT / ".cache" / "official-sdk")

#: Every official line the platform promises to host (issue 14's matrix), oldest first.
MATRIX: tuple[tuple[str, str], ...] = (
    ("mmo-maid-sdk", "0.5.2"),
    ("mmo-maid-sdk", "0.5.4"),
    ("yourbot-sdk", "0.6.1"),
    ("yourbot-sdk", "0.8.5"),
    ("yourbot-sdk", "0.10.1"),
)
NEWEST = ("yourbot-sdk", "0.10.1")


class PeerUnavailable(Exception):
    """The wheel could not be installed (no route to PyPI, or the version is gone); ``str()`` has pip's output."""


def venv_dir(dist: str, version: str) -> Path:
    return CACHE / f"{dist}-{version}"


def official_python(dist: str, version: str, *, extra: tuple[str, ...] = ("pytest",)) -> Path:
    """The interpreter of a venv holding ``dist==version`` (and ``extra``), created on first use."""
    venv = venv_dir(dist, version)
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.is_file():
        return python
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{dist}-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file():  # another process built it while we waited
            return python
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        done = subprocess.run([*pip, f"{dist}=={version}", *extra], capture_output=True, text=True)
        if done.returncode != 0:
            raise PeerUnavailable(f"pip install {dist}=={version} into {venv} failed:\n{done.stdout}{done.stderr}")
        stamp.write_text(f"{dist}=={version}\n", encoding="utf-8")
    return python


def official_python_or_skip(dist: str, version: str, *, extra: tuple[str, ...] = ("pytest",)) -> Path:
    """``official_python`` for tests: a missing peer skips (fails under ``MAIDCORE_REQUIRE_SERVICES=1``)."""
    from tests import services

    try:
        return official_python(dist, version, extra=extra)
    except (PeerUnavailable, OSError, subprocess.CalledProcessError) as exc:
        services.unavailable(f"official SDK {dist}=={version} is not installable here ({exc})")
        raise AssertionError("unreachable") from exc


def official_site(dist: str, version: str) -> Path:
    """The site-packages directory of that venv: a plugin version's site directory holding the official wheel
    (what publishing would install from a ``requirements.txt`` naming it, were the SDK line not provided)."""
    return _site_of(official_python(dist, version))


def official_site_or_skip(dist: str, version: str) -> Path:
    """``official_site``, or the test is skipped (a failure under ``MAIDCORE_REQUIRE_SERVICES=1``)."""
    return _site_of(official_python_or_skip(dist, version))


def _site_of(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


async def store_on_site(platform: Any, bundle: Path, site_dir: Path) -> None:
    """Store ``bundle``'s version with ``site_dir`` as its installed requirements, before ``installs.install``.

    ``site_dir`` holds an official SDK wheel (``official_site_or_skip``): the plugin then
    runs on that SDK, unchanged. Publishing provides our SDK for a ``yourbot-sdk`` requirement line, so a
    test that wants the official wheel itself places it here; ``installs.install`` finds the version stored
    with the same content and keeps it.
    """
    from maidcore import installs
    from maidcore.manifest import read_manifest
    from maidcore.records import PluginRecord, VersionRecord, VersionStatus, utcnow

    manifest, _ = read_manifest(bundle)
    dest = platform.bundles.local_dir("bundles", manifest.id, manifest.version)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(bundle, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    records = platform.records
    if await records.get_plugin(manifest.id) is None:
        await records.add_plugin(PluginRecord(plugin_id=manifest.id, developer="local"))
    version = VersionRecord(
        plugin_id=manifest.id,
        version=manifest.version,
        status=VersionStatus.PUBLISHED,
        manifest=manifest.model_dump(mode="json", exclude_none=True),
        bundle_path=str(dest),
        site_path=str(site_dir),  # no site_digest: this node's directory, used as it is (never a blob)
        bundle_digest=await platform.bundles.store(dest),
        review_note=installs.LOCAL_NOTE,
        published_at=utcnow(),
    )
    if await records.get_version(manifest.id, manifest.version) is None:
        await records.add_version(version)
    else:
        await records.update_version(version)
