"""Web console page times on the real platform vs serving a static file from the same app (the baseline).

Starts the platform on the emulator (process sandbox, SQLite) with the example
plugins installed on the demo guild, signs in through the emulator's OAuth2 as
alice (the guild's owner), then requests each page ``--repeat`` times in turn
and prints p50/p95 server round trips; a dashboard widget's time includes the
plugin's handler answering over the sandbox pipe. Goal: pages p50 under 50 ms.

    .venv/bin/python benchmarks/console_pages.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
from aiohttp import web

from maidcore import installs
from maidcore.platform import Platform
from maidcore.settings import Settings
from maidcore.web import create_app

ROOT = Path(__file__).resolve().parent.parent
GUILD = "900000000000000001"
ALICE = "900000000000000201"


def settings(data_dir: Path) -> Settings:
    base = Settings()
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "sandbox_backend": "process",
            "install_poll_seconds": 0,
            "process": base.process.model_copy(update={"python": sys.executable}),
            "storage": base.storage.model_copy(update={"database_url": None}),
            "discord": base.discord.model_copy(update={"token": None, "emulator_port": 0, "demo": True}),
        }
    )


async def sign_in(http: aiohttp.ClientSession, base: str) -> None:
    async with http.get(base + "/auth/login", allow_redirects=False) as resp:
        authorize = resp.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items() if k != "response_type"}
    form = {**query, "user_id": ALICE, "decision": "authorize"}
    async with http.post(urljoin(authorize, "/oauth2/authorize"), data=form, allow_redirects=False) as resp:
        callback = resp.headers["Location"]
    async with http.get(callback, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()


async def timed(http: aiohttp.ClientSession, url: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        async with http.get(url) as resp:
            await resp.read()
            assert resp.status == 200, (url, resp.status)
        out.append((time.perf_counter() - start) * 1000)
    return out


async def main(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Platform(settings(Path(tmp) / "data")) as platform:
            for example in ("ping_pong", "notes_showcase", "mod_tools"):
                await installs.install(platform, ROOT / "examples" / example, GUILD, installs.ALL)
            runner = web.AppRunner(create_app(platform), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await sign_in(http, base)
                board = f"/servers/{GUILD}/plugins/notes_showcase/dashboard"
                pages = {
                    "static file (baseline)": "/static/console.css",
                    "home": "/",
                    "marketplace": "/marketplace",
                    "server console": f"/servers/{GUILD}",
                    "install page": f"/servers/{GUILD}/plugins/mod_tools",
                    "dashboard page": board,
                    "dashboard widget (plugin handler)": f"{board}/widgets/w1",
                    "developer portal": "/dev",
                }
                for url in pages.values():  # warm up: workers started, caches filled
                    await timed(http, base + url, 3)
                results = {name: await timed(http, base + url, repeat) for name, url in pages.items()}
            await runner.cleanup()
    floor = statistics.median(results["static file (baseline)"])
    print(f"{'page':36} {'p50 ms':>8} {'p95 ms':>8} {'x baseline':>11}")
    for name, times in results.items():
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"{name:36} {p50:8.2f} {p95:8.2f} {p50 / floor:11.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    asyncio.run(main(parser.parse_args().repeat))
