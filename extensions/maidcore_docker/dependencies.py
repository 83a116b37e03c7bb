"""Install a plugin version's requirements at publish/install time into its per-version site dir.

Workers have no network, so this is the only time requirements can be fetched.
The host's pip installs with ``--target`` (the runtime image runs the same
CPython minor version, so wheels and bytecode fit); the container reads the
result through a read-only bind mount at ``/site``. ``mmo-maid-sdk`` is never
installed: the image's own SDK satisfies it and comes first on ``sys.path``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from maidcore.layers.sandbox import DependencyInstallError

SDK_NAMES = frozenset({"yourbot-sdk", "mmo-maid-sdk"})  # the image provides the SDK under both names
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The distribution a requirement line names, or None for blank/comment lines.

    Option lines, URLs and paths are refused: requirements come from the index only.
    """
    text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
    if not text:
        return None
    if text.startswith("-") or "://" in text or text.startswith((".", "/")) or " @ " in text:
        raise DependencyInstallError(
            f"requirement {text!r} is not allowed: use one PEP 508 name with version specifiers per line "
            "(no options, URLs or paths)"
        )
    match = _NAME.match(text)
    if match is None:
        raise DependencyInstallError(f"requirement {text!r} does not start with a distribution name")
    return canonical_name(match.group(1))


def installable(requirements: list[str]) -> list[str]:
    """The requirement lines pip must install: comments dropped, the SDK left to the image."""
    keep = []
    for line in requirements:
        name = requirement_name(line)
        if name is None or name in SDK_NAMES:
            continue
        keep.append(line.split("#", 1)[0].strip())
    return keep


def make_readable(root: Path) -> None:
    """Workers run as uid 65534: every file must be world-readable, every directory world-searchable."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | 0o555)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
        del dirnames  # walked by os.walk


async def install_requirements(
    site_dir: Path, requirements: list[str], *, timeout: float, python: str | None = None
) -> list[str]:
    """pip-install ``requirements`` into ``site_dir`` (replaced atomically); return what was installed.

    Raises ``DependencyInstallError`` holding pip's message when pip fails.
    """
    wanted = installable(requirements)
    site_dir = Path(site_dir)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-", dir=site_dir.parent))
    try:
        if wanted:
            await _pip(staging, wanted, timeout=timeout, python=python or sys.executable)
            for stray in [*staging.glob("mmo_maid_sdk*"), *staging.glob("yourbot_sdk*")]:  # someone's dependency
                shutil.rmtree(stray) if stray.is_dir() else stray.unlink()
            shutil.rmtree(staging / "bin", ignore_errors=True)
        make_readable(staging)
        if site_dir.exists():
            shutil.rmtree(site_dir)
        staging.rename(site_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return wanted


async def _pip(target: Path, wanted: list[str], *, timeout: float, python: str) -> None:
    cmd = [
        python,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--progress-bar",
        "off",
        *wanted,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_TARGET")}
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise DependencyInstallError(f"pip install {' '.join(wanted)} took longer than {timeout:g} s") from None
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip() or out.decode(errors="replace").strip()
        raise DependencyInstallError(f"pip could not install {', '.join(wanted)}:\n{message}")
