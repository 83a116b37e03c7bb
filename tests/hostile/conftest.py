"""One real platform (Docker sandbox, core runner, SQLite storage) shared by the whole hostile suite.

The event source is a recorder registered through the real hook: it performs
``discord.*`` calls by remembering them, so the suite sees every message each
plugin sent. Every hostile plugin gets its own server, shared with the
well-behaved plugin, whose single pooled worker answers on every server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from yourbot_sdk.testing import make_event

from maidcore.extensions import Extensions
from maidcore.hookspecs import hookimpl
from maidcore.installs import InstallError, install
from maidcore.platform import Platform
from maidcore.settings import load_settings
from tests.extensions.maidcore_docker.support import ensure_test_image
from tests.hostile import plugins
from tests.package_index import serve_index


class Recorder:
    """An event source that records outward calls instead of talking to Discord."""

    name = "hostile-recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self.stalled: dict[str, float] = {}  # plugin id -> seconds each of its calls takes (a slow Discord)

    async def start(self, sink, event_types) -> None:
        self.sink = sink

    async def close(self) -> None:
        pass

    async def call(self, scope, method: str, params: Mapping[str, Any]) -> Any:
        self.calls.append((scope.server_id, scope.plugin_id, method, dict(params)))
        stall = self.stalled.get(scope.plugin_id)
        if stall:
            await asyncio.sleep(stall)
        return {"ok": True, "message_id": str(next(self._ids)), "channel_id": params.get("channel_id")}

    async def sync_commands(self, server_id, commands) -> None:
        pass

    def sent(self, server_id: str, plugin_id: str) -> list[str]:
        return [
            p.get("content", "")
            for s, pid, method, p in self.calls
            if s == server_id and pid == plugin_id and method == "discord.send_message"
        ]


class RecorderExtension:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @hookimpl
    def register_event_sources(self, register):
        register("hostile-recorder", lambda context: self.recorder)


class LogTap(logging.Handler):
    """Keeps every runner log line (crash reasons, parking, dead letters, ignored stdout)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def about(self, plugin_id: str) -> list[str]:
        return [line for line in self.lines if plugin_id in line]


GOOD_ID = "good_citizen"


@dataclass
class Outcome:
    """What one attack left behind: the hostile plugin's own reports and the runner's words about it."""

    plugin_id: str
    server_id: str
    reports: list[dict]
    log: list[str]
    good_answers: list[str] = field(default_factory=list)
    plugin_logs: list[str] = field(default_factory=list)  # what the plugin itself logged (ctx.log)


