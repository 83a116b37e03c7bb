"""The compatibility matrix: a plugin on every official SDK line, and on ours, hosted unchanged.

Each line runs ``compat_plugin`` (which uses everything its SDK offers) on one real platform:
discord.py against the Discord emulator, the process sandbox (the official wheels' packages are
the version's site directory, as publishing would install them), SQLite storage, the real proxy
and WebSocket broker reaching loopback upstreams through the test's own allow rule. Every call's
outcome is checked, as each line's SDK decodes it.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from maidcore_discord.emulator import BOT_USER_ID, DEMO_GUILD_ID
from maidcore_discord.emulator import permissions as perms
from yourbot_sdk.testing import make_event

from maidcore import installs
from maidcore.extensions import Extensions
from maidcore.platform import Platform
from maidcore.proxy import HttpProxy, StaticResolver
from maidcore.proxy.websocket import WebSocketBroker
from maidcore.replay.canned import CannedDiscord
from maidcore.runner.hostapi import METHODS
from maidcore.scope import Scope
from maidcore.testing.platform import running_platform
from tests.core.proxy.upstream import Upstream
from tests.core.proxy.ws_upstream import WsUpstream
from tests.core.runner import compat_plugin
from tests.core.runner.conftest import PROXY_HOST, StaticNames, write_plugin
from tests.extensions.maidcore_docker.support import ensure_test_image
from tests.official_sdks import MATRIX, official_site_or_skip, store_on_site

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALICE, BOB = "900000000000000201", "900000000000000202"  # the demo guild's owner, and a member without rights
LINES = [(f"compat_{v.replace('.', '')}", dist, v) for dist, v in MATRIX] + [("compat_ours", None, None)]
IDS = [line[0] for line in LINES]
NAMES = {
    "api.compat.test": ["127.0.0.1"],
    "feed.compat.test": ["127.0.0.1"],
    "feed2.compat.test": ["127.0.0.1"],
    "extra.compat.test": ["127.0.0.1"],
    "extra2.compat.test": ["127.0.0.1"],
    "private.compat.test": ["10.0.0.5"],
}
PROXY_PER_MINUTE = 6


def version_of(line: tuple[str, str | None, str | None]) -> tuple[int, ...]:
    """The SDK version a line runs (ours counts as the newest: it follows the official line)."""
    return tuple(int(p) for p in line[2].split(".")) if line[2] else (99,)


#: The matrix platform's settings (``maidcore.testing.platform.local_settings`` merges them into a section).
SETTINGS: dict[str, Any] = {
    "event_source": "discord",  # discord.py against the emulator (local mode)
    "storage": {"database_url": "sqlite://"},
    # every battery makes ~60 gateway events that reach all six plugins: no event is dropped here
    "limits": {"proxy_requests_per_minute": PROXY_PER_MINUTE, "events_per_second": 10_000},
    "proxy": {"allow_http": True, "allowed_private_networks": ["127.0.0.1/32"]},
    "websocket": {"reconnect_initial_seconds": 0.05, "reconnect_max_seconds": 0.2},
    "runner": {"restart_backoff_initial_seconds": 0.05, "log_flush_seconds": 0.1},
    "discord": {"token": None, "emulator_port": 0, "demo": True},
}


class World:
    """The platform, its emulator and upstreams, and per line: the plugin's scope and the calls it made."""

    def __init__(self, platform: Platform, http: Upstream, ws: WsUpstream) -> None:
        self.platform = platform
        assert platform.local is not None
        self.emulator = platform.local.emulator
        self.http = http
        self.ws = ws
        self.general = self.emulator.channel_named(DEMO_GUILD_ID, "general")
        self.calls: dict[str, list[dict[str, Any]]] = {}
        self.settled: list[tuple[str, str, bool]] = []  # (plugin, message content, acked) of every delivery

    def scope(self, pid: str) -> Scope:
        return Scope(DEMO_GUILD_ID, pid)

    async def kv(self, pid: str, key: str) -> Any:
        return await self.platform.storage.kv.get(self.scope(pid), key)

    async def wait_kv(self, pid: str, key: str, predicate=lambda v: v is not None, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.kv(pid, key)
            if predicate(value):
                return value
            await asyncio.sleep(0.05)
        logs = await self.platform.storage.records.list_logs(plugin_id=pid, limit=20)
        messages = [entry.message for entry in logs]
        slots = [s.stats() for s in self.platform.runner.slots.values() if s.plugin_id == pid]
        slots.append([x for x in self.settled if x[0] == pid][-5:])
        raise AssertionError(f"{pid}: kv {key} never matched ({value!r}); worker {slots}; logs: {messages}")

    async def until(self, predicate, what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def errors(self, pid: str, method: str) -> list[dict[str, Any]]:
        return [c["error"] for c in self.calls.get(pid, []) if c["method"] == method and c["error"]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    sites = {pid: official_site_or_skip(dist, v) for pid, dist, v in LINES if dist}
    root = tmp_path_factory.mktemp("matrix")
    http, ws = Upstream(), WsUpstream()
    await http.start()
    await ws.start()
    async with running_platform(root / "data", **SETTINGS) as platform:
        # the test's allow rule: these names, and 127.0.0.1 alone among private addresses
        await platform.proxy.close()
        platform.proxy = HttpProxy(platform.settings.proxy, resolver=StaticResolver(NAMES))
        await platform.websocket.close()
        platform.websocket = WebSocketBroker(
            platform.settings.websocket, platform.settings.proxy, resolver=StaticResolver(NAMES)
        )
        try:
            w = World(platform, http, ws)
            hostapi = platform.runner.hostapi
            handle = hostapi.handle

            def recording(slot, conn, message):
                w.calls.setdefault(slot.plugin_id, []).append(
                    {"method": message.get("method"), "params": message.get("params"), "error": None}
                )
                return handle(slot, conn, message)

            # every slot is made after this (at install) and serves its calls through here
            platform.runner.slot_services = dataclasses.replace(platform.runner.slot_services, serve=recording)
            platform.runner.settled_observers.append(
                lambda slot, d, acked: w.settled.append((slot.plugin_id, str((d.event or {}).get("content")), acked))
            )
            hostapi.observers.append(
                lambda method, params, server, result, error: _note_error(w, params, method, error)
            )
            state = w.emulator.state
            guild = state.guild(DEMO_GUILD_ID)
            locked = state.add_channel(DEMO_GUILD_ID, "locked")
            locked["permission_overwrites"].append(
                {"id": BOT_USER_ID, "type": 1, "allow": "0", "deny": str(perms.bits("manage_messages"))}
            )
            role = state.add_role(DEMO_GUILD_ID, "matrix", 0, position=1)
            bundles = {}
            for index, (pid, dist, _v) in enumerate(LINES):
                target = f"91000000000000000{index}"
                state.add_user(target, f"target_{pid}")
                guild["members"][target] = state._member(target)
                bundles[pid] = compat_plugin.write(
                    root / "plugins",
                    pid,
                    channel=w.general,
                    locked=locked["id"],
                    target=target,
                    role=role["id"],
                    http_port=http.port,
                    ws_port=ws.port,
                    module="mmo_maid_sdk" if dist == "mmo-maid-sdk" else "yourbot_sdk",
                )
                secrets = platform.storage.secrets
                await secrets.set_auth(pid, "", "API_TOKEN", f"api-{pid}", ["api.compat.test"])
                await secrets.set_auth(pid, "", "FEED_TOKEN", f"feed-{pid}", ["feed.compat.test"])
            for pid, _dist, _v in LINES:
                site = sites.get(pid)
                if site is not None:
                    await store_on_site(platform, bundles[pid], site)
                await installs.install(platform, bundles[pid], DEMO_GUILD_ID, installs.ALL)
            runner = platform.runner
            await w.until(
                lambda: all(any(s.plugin_id == pid and s.ready for s in runner.slots.values()) for pid in IDS),
                "every worker to take host.boot",
                timeout=60,
            )
            commands = lambda: {c["name"] for c in state.guild(DEMO_GUILD_ID)["commands"]}  # noqa: E731
            await w.until(lambda: all(pid in commands() for pid in IDS), "slash commands synced", timeout=30)
            yield w
        finally:
            await platform.proxy.close()  # the ones swapped in above; the platform closes what it started
            await platform.websocket.close()
    await ws.close()
    await http.close()


def _note_error(world: World, params: Any, method: str, error: Any) -> None:
    if error is None:
        return
    for calls in world.calls.values():
        for call in reversed(calls):
            if call["params"] is params:
                call["error"] = error
                return


@pytest.fixture(params=LINES, ids=IDS)
def line(request):
    return request.param


# --- hosts a server admin allows (0.8.1 ws, 0.10 http); first, before the battery spends the proxy budget ---


async def test_allow_host_needs_a_server_admin_and_a_public_host(world, line):
    pid = line[0]
    version = version_of(line)
    if version < (0, 8, 1):
        pytest.skip(f"{pid}'s SDK has no allow_host")
    world.emulator.run_command(world.general, BOB, f"{pid}-admin")
    refused = await world.wait_kv(pid, f"report:admin:{BOB}")
    assert sorted(refused.pop("followup")["ok"]) == ["channel_id", "message_id"]
    assert {v["error"] for v in refused.values()} == {"ValidationError"}
    assert all("a member with Manage Server" in v["message"] for v in refused.values())
    world.emulator.run_command(world.general, ALICE, f"{pid}-admin")
    allowed = await world.wait_kv(pid, f"report:admin:{ALICE}")
    if "ws.allow_host" in allowed:
        assert allowed["ws.allow_host"]["ok"] == {"host": "feed2.compat.test", "allowed": True}
        assert allowed["ws.revoke_host"]["ok"] == {"host": "feed2.compat.test", "revoked": True}
    assert sorted(allowed.pop("followup")["ok"]) == ["channel_id", "message_id"]
    if version >= (0, 10):
        assert allowed["http.allow_host"]["ok"] == {"host": "extra.compat.test", "allowed": True}
        assert allowed["http.revoke_host"]["ok"] == {"host": "extra2.compat.test", "revoked": True}
        assert "10.0.0.5, a private address" in allowed["http.private"]["message"]
        world.emulator.post_message(world.general, ALICE, f"!{pid} extra")
        assert (await world.wait_kv(pid, "report:http.extra"))["ok"] == 200
        approvals = await world.platform.storage.records.list_host_approvals(server_id=DEMO_GUILD_ID, plugin_id=pid)
        assert [(a.kind, a.host, a.approved_by) for a in approvals] == [("http", "extra.compat.test", ALICE)]


# --- the battery: storage, HTTP, Discord, and errors as each SDK decodes them ---------------------------


async def test_the_battery_of_calls(world, line):
    pid = line[0]
    version = version_of(line)
    world.emulator.post_message(world.general, ALICE, f"!{pid} run")
    r = await world.wait_kv(pid, "report:battery", timeout=60)
    ok = {name: v["ok"] for name, v in r.items() if isinstance(v, dict) and "ok" in v}
    unexpected = {n: v for n, v in r.items() if n != "ctx" and not n.startswith("error.") and "ok" not in v}
    if "http.undeclared" in unexpected:
        assert unexpected.pop("http.undeclared")["error"] == "CapabilityError"
    assert unexpected == {}, "\n".join(f"{k}: {v['error']} {v['message']}" for k, v in unexpected.items())
    assert r["ctx"] == {"server_id": DEMO_GUILD_ID, "plugin_id": pid, "version": "1.0.0"}
    # storage
    assert ok["kv.get"] == {"n": 1} and ok["kv.increment"] == 2 and ok["kv.decrement"] == -3
    assert ok["kv.get_many"] == {"p:1": 1, "p:3": 3}
    assert ok["kv.list"] == ["p:1", "p:2"] and ok["kv.count"] == 3 and ok["kv.exists"] == [True, False]
    assert ok["kv.list_values"] == {"p:1": 1, "p:2": 2, "p:3": 3}
    assert await world.kv(pid, "stats") == {"x": {"y": 2}} and await world.kv(pid, "p:2") is None
    if "kv.list.start_after" in r:
        assert ok["kv.list.start_after"] == ["p:3"]
    assert ok["sql.query"] == [{"n": 7, "s": "seven"}] and ok["sql.query_one"] == {"s": "seven"}
    assert ok["sql.scalar"] == 1
    assert ok["sql.query.truncated"] is (False if version >= (0, 9) else None)
    assert ok["ephemeral.counter"] == [1, 2] and ok["ephemeral.cooldown"] is True
    assert ok["ephemeral.dedup"] == [True, False] and ok["ephemeral.flag"] == [True, False]
    assert ok["metrics.total"] == 2.0 and ok["metrics.query"] == 2.0
    if "secrets.get" in r:  # 0.5.2 has no ctx.secrets
        assert ok["secrets.get"] == "hunter2" and ok["secrets.delete"] is None
    # the proxy, and secret auth where the SDK has it (0.8+)
    assert ok["http.get"] == "/echo?x=1" and ok["http.post"] == "hi"
    assert r["http.undeclared"]["error"] == "CapabilityError"
    if version >= (0, 8):
        assert ok.get("http.secret_auth") == f"Bearer api-{pid}"
    # Discord, through discord.py and the emulator
    messages = world.emulator.state.messages[world.general]
    sent = messages[ok["discord.send_message"]["message_id"]]
    assert sent["content"] == "edited" and sent["reactions"] and not sent["pinned"]
    if "discord.send_message.mentions" in r:  # 0.9+: honoured, and never @everyone from a plugin
        quiet = messages[ok["discord.send_message.mentions"]]
        assert quiet["mention_everyone"] is False and quiet["mentions"] == []
    assert ok["discord.get_guild"] == DEMO_GUILD_ID and ok["discord.get_channel"] == "general"
    assert {"general", "locked"} <= set(ok["discord.list_channels"])
    assert ok["discord.search_members"] == [ok["discord.get_member"]] and ok["discord.list_roles"] is True
    assert ok["discord.edit_channel"] is True and ok["discord.execute_webhook"] is True
    assert ok["discord.timeout_bulk"] == 1 and ok["discord.add_role_bulk"] == 1 == ok["discord.remove_role_bulk"]
    if "discord.iter_messages" in r:
        assert ok["discord.iter_messages"] >= 3
    assert ok["discord.ban_member"] is None and ok["discord.unban_member"] is None
    # errors, decoded by each line as its own platform taught it
    assert r["error.validation"]["error"] == "ValidationError"
    assert r["error.capability"]["error"] == r["error.capability.bulk"]["error"] == "CapabilityError"
    denied = r["error.permission"]
    assert "SdkPermissionError" in denied["classes"]
    assert denied["permission"] == ("manage_messages" if version >= (0, 8, 5) else "")
    limited = r["error.rate_limit"]
    assert limited["error"] == "RateLimitError"
    sent_error = world.errors(pid, "proxy.request")[-1]
    assert sent_error["code"] == sent_error["data"]["code"] == "RATE_LIMITED"
    if version >= (0, 8, 5):
        assert limited["retry_after"] == sent_error["retry_after"] and 0 < limited["retry_after"] <= 60
        assert limited["code"] == "RATE_LIMITED"
    else:  # 0.5.x/0.6.x derive it from "remaining=0/min", as on their platform
        assert limited["retry_after"] == 60


# --- interactions: a button on a board, and the board updated in place ---------------------------------


async def test_slash_command_and_a_button_that_updates_its_message(world, line):
    pid = line[0]
    emulator = world.emulator
    inter = emulator.run_command(world.general, ALICE, pid)
    await world.wait_kv(pid, "command:user", lambda v: v == ALICE)
    board = await world.until(
        lambda: next(
            (
                m
                for m in emulator.state.messages[world.general].values()
                if m.get("interaction_metadata", {}).get("id") == inter["id"]
            ),
            None,
        ),
        "the board",
    )
    count = len(emulator.state.messages[world.general])
    tell = emulator.click(world.general, board["id"], BOB, f"{pid}:tell")
    modal = await world.until(lambda: emulator.state.modals.get(tell["id"]), "the modal")
    assert modal["title"] == "Tell" and modal["custom_id"] == f"{pid}:modal"
    emulator.click(world.general, board["id"], BOB, f"{pid}:vote")
    await world.wait_kv(pid, "votes", lambda v: v == 1)
    answer = await world.kv(pid, "vote:answer")
    assert answer == ("update" if version_of(line) >= (0, 7) else "reply")
    if answer == "update":
        await world.until(lambda: board["content"] == "board 1", "the board updated in place")
        assert board["components"] == [] and len(emulator.state.messages[world.general]) == count
    else:
        await world.until(lambda: len(emulator.state.messages[world.general]) == count + 1, "the reply")
        assert board["content"] == "board 0"


# --- dashboards, lifecycle signals, cron ----------------------------------------------------------------


async def test_dashboard_request(world, line):
    pid = line[0]
    result = await world.platform.runner.call_dashboard(DEMO_GUILD_ID, pid, "stats", {})
    assert result == {"value": 1, "server": DEMO_GUILD_ID}


async def test_lifecycle_hooks_run_for_their_server(world, line):
    pid = line[0]
    # the call lands in this server's KV on every line; before 0.8.4 the hook's ctx.server_id was the boot
    # ctx's (empty in a pool), as on the platform those lines were written for
    seen = DEMO_GUILD_ID if version_of(line) >= (0, 8, 4) else ""
    await installs.set_enabled(world.platform, DEMO_GUILD_ID, pid, False)
    assert await world.wait_kv(pid, "lifecycle:disable") == seen  # the hook acts although the plugin is off
    await installs.set_enabled(world.platform, DEMO_GUILD_ID, pid, True)
    assert await world.wait_kv(pid, "lifecycle:enable") == seen
    slot = next(s for s in world.platform.runner.slots.values() if s.plugin_id == pid)
    await world.until(lambda: slot.ready, "the worker")


async def test_manifest_cron_fires_where_the_sdk_runs_it(world):
    scheduler = world.platform.runner.scheduler
    minute = datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    assert scheduler.run_cron(minute) == len(LINES)
    assert scheduler.run_cron(minute) == 0  # at most once per (server, schedule, minute)
    runs = [line[0] for line in LINES if version_of(line) >= (0, 8, 4)]
    for pid in runs:
        assert await world.wait_kv(pid, "cron:every_five") == 1
    await asyncio.sleep(0.5)
    for pid in IDS:  # 0.5.x-0.8.3 ran cron in-process in single mode only; in a pool it never fired for them
        assert await world.kv(pid, "cron:every_five") == (1 if pid in runs else None)


# --- WebSockets (0.8+): the host holds the socket, frames arrive in order, reconnects ---------------------


async def test_websocket_frames_reconnect_and_secret_auth(world, line):
    pid = line[0]
    if version_of(line) < (0, 8):
        pytest.skip(f"{pid}'s SDK has no ctx.ws")
    ws = world.ws
    before = len(ws.handshakes)
    world.emulator.post_message(world.general, ALICE, f"!{pid} ws")
    ensured = await world.wait_kv(pid, "report:ws.ensure")
    assert ensured["ok"]["name"] == "feed" and ensured["ok"]["state"] == "open"
    await world.wait_kv(pid, "ws:opened", lambda v: v == 1)
    assert ws.handshakes[before]["authorization"] == f"Bearer feed-{pid}"  # the secret, added by the host
    socket = next(s for s in world.platform.websocket.sockets(world.scope(pid)))
    server = ws.sockets[-1]
    await server.send_str("one")
    await server.send_str("ping")
    await server.send_bytes(b"\x00\xff")
    await world.wait_kv(pid, "ws:frames", lambda v: (v or 0) >= 5)  # hello/sub echoes, one, ping, binary
    assert base64.b64decode(await world.kv(pid, "ws:binary")) == b"\x00\xff"
    await world.until(lambda: "pong" in ws.received, "the plugin's answer to ping")
    await server.close(code=1012)
    await world.wait_kv(pid, "ws:opened", lambda v: v == 2)
    closed = await world.kv(pid, "ws:closed")
    assert closed["will_reconnect"] is True and socket.connects == 2
    world.emulator.post_message(world.general, ALICE, f"!{pid} ws close")
    assert (await world.wait_kv(pid, "report:ws.close"))["ok"] == {"closed": True}
    await world.until(lambda: not world.platform.websocket.sockets(world.scope(pid)), "the socket closed")


# --- the whole wire ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("pid", [LINES[-2][0], "compat_ours"])  # yourbot-sdk 0.10.1, and ours
async def test_the_newest_sdks_called_every_host_method_and_each_was_answered(world, pid):
    called = {c["method"] for c in world.calls[pid]}
    assert called == set(METHODS), sorted(set(METHODS) - called)
    unknown = [c for c in world.calls[pid] if c["error"] and "unknown method" in c["error"]["message"]]
    assert unknown == []
    correlated = [c for c in world.calls[pid] if "_event_id" in (c["params"] or {})]
    assert len(correlated) > 60  # every call made while handling a delivery names it


# --- a 0.10.1 plugin in the Docker sandbox, installed from its requirements.txt as publishing does ---------------

DOCKER_PLUGIN = """
import json

from yourbot_sdk import Plugin

plugin = Plugin()


def outcome(fn):
    try:
        return {"ok": fn()}
    except Exception as exc:
        return {"error": type(exc).__name__, "code": getattr(exc, "code", None), "message": str(exc)[:200]}


@plugin.on_event("message_create")
def on_message(ctx, event):
    api = "http://api.example.test:{port}/echo"
    r = {
        "kv": outcome(lambda: ctx.kv.increment("n", 2)),
        "sql": outcome(lambda: (ctx.sql.execute("CREATE TABLE t (n INTEGER)"),
                                ctx.sql.execute("INSERT INTO t VALUES ($1)", [3]),
                                ctx.sql.scalar("SELECT n FROM t"))[2]),
        "http": outcome(lambda: json.loads(ctx.http.request("GET", api, secret_auth="API")["body_bytes"])["headers"]
                        .get("authorization")),
        "send": outcome(lambda: ctx.discord.send_message(channel_id="5", content="from docker")),
        "denied": outcome(lambda: ctx.discord.ban_member(user_id="7")),
        "server": ctx.server_id,
    }
    ctx.kv.set("report", r)


plugin.run()
"""


@pytest.mark.slow
async def test_a_0_10_1_plugin_in_the_docker_sandbox(tmp_path, docker_client):
    """Published as the official platform takes it: ``requirements.txt`` names ``yourbot-sdk==0.10.1``, which the
    image provides (our drop-in, ahead of the version's site directory), so the plugin runs unchanged."""
    ensure_test_image(docker_client)
    upstream = Upstream()
    await upstream.start()
    discord = CannedDiscord()
    extensions = Extensions.load()
    extensions.register(StaticNames(), name="static_names")
    try:
        async with running_platform(
            tmp_path / "data",
            source=discord,
            extensions=extensions,
            sandbox_backend="docker",
            docker={"warm_pool_size": 0},
            storage={"database_url": "sqlite://"},
            proxy={"allow_http": True, "allow_private_addresses": True},
        ) as platform:
            bundle = write_plugin(
                tmp_path / "plugins",
                "docked",
                DOCKER_PLUGIN.replace("{port}", str(upstream.port)),
                capabilities=["storage:kv", "storage:sql", "storage:secrets", "discord:send_message"],
                proxy_domains_requested=[PROXY_HOST],
            )
            (bundle / "requirements.txt").write_text("yourbot-sdk==0.10.1\n", encoding="utf-8")
            await platform.storage.secrets.set_auth("docked", "", "API", "in-docker", [PROXY_HOST])
            await installs.install(platform, bundle, "5151", installs.ALL)
            await platform.runner.router.publish(
                make_event("message_create", guild_id="5151", channel_id="5", content="go"),
                event_type="message_create",
            )
            scope = Scope("5151", "docked")
            report = None
            for _ in range(600):
                report = await platform.storage.kv.get(scope, "report")
                if report:
                    break
                await asyncio.sleep(0.1)
            assert report == {
                "kv": {"ok": 2},
                "sql": {"ok": 3},
                "http": {"ok": "Bearer in-docker"},
                "send": {"ok": {**report["send"]["ok"], "message_id": "1", "channel_id": "5"}},  # as canned answers
                "denied": {
                    "error": "CapabilityError",
                    "code": "CAPABILITY_DENIED",
                    "message": report["denied"]["message"],
                },
                "server": "5151",
            }
            assert platform.chosen["sandbox_backend"] == "docker"
            assert "discord:ban_members is not granted" in report["denied"]["message"]
    finally:
        await upstream.close()
