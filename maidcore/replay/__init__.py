"""``maidcore replay``: run one plugin in a real sandbox against recorded events, print every host call.

A replay is the real ``Platform``: the installed extensions, the startup and
shutdown hooks, the same install path as ``maidcore install``, the runner and
the host API, the embedded default storage in a temporary data directory.
Only Discord is replaced, by the ``canned`` event source
(``maidcore.replay.canned``), registered as an ordinary extension: it records
each ``discord.*`` / ``interaction.*`` call and answers like the SDK's testing
kit (contract §11.4), so a replay needs no network.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from maidcore import installs
from maidcore.extensions import ExtensionError, Extensions
from maidcore.platform import Platform, PlatformError
from maidcore.replay.canned import CannedDiscord, CannedExtension
from maidcore.settings import Settings, load_settings

__all__ = ["CannedDiscord", "CannedExtension", "ReplayInputError", "read_events", "replay"]

#: How long replay waits for a worker's ``plugin.register`` before feeding (SDKs before 0.5.5 never send it).
REGISTER_WAIT_SECONDS = 3.0


class ReplayInputError(ValueError):
    """The plugin path or the events file cannot be used; ``str()`` says which line and why."""


def read_events(events_path: Path, server_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload) pairs from a JSON-lines file.

    ``type`` names the event, other keys override ``make_event`` defaults. The type travels
    beside the payload because channel events use ``type`` for the channel's type.
    """
    from yourbot_sdk.testing import make_event

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
        events = read_events(Path(events_path), server_id)
        data = Path(data_dir) if data_dir is not None else scratch / "data"
        throwaway = data_dir is None
        run = _replay(Path(plugin_path), events, server_id, sandbox, python, grants, data, out, err, timeout, throwaway)
        return asyncio.run(run)
    except (ReplayInputError, installs.InstallError, PlatformError, ExtensionError, ValueError, OSError) as exc:
        print(f"replay: {exc}", file=err)
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def replay_settings(
    extensions: Extensions,
    data_dir: Path,
    sandbox: str,
    python: str | None = None,
    *,
    throwaway: bool = False,
    **values: Any,
) -> Settings:
    """The effective settings, made for a developer waiting on a verdict: local state, nothing dropped or slow.

    The event source is ``canned``; storage is the data directory's own (never a configured database);
    the ``limits`` limiter delays rather than drops; crash loops end within seconds; an unavailable
    sandbox is an error (no fallback). ``throwaway``: the data directory is deleted afterwards, so its
    embedded database need not be durable (no fsync).
    """
    base = load_settings(extensions)
    sections = type(base).sections()
    update: dict[str, Any] = {}
    if "process" in sections and python:
        update["process"] = base.process.model_copy(update={"python": python})
    if "limits" in sections:
        update["limits"] = base.limits.model_copy(
            update={"storage_uri": "memory://", "over_limit_events": "delay", "delay_bound_seconds": 3600.0}
        )
    if "storage" in sections:
        storage: dict[str, Any] = {"database_url": None, "ephemeral_url": None}
        if throwaway:
            storage["embedded_server_settings"] = {"fsync": "off", "synchronous_commit": "off"}
        update["storage"] = base.storage.model_copy(update=storage)
    runner = base.runner.model_copy(
        update={
            "ack_timeout_seconds": min(base.runner.ack_timeout_seconds, 30.0),
            "restart_backoff_initial_seconds": 0.1,
            "restart_backoff_max_seconds": 1.0,
        }
    )
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "event_source": "canned",
            "sandbox_backend": sandbox,
            "fallback_sandbox_backend": "",
            "install_poll_seconds": 0,
            "runner": runner,
            **update,
            **values,
        }
    )


async def _replay(
    plugin: Path,
    events: list[tuple[str, dict[str, Any]]],
    server_id: str,
    sandbox: str,
    python: str | None,
    grants: Iterable[str] | None,
    data_dir: Path,
    out: IO[str],
    err: IO[str],
    timeout: float,
    throwaway: bool = False,
) -> int:
    source = CannedDiscord(servers=[server_id])
    extensions = Extensions.load()
    extensions.register(CannedExtension(source), name="replay")
    settings = replay_settings(extensions, data_dir, sandbox, python, throwaway=throwaway)
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

    async with Platform(settings, extensions=extensions) as platform:
        runner = platform.runner
        assert runner is not None
        runner.hostapi.observers.append(on_call)
        runner.log_observers.append(on_log)
        runner.stderr_observers.append(on_stderr)
        runner.settled_observers.append(on_settled)
        granted = installs.ALL if grants is None else list(grants)
        install = await installs.install(platform, plugin, server_id, granted, replace=True)
        tenant = runner.tenant(server_id, install.plugin_id)
        assert tenant is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REGISTER_WAIT_SECONDS
        while tenant.slot.registration is None and loop.time() < deadline and not tenant.slot.parked:
            await asyncio.sleep(0.02)
        delivered = 0
        for event_type, event in events:
            target = install.plugin_id if event_type == "interaction_create" else None
            before = runner.counters["events_dropped"]
            queued = await source.emit(event_type, event, target_plugin=target)
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