@dataclass
class Arena:
    platform: Platform
    recorder: Recorder
    tap: LogTap
    root: Path
    plugin_logs: list[tuple[str, str, str, str]] = field(default_factory=list)
    _servers: itertools.count = field(default_factory=lambda: itertools.count(900001))
    _messages: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def attack(
        self,
        name: str,
        *,
        channel_name: str = "general",
        good_events: int = 10,
        until=None,
        timeout: float = 60.0,
        files: dict[str, str] | None = None,
    ) -> Outcome:
        """Install ``hostile_<name>`` beside the good plugin on a fresh server, send the attack and
        ``good_events`` ordinary messages, and wait until the good plugin answered every one of them
        and ``until(outcome)`` holds. ``files`` go into the hostile bundle (e.g. ``requirements.txt``)."""
        plugin_id, server = await self.arm(name, files=files)
        return await self.exchange(
            plugin_id, server, channel_name=channel_name, good_events=good_events, until=until, timeout=timeout
        )

    async def arm(self, name: str, *, files: dict[str, str] | None = None) -> tuple[str, str]:
        """The first half of ``attack``: install ``hostile_<name>`` and the good plugin on a fresh server.
        Returns (plugin id, server); ``exchange`` sends the attack."""
        plugin_id = f"hostile_{name}"
        server = str(next(self._servers))
        bundle = plugins.write_plugin(
            self.root / "bundles-src" / plugin_id, plugin_id, plugins.HANDLERS[name], files=files
        )
        await install(self.platform, self.good_bundle, server, grants="all")
        await install(self.platform, bundle, server, grants="all")
        return plugin_id, server

    async def exchange(
        self,
        plugin_id: str,
        server: str,
        *,
        channel_name: str = "general",
        good_events: int = 10,
        until=None,
        timeout: float = 60.0,
    ) -> Outcome:
        """The second half of ``attack``: send the attack and the good events, wait for the outcome."""
        return await self._exchange(plugin_id, server, channel_name, good_events, until, timeout)

    async def refused_install(self, name: str, files: dict[str, str], *, good_events: int = 5) -> str:
        """Try to install ``hostile_<name>`` (with ``files``) beside the good plugin on a fresh server; it must be
        refused. Return the refusal, once the good plugin answered every event sent after it."""
        server = str(next(self._servers))
        plugin_id = f"hostile_{name}_{server}"  # each attempt its own plugin: nothing of an earlier one is stored
        bundle = plugins.write_plugin(
            self.root / "bundles-src" / plugin_id, plugin_id, plugins.HANDLERS[name], files=files
        )
        await install(self.platform, self.good_bundle, server, grants="all")
        try:
            await install(self.platform, bundle, server, grants="all")
        except InstallError as exc:
            refusal = str(exc)
        else:
            raise AssertionError(f"{plugin_id} with {files} was installed")
        await self._exchange(plugin_id, server, "general", good_events, None, 60.0)
        return refusal

    async def _exchange(self, plugin_id, server, channel_name, good_events, until, timeout) -> Outcome:
        sent_ids = []
        for n in range(good_events + 1):
            message_id = str(next(self._messages))
            sent_ids.append(message_id)
            event = make_event(
                "message_create",
                guild_id=server,
                message_id=message_id,
                channel_id="42",
                channel_name=channel_name,
                content="attack" if n == 0 else f"hello {n}",
            )
            await self.platform.runner.router.publish(event, event_type="message_create")
        deadline = time.monotonic() + timeout
        while True:
            outcome = self.outcome(plugin_id, server)
            answered = {a.removeprefix("good ") for a in outcome.good_answers}
            done = answered >= set(sent_ids) and (until is None or until(outcome))
            if done:
                assert sorted(outcome.good_answers) == sorted(f"good {i}" for i in sent_ids), "duplicates or strays"
                return outcome
            if time.monotonic() > deadline:
                missing = sorted(set(sent_ids) - answered, key=int)
                raise AssertionError(
                    f"after {timeout:g}s: good plugin missed {missing}; hostile reports {outcome.reports[:5]}; "
                    f"runner said {outcome.log[-10:]}; the plugin logged {outcome.plugin_logs[-5:]}"
                )
            await asyncio.sleep(0.1)

    def outcome(self, plugin_id: str, server: str) -> Outcome:
        reports = []
        for content in self.recorder.sent(server, plugin_id):
            try:
                reports.append(json.loads(content))
            except ValueError:
                reports.append({"text": content})
        return Outcome(
            plugin_id,
            server,
            reports,
            self.tap.about(plugin_id),
            good_answers=self.recorder.sent(server, GOOD_ID),
            plugin_logs=[m for pid, s, _level, m in self.plugin_logs if pid == plugin_id and s == server],
        )

    def slot(self, plugin_id: str):
        return next(slot for key, slot in self.platform.runner.slots.items() if key[0] == plugin_id)

    def running_containers(self, plugin_id: str) -> list[dict]:
        """The engine's view of this plugin's running containers (worker and any warm spare)."""
        client = self.platform.sandbox.client
        labels = [f"maidcore.node={self.platform.sandbox.node}", f"maidcore.plugin={plugin_id}"]
        return client.api.containers(filters={"label": labels, "status": "running"})

    async def cpu_and_pids(self, plugin_id: str, seconds: float = 2.0) -> tuple[float, int]:
        """Highest CPU share used over ``seconds`` and highest pid count among the plugin's containers."""
        client = self.platform.sandbox.client
        ids = [c["Id"] for c in self.running_containers(plugin_id)]

        def sample():
            out = {}
            for cid in ids:
                stats = client.api.stats(cid, stream=False)
                out[cid] = (stats["cpu_stats"]["cpu_usage"]["total_usage"], stats["pids_stats"].get("current", 0))
            return out, time.monotonic()

        first, t0 = await asyncio.to_thread(sample)
        await asyncio.sleep(seconds)
        second, t1 = await asyncio.to_thread(sample)
        cpu = max(((second[c][0] - first[c][0]) / 1e9 / (t1 - t0) for c in ids), default=0.0)
        pids = max((max(first[c][1], second[c][1]) for c in ids), default=0)
        return cpu, pids

    async def dead_letters(self, plugin_id: str, server: str) -> list:
        letters = await self.platform.records.list_dead_letters()
        return [d for d in letters if d.plugin_id == plugin_id and d.server_id == server]


