"""A real package index (PEP 503 simple pages over HTTP) serving sdists and wheels a test writes.

Dependency installs in tests fetch the packages a test made from here (and anything
else, such as setuptools for an sdist build, from the index behind it, PyPI by default),
so an installer is exercised end to end without publishing anything.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import textwrap
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def make_sdist(directory: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """``<name>-<version>.tar.gz`` holding ``files`` (e.g. a ``setup.py``) and a PKG-INFO."""
    base = f"{name.replace('-', '_')}-{version}"
    files = {"PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", **files}
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in files.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(f"{base}/{rel}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def make_wheel(directory: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python ``py3-none-any`` wheel holding ``files`` and its dist-info."""
    dist = f"{name.replace('-', '_')}-{version}"
    info = f"{dist}.dist-info"
    contents = {
        **{rel: textwrap.dedent(text).encode() for rel, text in files.items()},
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: maidcore-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{rel},sha256={hashlib.sha256(data).hexdigest()},{len(data)}\n" for rel, data in contents.items())
    contents[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    path = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for rel, data in contents.items():
            archive.writestr(rel, data)
    return path


@dataclass
class PackageIndex:
    """The files served, by canonical project name; ``url`` is the simple index root."""

    url: str = ""
    projects: dict[str, list[Path]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def add(self, name: str, path: Path) -> None:
        """Serve ``path`` for project ``name`` (a file of the same name served before is replaced)."""
        files = self.projects.setdefault(canonical(name), [])
        files[:] = [f for f in files if f.name != path.name] + [path]

    @property
    def hostport(self) -> str:
        return self.url.split("//", 1)[1].split("/", 1)[0]


@asynccontextmanager
async def serve_index() -> AsyncIterator[PackageIndex]:
    """Run the index on 127.0.0.1 (a free port) for the duration of the block."""
    index = PackageIndex()

    async def project(request: web.Request) -> web.Response:
        index.requests.append(request.path)
        files = index.projects.get(canonical(request.match_info["name"]))
        if not files:
            raise web.HTTPNotFound()
        links = "".join(
            f'<a href="/files/{path.name}#sha256={hashlib.sha256(path.read_bytes()).hexdigest()}">{path.name}</a>\n'
            for path in files
        )
        return web.Response(text=f"<!DOCTYPE html><html><body>\n{links}</body></html>", content_type="text/html")

    async def download(request: web.Request) -> web.StreamResponse:
        index.requests.append(request.path)
        for files in index.projects.values():
            for path in files:
                if path.name == request.match_info["file"]:
                    return web.FileResponse(path)
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/simple/{name}/", project)
    app.router.add_get("/files/{file}", download)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    index.url = f"http://127.0.0.1:{port}/simple"
    try:
        yield index
    finally:
        await runner.cleanup()
