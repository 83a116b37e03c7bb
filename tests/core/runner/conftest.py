"""A real stack for the runner's end-to-end tests.

Plugins run as real processes (the ``process`` backend) on the real SDK;
storage is the real ``sqlmodel`` layer (SQLite in a temporary data directory),
rate limits the real ``limits`` layer, HTTP the real proxy. Only Discord is a
recording double (``CannedDiscord``): the real source is tested by its owner.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from maidcore.proxy import HttpProxy, StaticResolver
from maidcore.records import InstallRecord
from maidcore.runner import Runner
from maidcore.runner.replay import CannedDiscord, LocalLayers, install_local
from maidcore.settings import Settings

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
        """Install ``bundle``; ``site_dir`` runs it on another SDK (an official wheel's site-packages), which
        never registers: then wait for its worker to take ``host.boot`` instead."""
        record = await install_local(self.platform, bundle, server_id, grants, site_dir=site_dir)
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
        from mmo_maid_sdk.testing import make_event

        await self.runner.publish(
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


def stack_settings(tmp_path: Path, **runner: Any) -> Settings:
    base = Settings()
    runner_settings = base.runner.model_copy(
        update={
            "restart_backoff_initial_seconds": 0.05,
            "restart_backoff_max_seconds": 0.2,
            "shutdown_grace_seconds": 2.0,
            "log_flush_seconds": 0.1,
            **runner,
        }
    )
    return base.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "sandbox_backend": "process",
            "storage_backend": "sqlmodel",
            "rate_limiter": "limits",
            "process": base.process.model_copy(update={"python": sys.executable}),
            "storage": base.storage.model_copy(update={"database_url": None, "ephemeral_url": None}),
            "limits": base.limits.model_copy(update={"storage_uri": "memory://"}),
            "proxy": base.proxy.model_copy(update={"allow_http": True, "allow_private_addresses": True}),
            "runner": runner_settings,
        }
    )


@pytest.fixture
def make_stack(tmp_path: Path):
    """``async with make_stack(**runner_settings) as stack``: a started runner on real layers."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def build(
        discord: CannedDiscord | None = None, limits: dict | None = None, database_url: str | None = None, **runner: Any
    ):
        settings = stack_settings(tmp_path, **runner)
        if database_url:
            settings = settings.model_copy(
                update={"storage": settings.storage.model_copy(update={"database_url": database_url})}
            )
        if limits:
            settings = settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)})
        discord = discord or CannedDiscord()
        async with LocalLayers(settings, discord) as platform:
            platform.proxy = HttpProxy(settings.proxy, resolver=StaticResolver({PROXY_HOST: ["127.0.0.1"]}))
            platform.runner = Runner(platform)
            await platform.runner.start()
            stack = Stack(platform, discord, tmp_path)
            try:
                yield stack
            finally:
                await platform.runner.close()
                await platform.proxy.close()

    return build