SETTINGS = {
    "event_source": "hostile-recorder",
    "docker": {"warm_pool_size": 2, "stop_timeout_seconds": 1.0},
    "runner": {
        "ack_timeout_seconds": 4.0,
        "max_redeliveries": 1,
        "restart_backoff_initial_seconds": 0.1,
        "restart_backoff_max_seconds": 0.5,
        "circuit_breaker_crashes": 3,
        "shutdown_grace_seconds": 1.0,
        "log_flush_seconds": 0.1,
    },
    "limits": {"discord_actions_per_minute": 200, "events_per_second": 1000},
}


@asynccontextmanager
async def running_arena(
    root: Path, backend: str, runner: dict[str, Any] | None = None, limits: dict[str, Any] | None = None
) -> AsyncIterator[Arena]:
    """A real platform on ``backend`` with the recorder as its event source, and the good plugin written.

    ``runner`` and ``limits`` override some of the suite's settings (e.g. a short queue)."""
    # The recorder stands in for a real-user source; the process backend is what is under test here.
    unsafe = {"unsafe_no_isolation": True} if backend == "process" else {}
    values = {
        **SETTINGS,
        "runner": {**SETTINGS["runner"], **(runner or {})},
        "limits": {**SETTINGS["limits"], **(limits or {})},
    }
    settings = load_settings(data_dir=root / "data", sandbox_backend=backend, **values, **unsafe)
    recorder = Recorder()
    extensions = Extensions.load()
    extensions.register(RecorderExtension(recorder), name="hostile-recorder")
    tap = LogTap()
    runner_log = logging.getLogger("maidcore.runner")
    old_level = runner_log.level
    runner_log.setLevel(logging.INFO)
    runner_log.addHandler(tap)
    platform = Platform(settings, extensions=extensions)
    await platform.start()
    try:
        assert platform.chosen["sandbox_backend"] == backend, platform.chosen
        assert platform.sandbox_fallback is None, platform.sandbox_fallback
        arena = Arena(platform, recorder, tap, root)
        platform.runner.log_observers.append(
            lambda slot, server, level, message: arena.plugin_logs.append((slot.plugin_id, server, level, message))
        )
        arena.good_bundle = plugins.write_plugin(root / "bundles-src" / GOOD_ID, GOOD_ID, plugins.GOOD)
        yield arena
    finally:
        (root / "runner.log").write_text("\n".join(tap.lines))  # kept for diagnosing a failed run
        await platform.close()
        runner_log.removeHandler(tap)
        runner_log.setLevel(old_level)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def arena(tmp_path_factory, docker_client):
    ensure_test_image(docker_client)
    root = tmp_path_factory.mktemp("hostile")
    async with running_arena(root, "docker") as arena:
        node = arena.platform.sandbox.node
        yield arena
        good = arena.slot(GOOD_ID)
        assert good.restarts == 0, "the well-behaved plugin's worker was restarted"
    left = docker_client.api.containers(all=True, filters={"label": [f"maidcore.node={node}"]})
    assert left == [], f"containers left behind: {[c['Names'] for c in left]}"
    volumes = (docker_client.api.volumes(filters={"label": [f"maidcore.node={node}"]}) or {}).get("Volumes") or []
    assert volumes == [], f"code volumes left behind: {[v['Name'] for v in volumes]}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def process_arena(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-process")
    async with running_arena(root, "process") as arena:
        yield arena
        assert arena.slot(GOOD_ID).restarts == 0, "the well-behaved plugin's worker was restarted"


@pytest.fixture
def loopback_listener():
    """A host TCP listener on loopback that must never see a connection from a plugin."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def package_index():
    """A real package index on the host's loopback for the hostile packages a test adds."""
    async with serve_index() as index:
        yield index
