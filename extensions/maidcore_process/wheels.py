"""Dependencies for the process backend: wheels only, installed by pip in an empty environment.

Installing a wheel executes nothing of the package (pip unpacks it and writes its
metadata); building an sdist runs its ``setup.py`` or build backend, code the plugin's
author chose, on the host with the host's privileges. So pip gets ``--only-binary=:all:``,
no configuration of the host (``PIP_CONFIG_FILE`` is the null device), an environment
holding nothing but ``PATH``, a throwaway ``HOME`` and the host's proxy variables, and
the index from ``process.index_url``. When a package has no wheel the error names it
and says what to do instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from maidcore.layers.sandbox import DependencyInstallError
from maidcore.requirements import host_ca_file, installable

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
_NOT_FOUND = re.compile(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)")


def pip_environment(home: str) -> dict[str, str]:
    """All pip sees of the host: a PATH, a throwaway HOME, no pip configuration, the proxy to the index."""
    env = {"PATH": os.defpath, "HOME": home, "LANG": "C.UTF-8", "PIP_CONFIG_FILE": os.devnull}
    env.update({name: os.environ[name] for name in PROXY_VARIABLES if name in os.environ})
    return env


async def install_wheels(
    site_dir: Path,
    requirements: list[str],
    *,
    python: str,
    index_url: str,
    extra_index_urls: list[str],
    timeout: float,
) -> list[str]:
    """Install ``requirements`` as wheels into ``site_dir`` with ``python``'s pip; return them.

    Raises ``DependencyInstallError`` for a refused line, a package with no fitting wheel, or pip's failure.
    """
    wanted = installable(requirements)
    site_dir.mkdir(parents=True, exist_ok=True)
    if not wanted:
        return []
    home = tempfile.mkdtemp(prefix="maidcore-pip-")
    cmd = [
        python,
        "-I",
        "-m",
        "pip",
        "install",
        "--only-binary=:all:",
        "--no-input",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--target",
        str(site_dir),
        "--index-url",
        index_url,
    ]
    for url in extra_index_urls:
        cmd += ["--extra-index-url", url]
    for url in (index_url, *extra_index_urls):
        if urlsplit(url).scheme == "http":
            cmd += ["--trusted-host", urlsplit(url).netloc]
    ca = host_ca_file()
    if ca is not None:
        cmd += ["--cert", str(ca)]
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            "--",
            *wanted,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=pip_environment(home),
            cwd=home,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise DependencyInstallError(
                f"pip install {' '.join(wanted)} took longer than {timeout:g} s (process.pip_timeout_seconds)"
            ) from None
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if proc.returncode:
        text = out.decode("utf-8", "replace").strip()
        missing = _NOT_FOUND.search(text)
        if missing:
            raise DependencyInstallError(
                await asyncio.to_thread(no_wheel_message, missing.group(1), [index_url, *extra_index_urls])
            )
        raise DependencyInstallError(f"pip could not install {', '.join(wanted)}: {text[-2000:]}")
    return wanted


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            self.files.append(unquote(urlsplit(href).path.rsplit("/", 1)[-1]))


def index_files(index_url: str, name: str) -> list[str] | None:
    """The file names the index lists for ``name`` (a PEP 503 page: fetched, never executed); None if absent."""
    url = urljoin(index_url.rstrip("/") + "/", re.sub(r"[-_.]+", "-", name).lower() + "/")
    ca = host_ca_file()
    import ssl

    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    try:
        with urllib.request.urlopen(url, timeout=15, context=context) as response:
            page = response.read(8 << 20).decode("utf-8", "replace")
    except Exception:
        return None
    links = _Links()
    links.feed(page)
    return links.files


def no_wheel_message(name: str, index_urls: list[str]) -> str:
    """Why pip found nothing to install for ``name``, as precisely as the indexes tell."""
    files: list[str] = []
    listed = False
    for url in index_urls:
        found = index_files(url, name)
        if found is not None:
            listed = True
            files += found
    where = ", ".join(index_urls)
    if not listed:
        return f"there is no package {name!r} on {where} (check its name; the process backend installs from there)"
    wheels = [f for f in files if f.endswith(".whl")]
    others = [f for f in files if not f.endswith(".whl")]
    advice = (
        "the process backend installs wheels only, because building an sdist runs the package's own code "
        "on the host; use the docker backend (it builds sdists in a locked-down container) or a version that "
        "publishes wheels"
    )
    if not wheels:
        shown = ", ".join(others[-3:]) or "no files"
        return f"{name} has no wheel on {where}, only source distributions ({shown}); {advice}"
    return (
        f"none of the wheels of {name} on {where} fits Python {sys.version_info.major}.{sys.version_info.minor} "
        f"on this platform (or the version asked for); {advice}"
    )
