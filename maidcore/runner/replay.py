"""``maidcore replay``: run one plugin in a real sandbox against recorded events, print every host call.

The plugin runs exactly as in production (the chosen sandbox backend, the
runner, the host API, the embedded default storage in a temporary data
directory) except that Discord is a ``CannedDiscord``: it records each
``discord.*`` / ``interaction.*`` call and answers with the canned results of
the SDK's testing kit (contract §11.4), so a replay needs no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from mmo_maid_sdk import _canned
from mmo_maid_sdk._api import WHOLE, group

from maidcore.capabilities import CATALOGUE
from maidcore.records import InstallRecord, PluginRecord, VersionRecord, VersionStatus
from maidcore.runner.tenants import VersionInfo
from maidcore.scope import Scope

#: How long replay waits for a worker's ``plugin.register`` before feeding (SDKs before 0.5.5 never send it).
REGISTER_WAIT_SECONDS = 3.0


class CannedDiscord:
    """An ``EventSource`` that performs nothing: it records calls and answers like the SDK's mock (§11.4)."""

    name = "canned"

    def __init__(self) -> None:
        self.calls: list[tuple[Scope, str, dict[str, Any]]] = []
        self.commands: dict[str, Any] = {}
        self.sink: Any = None
        # The ids MockContext hands out, so a replay answers as the plugin's unit tests did.
        self._ids = {
            "message": itertools.count(1),
            "followup": itertools.count(1),
            "channel": itertools.count(100),
            "thread": itertools.count(200),
            "webhook": itertools.count(300),
        }

    async def start(self, sink: Any, event_types: frozenset[str]) -> None:
        self.sink = sink

    async def close(self) -> None:
        return None

    async def sync_commands(self, server_id: str, commands: Mapping[str, Any]) -> None:
        self.commands[server_id] = dict(commands)

    def methods(self, method: str) -> list[dict[str, Any]]:
        """Params of every recorded call of ``method``."""
        return [params for _, m, params in self.calls if m == method]

    async def call(self, scope: Scope, method: str, params: Mapping[str, Any]) -> Any:
        params = dict(params)
        self.calls.append((scope, method, params))
        value = _canned.answer(method, params, self._new_id, server_id=scope.server_id)
        key = _RESULT_KEYS.get(method)
        if value is None:
            return {}
        return value if key in (None, WHOLE) else {key: value}

    def _new_id(self, kind: str) -> str:
        return str(next(self._ids[kind]))


#: The key a ``discord.*`` / ``interaction.*`` answer is sent under (the SDK reads ``result[key]``).
_RESULT_KEYS: dict[str, str | None] = {m.rpc_method: m.result for g in ("discord", "interaction") for m in group(g)}


# --- a platform of local layers ----------------------------------------------------------


class LocalLayers:
    """Storage, rate limiter, sandbox and proxy built by name from the loaded extensions, plus a given source.

    The same assembly ``maidcore serve`` uses, minus Discord: replay, the
    runner's end-to-end tests and the benchmarks run on it.
    """

    def __init__(self, settings: Any, events: Any) -> None:
        from maidcore.platform import Platform

        self.platform = Platform(settings)
        self.platform.events = events
        self._closers: list[Any] = []

    async def __aenter__(self) -> Any:
        platform = self.platform
        try:
            await platform.open_storage()
            platform.limiter = platform.build_layer("rate_limiter", platform.settings.rate_limiter)
            starter = getattr(platform.limiter, "start", None)
            if starter is not None:
                await starter()
            self._closers.append(platform.limiter.close)
            platform.sandbox = platform.build_layer("sandbox_backend", platform.settings.sandbox_backend)
            await platform.sandbox.start()
            self._closers.append(platform.sandbox.close)
            from maidcore.proxy import HttpProxy

            platform.proxy = HttpProxy(platform.settings.proxy)
            closer = getattr(platform.proxy, "close", None)
            if closer is not None:
                self._closers.append(closer)
            from maidcore.proxy.websocket import WebSocketBroker

            platform.websocket = WebSocketBroker(platform.settings.websocket, platform.settings.proxy)
            self._closers.append(lambda: platform.websocket.close())
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return platform

    async def __aexit__(self, *exc_info: object) -> None:
        if self.platform.runner is not None:
            with contextlib.suppress(Exception):
                await self.platform.runner.close()
        while self._closers:
            closer = self._closers.pop()
            with contextlib.suppress(Exception):
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
        await self.platform.close()


