"""A real stack for the runner's end-to-end tests: the real platform, started as ``maidcore serve`` starts it.

Plugins run as real processes (the ``process`` backend) on the real SDK;
storage is the real ``sqlmodel`` layer (SQLite in a temporary data directory),
rate limits the real ``limits`` layer, HTTP the real proxy, installs go through
``maidcore.installs``. Only Discord is a recording double (``CannedDiscord``,
registered as an ordinary extension): the real source is tested by its owner.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from maidcore import installs
from maidcore.extensions import Extensions
from maidcore.hookspecs import hookimpl
from maidcore.proxy import HttpProxy, StaticResolver
from maidcore.records import InstallRecord
from maidcore.replay.canned import CannedDiscord
from maidcore.runner import Runner
from maidcore.testing.platform import running_platform
from tests.official_sdks import store_on_site

PROXY_HOST = "api.example.test"


def write_plugin(root: Path, plugin_id: str, code: str, *, capabilities=(), **manifest: Any) -> Path:
    """A bundle directory: ``manifest.json`` and ``__main__.py`` (dedented)."""
    bundle = root / plugin_id
    bundle.mkdir(parents=True, exist_ok=True)
    data = {
        "id": plugin_id,
        "name": plugin_id.replace("_", " ").title(),
        "version": manifest.pop("version", "1.0.0"),
        "description": f"Test plugin {plugin_id}.",
        "capabilities_required": list(capabilities),
        **manifest,
    }
    (bundle / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    (bundle / "__main__.py").write_text(textwrap.dedent(code), encoding="utf-8")
    return bundle


class Stack:
    """The platform's layers, a runner, and helpers to install plugins and feed events."""

    def __init__(self, platform: Any, discord: CannedDiscord, root: Path) -> None:
        self.platform = platform
        self.discord = discord
        self.root = root
        self.runner: Runner = platform.runner
        self.calls: list[dict[str, Any]] = []
        self.logs: list[tuple[str, str, str]] = []
        self.settled: list[tuple[str, bool]] = []
        self.runner.hostapi.observers.append(
            lambda method, params, server, result, error: self.calls.append(
                {"method": method, "params": params, "server_id": server, "result": result, "error": error}
            )
        )
        self.runner.log_observers.append(
            lambda slot, server, level, message: self.logs.append((server, level, message))
        )
        self.runner.settled_observers.append(lambda slot, d, acked: self.settled.append((d.event_id, acked)))

    def plugin(self, plugin_id: str, code: str, **kwargs: Any) -> Path:
        return write_plugin(self.root / "plugins", plugin_id, code, **kwargs)

    async def install(
        self, bundle: Path, server_id: str, grants=None, *, wait_register: bool = True, site_dir: Path | None = None
    ) -> InstallRecord:
        """Install through ``maidcore.installs`` (``grants=None``: all the version requests).

        ``site_dir`` runs it on another SDK (an official wheel's site-packages, ``store_on_site``), which never
        registers: then wait for its worker to take ``host.boot`` instead.
        """
        if site_dir is not None:
            await store_on_site(self.platform, bundle, site_dir)
        granted = installs.ALL if grants is None else grants
        record = await installs.install(self.platform, bundle, server_id, granted, replace=True)
        if site_dir is not None:
            await self.wait_for(lambda: self.slot(record.plugin_id).ready, what="host.boot taken")
        elif wait_register:
            await self.wait_for(lambda: self.slot(record.plugin_id).registration is not None, what="plugin.register")
        return record

    async def grant(self, server_id: str, plugin_id: str, caps) -> None:
        records = self.platform.storage.records
        install = await records.get_install(server_id, plugin_id)
        await records.put_install(
            InstallRecord(server_id, plugin_id, install.version, frozenset(caps), enabled=install.enabled)
        )
        await self.runner.install_changed(server_id, plugin_id)

    def slot(self, plugin_id: str):
        slots = [s for s in self.runner.slots.values() if s.plugin_id == plugin_id]
        assert slots, f"no worker slot for {plugin_id}"
        return slots[0]

    async def publish(self, event_type: str, server_id: str, target_plugin: str | None = None, **fields: Any) -> None:
        from yourbot_sdk.testing import make_event

        await self.runner.router.publish(
            make_event(event_type, guild_id=server_id, **fields), target_plugin=target_plugin, event_type=event_type
        )

    async def idle(self, timeout: float = 20.0) -> None:
        assert await self.runner.wait_idle(timeout), f"deliveries still pending: {self.runner.stats()}"

    async def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; runner stats: {self.runner.stats()}")

    def methods(self) -> list[str]:
        return [c["method"] for c in self.calls]

    def errors(self, method: str) -> list[dict]:
        return [c["error"] for c in self.calls if c["method"] == method and c["error"] is not None]


RUNNER_DEFAULTS = {
    "restart_backoff_initial_seconds": 0.05,
    "restart_backoff_max_seconds": 0.2,
    "shutdown_grace_seconds": 2.0,
    "log_flush_seconds": 0.1,
}


class StaticNames:
    """Resolves ``PROXY_HOST`` to loopback: swaps in a proxy with a static resolver from a startup hook."""

    @hookimpl
    async def maidcore_startup(self, platform):
        await platform.proxy.close()
        platform.proxy = HttpProxy(platform.settings.proxy, resolver=StaticResolver({PROXY_HOST: ["127.0.0.1"]}))
        await platform.proxy.start()

    @hookimpl
    async def maidcore_shutdown(self, platform):
        await platform.proxy.close()


@pytest.fixture
def make_stack(tmp_path: Path, request: pytest.FixtureRequest):
    """``async with make_stack(**runner_settings) as stack``: a started platform and its runner.

    Storage: a fresh database on the session's PostgreSQL server, unless ``database_url`` names another.
    """
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def build(
        discord: CannedDiscord | None = None, limits: dict | None = None, database_url: str | None = None, **runner: Any
    ):
        extensions = Extensions.load()
        extensions.register(StaticNames(), name="static_names")
        database_url = database_url or request.getfixturevalue("pg_fresh_url")
        discord = discord or CannedDiscord()
        values: dict[str, Any] = {
            "runner": {**RUNNER_DEFAULTS, **runner},
            "proxy": {"allow_http": True, "allow_private_addresses": True},
            "limits": limits or {},
        }
        if database_url:
            values["storage"] = {"database_url": database_url}
        async with running_platform(tmp_path / "data", source=discord, extensions=extensions, **values) as platform:
            yield Stack(platform, discord, tmp_path)

    return build
