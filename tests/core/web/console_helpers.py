"""A real platform on the emulator with the web app served, and signing in through the emulator's OAuth2."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
from aiohttp import web

from maidcore.platform import Platform
from maidcore.settings import Settings, load_settings
from maidcore.web import create_app

ALICE, BOB, CAROL = "900000000000000201", "900000000000000202", "900000000000000203"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_settings(data_dir: Path, **web: object) -> Settings:
    """Emulator with its demo guild, process workers, SQLite in ``data_dir``, the web app on a free port."""
    return load_settings(
        data_dir=data_dir,
        sandbox_backend="process",
        install_poll_seconds=0.2,
        process={"python": sys.executable},
        storage={"database_url": "sqlite://", "ephemeral_url": None},
        limits={"storage_uri": "memory://"},
        discord={"token": None, "emulator_port": 0, "demo": True},
        runner={"log_flush_seconds": 0.1},
        web={"port": 0, "reviewers": [CAROL], **web},
    )


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Platform, str]]:
    """The platform started, and its web app on a free port: ``(platform, base_url)``."""
    async with Platform(settings) as platform:
        runner = web.AppRunner(create_app(platform), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            yield platform, f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()


def browser() -> aiohttp.ClientSession:
    """A client that keeps cookies of IP-address hosts and never follows redirects by itself."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def start_sign_in(http: aiohttp.ClientSession, base: str) -> tuple[str, dict[str, list[str]]]:
    """GET /auth/login: the authorize URL it sends to, and that URL's query."""
    async with http.get(base + "/auth/login", allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
        location = resp.headers["Location"]
    return location, parse_qs(urlsplit(location).query)


async def authorize(http: aiohttp.ClientSession, authorize_url: str, user_id: str, decision: str = "authorize") -> str:
    """Show the emulator's authorize page and answer it as ``user_id``; returns the callback URL it redirects to."""
    async with http.get(authorize_url) as resp:
        assert resp.status == 200
        page = await resp.text()
        assert f'value="{user_id}"' in page
    query = parse_qs(urlsplit(authorize_url).query)
    form = {k: v[0] for k, v in query.items() if k != "response_type"}
    form.update({"user_id": user_id, "decision": decision})
    async with http.post(urljoin(authorize_url, "/oauth2/authorize"), data=form, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"]


async def sign_in(http: aiohttp.ClientSession, base: str, user_id: str) -> str:
    """The whole flow as ``user_id``; returns the session's CSRF token."""
    location, _ = await start_sign_in(http, base)
    callback = await authorize(http, location, user_id)
    async with http.get(callback, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    async with http.get(base + "/") as resp:
        page = await resp.text()
    match = CSRF.search(page)
    assert match, page[:2000]
    return match.group(1)


ERIN = "900000000000000204"  # a platform admin by setting, member of no guild


def zip_plugin(directory: Path) -> bytes:
    """A plugin directory as a bundle zip (its own tests left out), the way `mmo bundle` ships it."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(Path(directory).rglob("*")):
            rel = path.relative_to(directory)
            if path.is_file() and "__pycache__" not in rel.parts and rel.parts[0] != "tests":
                zf.write(path, rel.as_posix())
    return buf.getvalue()


async def upload(http: aiohttp.ClientSession, base: str, csrf: str, data: bytes) -> dict:
    form = aiohttp.FormData()
    form.add_field("bundle", data, filename="bundle.zip", content_type="application/zip")
    async with http.post(
        base + "/dev/upload", data=form, headers={"X-CSRF-Token": csrf, "Accept": "application/json"}
    ) as resp:
        body = await resp.json()
        assert resp.status == 201, body
        return body