async def install_local(
    platform: Any,
    bundle_dir: Path,
    server_id: str,
    grants: Iterable[str] | None,
    *,
    enabled: bool = True,
    site_dir: Path | None = None,
) -> InstallRecord:
    """Store a plugin version (as published) and its install on ``server_id``; ``grants=None`` grants all it asks.

    ``site_dir`` is an already prepared requirements directory (e.g. another SDK); else ``requirements.txt``
    is installed the way publishing installs it.
    """
    manifest = json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8"))
    plugin_id, version = str(manifest["id"]), str(manifest["version"])
    records = platform.storage.records
    if await records.get_plugin(plugin_id) is None:
        await records.add_plugin(PluginRecord(plugin_id=plugin_id, developer="local"))
    requirements = bundle_dir / "requirements.txt"
    if site_dir is None and requirements.is_file():
        site_dir = platform.data_dir / "sites" / plugin_id / version
        lines = requirements.read_text(encoding="utf-8").splitlines()
        await platform.sandbox.prepare_version(bundle_dir, site_dir, lines)
    record = VersionRecord(
        plugin_id=plugin_id,
        version=version,
        status=VersionStatus.PUBLISHED,
        manifest=manifest,
        bundle_path=str(bundle_dir.resolve()),
        site_path=str(site_dir) if site_dir else None,
    )
    if await records.get_version(plugin_id, version) is None:
        await records.add_version(record)
    else:  # a kept data directory or shared database: this directory is the version now
        await records.update_version(record)
    info = VersionInfo.from_record(record)
    granted = info.capabilities if grants is None else frozenset(grants)
    unknown = sorted(set(granted) - set(CATALOGUE))
    if unknown:
        raise ValueError(f"unknown capability {unknown[0]!r}; choose from: {', '.join(sorted(CATALOGUE))}")
    install = InstallRecord(server_id=server_id, plugin_id=plugin_id, version=version, granted=frozenset(granted))
    await records.put_install(install)
    if platform.runner is not None:
        await platform.runner.install_changed(server_id, plugin_id)
    return install


# --- replay ----------------------------------------------------------------------------


class ReplayInputError(ValueError):
    """The plugin path or the events file cannot be used; ``str()`` says which line and why."""


def read_events(events_path: Path, server_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload) pairs from a JSON-lines file.

    ``type`` names the event, other keys override ``make_event`` defaults. The type travels
    beside the payload because channel events use ``type`` for the channel's type.
    """
    from mmo_maid_sdk.testing import make_event

    events = []
    for number, line in enumerate(events_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ReplayInputError(f"{events_path}:{number}: not a JSON object ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str) or not data["type"]:
            raise ReplayInputError(f'{events_path}:{number}: each line must be an object with a "type" string')
        overrides = {k: v for k, v in data.items() if k != "type"}
        overrides["guild_id"] = server_id
        events.append((data["type"], make_event(data["type"], **overrides)))
    return events


def _bundle(plugin_path: Path, scratch: Path) -> Path:
    if plugin_path.is_dir():
        bundle = plugin_path
    elif zipfile.is_zipfile(plugin_path):
        bundle = scratch / "bundle"
        try:
            from maidcore.marketplace.intake import unpack_bundle
        except ImportError:  # pragma: no cover - the marketplace is part of maidcore
            unpack_bundle = None
        if unpack_bundle is not None:
            result = unpack_bundle(plugin_path, bundle)
            if not result.ok:
                problems = "; ".join(f.message for f in result.findings)
                raise ReplayInputError(f"{plugin_path}: bundle refused: {problems}")
        else:
            with zipfile.ZipFile(plugin_path) as archive:
                archive.extractall(bundle)
    else:
        raise ReplayInputError(f"{plugin_path}: not a plugin directory or zip")
    for required in ("manifest.json", "__main__.py"):
        if not (bundle / required).is_file():
            raise ReplayInputError(f"{plugin_path}: no {required} at the bundle root")
    return bundle


def replay(
    plugin_path: str | Path,
    events_path: str | Path,
    *,
    server_id: str = "999",
    sandbox: str = "process",
    python: str | None = None,
    grants: Iterable[str] | None = None,
    data_dir: str | Path | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    timeout: float = 300.0,
) -> int:
    """Run ``maidcore replay``; exit code 0 only if every delivered event was acked (2 for unusable input)."""
    out = out or sys.stdout
    err = err or sys.stderr
    scratch = Path(tempfile.mkdtemp(prefix="maidcore-replay-"))
    try:
        bundle = _bundle(Path(plugin_path), scratch)
        events = read_events(Path(events_path), server_id)
        data = Path(data_dir) if data_dir is not None else scratch / "data"
        return asyncio.run(_replay(bundle, events, server_id, sandbox, python, grants, data, out, err, timeout))
    except (ReplayInputError, ValueError, OSError) as exc:
        print(f"replay: {exc}", file=err)
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _settings(data_dir: Path, sandbox: str, python: str | None) -> Any:
    from maidcore.settings import Settings

    base = Settings()
    process = base.process.model_copy(update={"python": python} if python else {})
    limits = base.limits.model_copy(update={"storage_uri": "memory://", "over_limit_events": "delay"})
    limits = limits.model_copy(update={"delay_bound_seconds": 3600.0})
    runner = base.runner.model_copy(
        update={
            "ack_timeout_seconds": min(base.runner.ack_timeout_seconds, 30.0),
            # a developer waits for the verdict: crash loops end (dead letters, parking) within seconds
            "restart_backoff_initial_seconds": 0.1,
            "restart_backoff_max_seconds": 1.0,
        }
    )
    storage = base.storage.model_copy(update={"database_url": None, "ephemeral_url": None})
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "sandbox_backend": sandbox,
            "process": process,
            "limits": limits,
            "runner": runner,
            "storage": storage,
        }
    )


async def _replay(
    bundle: Path,
    events: list[tuple[str, dict[str, Any]]],
    server_id: str,
    sandbox: str,
    python: str | None,
    grants: Iterable[str] | None,
    data_dir: Path,
    out: IO[str],
    err: IO[str],
    timeout: float,
) -> int:
    from maidcore.runner import Runner

    settings = _settings(data_dir, sandbox, python)
    outcome = {"acked": 0, "dead": 0}

    def on_call(method: str, params: Any, server: str, result: Any, error: Any) -> None:
        line: dict[str, Any] = {"method": method, "params": params, "server_id": server}
        if error is None:
            line["result"] = result
        else:
            line["error"] = error
        print(json.dumps(line, ensure_ascii=False, default=str), file=out, flush=True)

    def on_log(slot: Any, server: str, level: str, message: str) -> None:
        print(f"[{level}] {message}", file=err, flush=True)

    def on_stderr(slot: Any, text: str) -> None:
        print(f"[stderr] {text}", file=err, flush=True)

    def on_settled(slot: Any, delivery: Any, acked: bool) -> None:
        outcome["acked" if acked else "dead"] += 1
        if not acked:
            print(f"replay: event {delivery.event_id} ({delivery.method}) was not acked", file=err, flush=True)

    async with LocalLayers(settings, CannedDiscord()) as platform:
        runner = Runner(platform)
        platform.runner = runner
        runner.hostapi.observers.append(on_call)
        runner.log_observers.append(on_log)
        runner.stderr_observers.append(on_stderr)
        runner.settled_observers.append(on_settled)
        await runner.start()
        install = await install_local(platform, bundle, server_id, grants)
        tenant = runner.tenant(server_id, install.plugin_id)
        assert tenant is not None
        deadline = asyncio.get_running_loop().time() + REGISTER_WAIT_SECONDS
        while tenant.slot.registration is None and asyncio.get_running_loop().time() < deadline:
            if tenant.slot.parked:
                break
            await asyncio.sleep(0.02)
        delivered = 0
        for event_type, event in events:
            target = install.plugin_id if event_type == "interaction_create" else None
            before = runner.counters["events_dropped"]
            queued = await runner.router.publish(event, target, event_type)
            delivered += queued
            if tenant.slot.parked:
                print(f"replay: {event_type} not delivered: {tenant.slot.park_reason}", file=err)
                outcome["dead"] += 1
            elif not queued and runner.counters["events_dropped"] == before:
                print(f"replay: {event_type} not delivered: the plugin handles no such event", file=err)
            await runner.wait_idle(timeout)  # one event at a time: the output is in event order, diffable
        idle = await runner.wait_idle(timeout)
        delivered += runner.counters["events_delayed"]
        await runner.close()
        dropped = runner.counters["events_dropped"]
        print(
            f"replay: {len(events)} events, {delivered} delivered, {outcome['acked']} acked, "
            f"{outcome['dead']} not acked, {dropped} dropped by the rate limit"
            + ("" if idle else f", gave up waiting after {timeout:g}s"),
            file=err,
        )
        ok = idle and outcome["dead"] == 0 and dropped == 0 and outcome["acked"] >= delivered
        return 0 if ok else 1
