"""Every feature the author plugins use, hosted: packaged as authors package them, run on the official wheel.

Each plugin under ``plugins/`` is checked with the official ``yourbot validate`` (0.10.1), zipped as
its author ships it, taken through our upload review, and installed on a real platform: discord.py
against the Discord emulator, the process sandbox, SQLite storage, the real HTTP proxy reaching a
loopback status page through the test's allow rule. The module runs twice: with the official wheel
as the version's packages (``store_on_site``: the plugin runs on ``yourbot-sdk`` 0.10.1 itself), and
on our SDK, as publishing provides it for the ``yourbot-sdk`` requirement line. Then people use the
plugins: slash commands with options, choices and sub-commands, buttons that update their message,
modals, ephemeral replies, defer + follow-up, cooldowns, dedup, sliding counters, KV with paths and
pages, SQL, cron, dashboards, secret-backed HTTP auth, ``allow_host`` for admins only, message
history, mentions limited by ``allowed_mentions``, timeouts and role rewards, errors as the SDK
decodes them.

The one change made to a bundle: pulse's status page URL points at the test's upstream (plain HTTP on
loopback) instead of ``https://status.pulse.test``.
"""

from __future__ import annotations

import asyncio
import json
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from maidcore_discord.emulator import DEMO_GUILD_ID

from maidcore import installs
from maidcore.marketplace import review
from maidcore.marketplace.intake import unpack_bundle
from maidcore.proxy import HttpProxy, StaticResolver
from maidcore.proxy.websocket import WebSocketBroker
from maidcore.records import VersionStatus
from maidcore.scope import Scope
from maidcore.testing.platform import running_platform
from tests.authors.plugins import NAMES, copy_project
from tests.core.proxy.ws_upstream import WsUpstream
from tests.official_sdks import NEWEST, official_python_or_skip, official_site_or_skip, store_on_site

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALICE, BOB = "900000000000000201", "900000000000000202"  # the demo guild's owner, and a member without rights
TARGET, REPEAT = "930000000000000001", "930000000000000002"
CHATTY = [f"93000000000000010{i}" for i in range(7)]
NAMES_RESOLVED = {n: ["127.0.0.1"] for n in ("status.pulse.test", "hooks.pulse.test", "feed.relay.test")}
SETTINGS: dict[str, Any] = {
    "event_source": "discord",
    "storage": {"database_url": "sqlite://"},
    "limits": {"events_per_second": 10_000},
    "proxy": {"allow_http": True, "allowed_private_networks": ["127.0.0.1/32"]},
    "websocket": {"reconnect_initial_seconds": 0.05, "reconnect_max_seconds": 0.2},
    "runner": {"restart_backoff_initial_seconds": 0.05, "log_flush_seconds": 0.1},
    "discord": {"token": None, "emulator_port": 0, "demo": True},
}


class StatusPage:
    """A status page on loopback: answers ``/api/v2/summary.json`` with ``status`` and records who asked how."""

    def __init__(self) -> None:
        self.status = {"indicator": "none", "description": "All Systems Operational"}
        self.requests: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_get("/api/v2/summary.json", self.summary)
        self.runner = web.AppRunner(app, access_log=None)
        self.port = 0

    async def summary(self, request: web.Request) -> web.Response:
        self.requests.append({"query": dict(request.query), "authorization": request.headers.get("Authorization")})
        return web.json_response({"status": self.status})

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        await self.runner.cleanup()


class World:
    def __init__(self, platform: Any, page: StatusPage) -> None:
        self.platform = platform
        self.page = page
        self.emulator = platform.local.emulator
        self.state = self.emulator.state
        self.general = self.emulator.channel_named(DEMO_GUILD_ID, "general")
        self.reviews: dict[str, Any] = {}

    async def kv(self, pid: str, key: str) -> Any:
        return await self.platform.storage.kv.get(Scope(DEMO_GUILD_ID, pid), key)

    async def put(self, pid: str, key: str, value: Any) -> None:
        await self.platform.storage.kv.put(Scope(DEMO_GUILD_ID, pid), key, value)

    async def until(self, probe, what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(0.05)
        logs = await self.platform.storage.records.list_logs(limit=15)
        raise AssertionError(f"timed out waiting for {what}; recent plugin logs: {[e.message for e in logs]}")

    async def kv_is(self, pid: str, key: str, predicate=lambda v: v is not None) -> Any:
        async def probe():
            value = await self.kv(pid, key)
            return (value,) if predicate(value) else None

        return (await self.until(probe, f"{pid} kv {key}"))[0]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        return list(self.state.messages[channel].values())

    async def reply(self, inter: dict[str, Any], channel: str | None = None) -> dict[str, Any]:
        """The message the bot answered ``inter`` with."""
        channel = channel or self.general
        return await self.until(
            lambda: next(
                (
                    m
                    for m in self.messages(channel)
                    if (m.get("interaction_metadata") or {}).get("id") == inter["id"] and not m["flags"] & 128
                ),
                None,
            ),
            f"the answer to {inter['data'].get('name') or inter['data'].get('custom_id')}",
        )

    async def command(self, user: str, name: str, options: Any = None, channel: str | None = None) -> dict:
        inter = self.emulator.run_command(channel or self.general, user, name, options)
        return await self.reply(inter, channel)


def package(project: Path, dest: Path) -> Path:
    """The author's upload: every file of the project (caches left out) in one zip."""
    archive = dest / f"{project.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(project.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(project).as_posix())
    return archive


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["official", "ours"])
async def world(request, tmp_path_factory):
    official = official_python_or_skip(*NEWEST)
    site = official_site_or_skip(*NEWEST) if request.param == "official" else None
    root = tmp_path_factory.mktemp("authors")
    page = StatusPage()
    await page.start()
    feed = WsUpstream()
    await feed.start()
    projects = {}
    for name in NAMES:
        project = copy_project(name, root / "src")
        main = project / "__main__.py"
        if name == "pulse":
            main.write_text(
                main.read_text().replace("https://status.pulse.test", f"http://status.pulse.test:{page.port}")
            )
        if name == "relay":
            main.write_text(
                main.read_text().replace("wss://feed.relay.test/v1/stream", feed.url(host="feed.relay.test"))
            )
        checked = await asyncio.to_thread(
            __import__("subprocess").run,
            [str(official.parent / "yourbot"), "validate"],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, f"official yourbot validate refused {name}:\n{checked.stdout}"
        projects[name] = package(project, root)
    async with running_platform(root / "data", **SETTINGS) as platform:
        await platform.proxy.close()
        platform.proxy = HttpProxy(platform.settings.proxy, resolver=StaticResolver(NAMES_RESOLVED))
        await platform.websocket.close()
        platform.websocket = WebSocketBroker(
            platform.settings.websocket, platform.settings.proxy, resolver=StaticResolver(NAMES_RESOLVED)
        )
        try:
            w = World(platform, page)
            w.feed = feed
            w.sdk = request.param
            guild = w.state.guild(DEMO_GUILD_ID)
            for i, uid in enumerate([TARGET, REPEAT, *CHATTY]):
                w.state.add_user(uid, f"member{i}")
                guild["members"][uid] = w.state._member(uid)
            w.modlog = w.state.add_channel(DEMO_GUILD_ID, "mod-log")["id"]
            w.status = w.state.add_channel(DEMO_GUILD_ID, "status")["id"]
            w.reward = w.state.add_role(DEMO_GUILD_ID, "regular", 0, position=1)["id"]
            await platform.storage.secrets.set_auth("pulse", "", "STATUS_TOKEN", "tok-123", ["status.pulse.test"])
            await platform.storage.secrets.set_auth("relay", "", "FEED_TOKEN", "feed-secret", ["feed.relay.test"])
            for name, archive in projects.items():
                record = await review.submit(platform, "author", archive)
                w.reviews[name] = record
                if site is not None:
                    # the files the platform keeps of the upload (intake leaves tests/ out), run on the official wheel
                    kept = unpack_bundle(archive, root / "unpacked" / name)
                    assert kept.ok, kept.findings
                    await store_on_site(platform, kept.root, site)
                # else publishing provides our SDK for the plugin's "yourbot-sdk>=0.10,<0.11" line
                await installs.install(platform, archive, DEMO_GUILD_ID, installs.ALL)
            runner = platform.runner
            await w.until(
                lambda: all(any(s.plugin_id == n and s.ready for s in runner.slots.values()) for n in NAMES),
                "every plugin to boot",
                timeout=60,
            )
            commands = lambda: {c["name"] for c in w.state.guild(DEMO_GUILD_ID)["commands"]}  # noqa: E731
            await w.until(
                lambda: {"strike", "strikes", "rank", "top", "daily", "pulse", "relay"} <= commands(), "commands"
            )
            yield w
        finally:
            await platform.proxy.close()
            await platform.websocket.close()
    await feed.close()
    await page.close()


async def test_our_review_accepts_what_the_official_validate_accepts(world):
    for name, record in world.reviews.items():
        errors = [f for f in record.findings if f.get("severity") == "error"]
        assert errors == [] and record.status != VersionStatus.REJECTED, (name, record.findings)


async def test_the_plugins_run_on_the_sdk_of_the_line(world):
    for slot in world.platform.runner.slots.values():
        if slot.plugin_id in NAMES:
            version = await world.platform.records.get_version(slot.plugin_id, slot.version)
            if world.sdk == "official":
                assert "yourbot-sdk-0.10.1" in str(version.site_path)
            else:
                assert version.site_path is None  # nothing installed: the platform's own SDK serves the line


# --- guardian: moderation ------------------------------------------------------------------------------


async def test_guardian_setup_and_a_strike_with_choices(world):
    reply = await world.command(ALICE, "guardian-setup", {"channel": world.modlog})
    assert reply["ephemeral_to"] == ALICE and f"<#{world.modlog}>" in reply["content"]
    assert await world.kv_is("guardian", "config:log_channel") == world.modlog
    reply = await world.command(ALICE, "strike", {"member": TARGET, "reason": "harassment", "weight": 2})
    assert reply["ephemeral_to"] == ALICE
    assert reply["content"] == f"Strike for <@{TARGET}> (Harassment). Total: 2."
    assert reply["components"][0]["components"][0]["custom_id"] == f"undo:{TARGET}:2"
    assert await world.kv("guardian", f"strikes:{TARGET}") == 2
    assert await world.kv("guardian", f"last:{TARGET}") == {"reason": "harassment", "by": ALICE, "total": 2}
    logged = await world.until(lambda: world.messages(world.modlog), "the mod-log entry")
    assert logged[-1]["content"] == reply["content"] and logged[-1]["mentions"] == []  # allowed_mentions parse []
    again = await world.command(ALICE, "strike", {"member": TARGET, "reason": "spam"})
    assert again["content"] == "That member was struck moments ago."  # ctx.ephemeral cooldown, hosted
    assert await world.kv("guardian", f"strikes:{TARGET}") == 2


async def test_guardian_third_strike_times_out_and_undo_updates_in_place(world):
    await world.put("guardian", f"strikes:{REPEAT}", 2)
    reply = await world.command(ALICE, "strike", {"member": REPEAT, "reason": "spam"})
    assert reply["content"].endswith("Timed out for 60 minutes.")
    member = world.state.guild(DEMO_GUILD_ID)["members"][REPEAT]
    assert member["communication_disabled_until"]
    until = datetime.fromisoformat(member["communication_disabled_until"].replace("Z", "+00:00"))
    assert 3500 < (until - datetime.now(UTC)).total_seconds() <= 3600
    count = len(world.messages(world.general))
    world.emulator.click(world.general, reply["id"], ALICE, f"undo:{REPEAT}:1")
    await world.until(lambda: reply["content"].startswith("Strike undone."), "the message updated in place")
    assert reply["content"] == f"Strike undone. <@{REPEAT}> has 2." and reply["components"] == []
    assert len(world.messages(world.general)) == count
    assert await world.kv("guardian", f"strikes:{REPEAT}") == 2


async def test_guardian_sub_commands_appeal_modal_and_dedup(world):
    show = [{"name": "show", "type": 1, "options": [{"name": "member", "type": 6, "value": TARGET}]}]
    reply = await world.command(TARGET, "strikes", show)
    assert reply["content"] == f"<@{TARGET}> has 2 strike(s). Last: Harassment."
    appeal = reply["components"][0]["components"][0]
    assert appeal["custom_id"] == f"appeal:{TARGET}"
    stranger = world.emulator.click(world.general, reply["id"], BOB, f"appeal:{TARGET}")
    assert (await world.reply(stranger))["content"] == "Only the member can appeal."
    click = world.emulator.click(world.general, reply["id"], TARGET, f"appeal:{TARGET}")
    modal = await world.until(lambda: world.state.modals.get(click["id"]), "the appeal modal")
    assert modal["custom_id"] == "appeal_form" and modal["title"] == "Appeal your strikes"
    field = modal["components"][0]["components"][0]
    assert (field["custom_id"], field["style"], field["min_length"]) == ("why", 2, 10)
    submitted = world.emulator.submit_modal(click["id"], {"why": "  It was a misunderstanding  "})
    assert (await world.reply(submitted))["content"] == "Appeal received. A moderator will read it."
    assert await world.kv("guardian", f"appeal:{TARGET}") == {"why": "It was a misunderstanding"}
    await world.until(
        lambda: any(m["content"].startswith(f"Appeal from <@{TARGET}>") for m in world.messages(world.modlog)),
        "the appeal in the mod log",
    )
    second = world.emulator.click(world.general, reply["id"], TARGET, f"appeal:{TARGET}")
    await world.until(lambda: world.state.modals.get(second["id"]), "the modal again")
    again = world.emulator.submit_modal(second["id"], {"why": "Please, it really was a misunderstanding"})
    assert (await world.reply(again))["content"] == "You already appealed this hour."  # ctx.ephemeral.dedup
    clear = [{"name": "clear", "type": 1, "options": [{"name": "member", "type": 6, "value": TARGET}]}]
    assert (await world.command(ALICE, "strikes", clear))["content"] == f"Cleared <@{TARGET}>."
    assert await world.kv("guardian", f"strikes:{TARGET}") is None


async def test_guardian_spam_brake_deletes_and_warns_once(world):
    spam = world.state.add_channel(DEMO_GUILD_ID, "spam")["id"]
    posted = [world.emulator.post_message(spam, CHATTY[0], f"buy now {i}") for i in range(8)]
    warning = await world.until(
        lambda: next((m for m in world.messages(spam) if m["author"]["id"] != CHATTY[0]), None), "the warning"
    )
    assert warning["content"] == f"<@{CHATTY[0]}>, slow down."
    assert [u["id"] for u in warning["mentions"]] == [CHATTY[0]]
    # the sliding counter lets five through (which five depends on the order of four dispatch threads)
    kept = lambda: [p for p in posted if p["id"] in world.state.messages[spam]]  # noqa: E731
    await world.until(lambda: len(kept()) == 5, "three deletions")
    await asyncio.sleep(0.3)
    others = [m["content"] for m in world.messages(spam) if m["author"]["id"] != CHATTY[0]]
    assert others == [warning["content"]]  # dedup: warned once


async def test_guardian_nightly_cron_pages_through_strikes(world):
    for i in range(120):
        await world.put("guardian", f"strikes:8{i:05d}", 1 if i % 2 else 3)
    assert world.platform.runner.scheduler.run_cron(datetime(2026, 3, 2, 4, 0, tzinfo=UTC)) >= 1
    await world.until(
        lambda: any(m["content"].startswith("Forgave one strike") for m in world.messages(world.modlog)), "forgiveness"
    )
    assert await world.kv("guardian", "strikes:800000") == 2 and await world.kv("guardian", "strikes:800001") is None
    assert await world.kv("guardian", "strikes:800119") is None and await world.kv("guardian", "strikes:800118") == 2


# --- levels: SQL, KV paths, level-ups, roles, buttons, dashboards, cron ----------------------------------


async def test_levels_xp_levels_and_the_reward_role(world):
    saved = await world.platform.runner.call_dashboard(
        DEMO_GUILD_ID,
        "levels",
        "save_settings",
        {"values": {"announce": True, "reward_role": world.reward, "reward_level": 1}},
    )
    assert saved == {"ok": True}
    refused = await world.platform.runner.call_dashboard(
        DEMO_GUILD_ID, "levels", "save_settings", {"values": {"reward_level": 500}}
    )
    assert refused == {"ok": False, "error": "reward level must be between 1 and 100"}
    loaded = await world.platform.runner.call_dashboard(DEMO_GUILD_ID, "levels", "load_settings", {})
    assert loaded == {"values": {"announce": True, "reward_role": world.reward, "reward_level": 1}}
    chat = world.state.add_channel(DEMO_GUILD_ID, "chat")["id"]
    await world.put("levels", f"profile:{BOB}", {"xp": 40})
    world.emulator.post_message(chat, BOB, "hello")
    world.emulator.post_message(chat, BOB, "hello again")  # inside the one-minute XP window
    up = await world.until(
        lambda: next((m for m in world.messages(chat) if "reached level" in m["content"]), None), "level-up"
    )
    assert up["content"] == f"<@{BOB}> reached level 1!" and [u["id"] for u in up["mentions"]] == [BOB]
    await world.until(lambda: world.reward in world.state.guild(DEMO_GUILD_ID)["members"][BOB]["roles"], "the role")
    assert await world.kv("levels", f"profile:{BOB}") == {"xp": 55}  # kv.increment(path="xp"), once


async def test_levels_leaderboard_pages_with_buttons_and_rank(world):
    chat = world.state.add_channel(DEMO_GUILD_ID, "chat2")["id"]
    for uid in CHATTY[1:]:
        world.emulator.post_message(chat, uid, "hi")
    await world.until(
        lambda: world.platform.runner.call_dashboard(DEMO_GUILD_ID, "levels", "members", {}),
        "the SQL rows",
    )
    await world.until(
        lambda: _value_at_least(world.platform.runner.call_dashboard(DEMO_GUILD_ID, "levels", "members", {}), 7),
        "seven ranked members",
    )
    board = await world.command(ALICE, "top")
    lines = board["content"].splitlines()
    assert len(lines) == 5 and lines[0].startswith("1. ") and lines[0].endswith(" — 55 XP")  # BOB, level 1
    prev, nxt = board["components"][0]["components"]
    assert prev.get("disabled") is True and nxt["custom_id"] == "top:2" and not nxt.get("disabled")
    world.emulator.click(world.general, board["id"], ALICE, "top:2")
    await world.until(lambda: board["content"].startswith("6. "), "page 2 in place")
    ranked = (await world.platform.runner.call_dashboard(DEMO_GUILD_ID, "levels", "members", {}))["value"]
    assert len(board["content"].splitlines()) == ranked - 5
    rank = await world.command(BOB, "rank")
    fields = [f["value"] for f in rank["embeds"][0]["fields"]]
    assert fields == ["1", "55 / 200", "0"]
    table = await world.platform.runner.call_dashboard(DEMO_GUILD_ID, "levels", "top_table", {})
    assert table["total"] == ranked and table["rows"][0]["xp"] == 55


async def _value_at_least(call, n: int) -> bool:
    return ((await call) or {}).get("value", 0) >= n


async def test_levels_daily_coins_once(world):
    first = await world.command(ALICE, "daily")
    assert first["content"] == "+100 coins. You have 100." and first["ephemeral_to"] == ALICE
    second = await world.command(ALICE, "daily")
    assert second["content"] == "Already collected today. Come back tomorrow!"
    assert await world.kv("levels", f"profile:{ALICE}") == {"coins": 100}


async def test_levels_dashboard_chart_and_weekly_cron(world):
    chart = await world.platform.runner.call_dashboard(DEMO_GUILD_ID, "levels", "xp_chart", {})
    assert set(chart) == {"labels", "series"}
    monday = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    assert monday.weekday() == 0
    assert world.platform.runner.scheduler.run_cron(monday) >= 1
    winners = await world.kv_is("levels", "last_week")
    assert len(winners) == 3 and winners[0]["xp"] == 55
    members = await world.platform.runner.call_dashboard(DEMO_GUILD_ID, "levels", "members", {})
    assert members == {"value": 0}


# --- pulse: cron + HTTP through the proxy with secret auth, defer/follow-up, allow_host, history ------------


async def test_pulse_watch_then_cron_posts_status_changes(world):
    reply = await world.command(
        ALICE,
        "pulse",
        [{"name": "watch", "type": 1, "options": [{"name": "channel", "type": 7, "value": world.status}]}],
    )
    assert reply["content"] == f"Watching the status page in <#{world.status}>."
    scheduler = world.platform.runner.scheduler
    seen = len(world.page.requests)
    scheduler.run_cron(datetime(2026, 2, 1, 10, 5, tzinfo=UTC))
    await world.kv_is("pulse", "last_status")
    request = world.page.requests[seen]
    assert request == {"query": {"lang": "en"}, "authorization": "Bearer tok-123"}  # the secret, added by the host
    assert world.messages(world.status) == []  # all is well on the first look: nothing posted
    world.page.status = {"indicator": "major", "description": "Partial outage"}
    scheduler.run_cron(datetime(2026, 2, 1, 10, 10, tzinfo=UTC))
    posted = await world.until(lambda: world.messages(world.status), "the incident post")
    assert posted[0]["embeds"][0]["description"] == "Partial outage"
    assert posted[0]["embeds"][0]["color"] == 0xE67E22


async def test_pulse_check_defers_and_follows_up(world):
    world.page.status = {"indicator": "minor", "description": "Degraded"}
    inter = world.emulator.run_command(world.general, ALICE, "pulse", [{"name": "check", "type": 1}])
    answer = await world.until(
        lambda: next(
            (
                m
                for m in world.messages(world.general)
                if (m.get("interaction_metadata") or {}).get("id") == inter["id"] and m["content"]
            ),
            None,
        ),
        "the follow-up",
    )
    assert answer["content"] == "Degraded (minor)" and answer["ephemeral_to"] == ALICE


async def test_pulse_allow_host_only_for_admins(world):
    trust = [{"name": "trust", "type": 1, "options": [{"name": "host", "type": 3, "value": "hooks.pulse.test"}]}]
    refused = await world.command(BOB, "pulse", trust)
    assert refused["content"].startswith("Not allowed: ") and refused["content"].endswith("[VALIDATION_ERROR]")
    assert "Manage Server" in refused["content"]
    allowed = await world.command(ALICE, "pulse", trust)
    assert allowed["content"] == "Allowed hooks.pulse.test."
    approvals = await world.platform.storage.records.list_host_approvals(server_id=DEMO_GUILD_ID, plugin_id="pulse")
    assert [(a.kind, a.host, a.approved_by) for a in approvals] == [("http", "hooks.pulse.test", ALICE)]


async def test_pulse_activity_reads_history_after_a_message(world):
    # a burst of 120 messages is what guardian's spam brake is for: off while the history is written
    await installs.set_enabled(world.platform, DEMO_GUILD_ID, "guardian", False)
    try:
        history = world.state.add_channel(DEMO_GUILD_ID, "history")["id"]
        first = world.emulator.post_message(history, ALICE, "start")
        for i in range(120):
            world.emulator.post_message(history, CHATTY[i % 3], f"m{i}")
        since = [{"name": "activity", "type": 1, "options": [{"name": "since", "type": 3, "value": first["id"]}]}]
        reply = await world.command(ALICE, "pulse", since, channel=history)
        assert reply["content"] == "120 message(s) from 3 member(s) since then."  # iter_messages paged by 100
    finally:
        await installs.set_enabled(world.platform, DEMO_GUILD_ID, "guardian", True)


# --- relay: a platform-held WebSocket with secret auth, wildcard handlers, a select menu, lifecycle hooks ---------


async def test_relay_install_hook_ran_for_this_server(world):
    assert await world.kv_is("relay", "symbols") == ["AAPL", "SAP"]


async def test_relay_symbol_menu_updates_in_place(world):
    reply = await world.command(ALICE, "relay", [{"name": "symbols", "type": 1}])
    menu = reply["components"][0]["components"][0]
    assert menu["type"] == 3 and menu["custom_id"] == "relay:symbols" and menu["max_values"] == 5
    assert [o["value"] for o in menu["options"] if o.get("default")] == ["AAPL", "SAP"]
    world.emulator.click(world.general, reply["id"], ALICE, "relay:symbols", values=["NVDA", "SAP"])
    await world.until(lambda: reply["content"] == "Watching NVDA, SAP.", "the menu answered in place")
    assert reply["components"] == []
    assert await world.kv("relay", "symbols") == ["NVDA", "SAP"]


async def test_relay_feed_with_secret_auth_relays_big_moves_once(world):
    feed = world.feed
    markets = world.state.add_channel(DEMO_GUILD_ID, "markets")["id"]
    before = len(feed.handshakes)
    start = [
        {
            "name": "start",
            "type": 1,
            "options": [
                {"name": "channel", "type": 7, "value": markets},
                {"name": "region", "type": 3, "value": "eu"},
                {"name": "threshold", "type": 10, "value": 1.5},
            ],
        }
    ]
    reply = await world.command(ALICE, "relay", start)
    assert reply["content"].startswith(f"Relaying EU moves over 1.5% to <#{markets}>")
    await world.kv_is("relay", "stats", lambda v: (v or {}).get("opens") == 1)  # on_ws_open("prices:eu")
    assert feed.handshakes[before]["authorization"] == "Bearer feed-secret"  # added by the host, never seen
    await world.until(lambda: any('"op": "subscribe"' in str(r) for r in feed.received), "the subscribe frame")
    await world.kv_is("relay", "stats", lambda v: (v or {}).get("other_frames", 0) >= 1)  # the echo is not JSON
    server = feed.sockets[-1]
    move = {"type": "move", "symbol": "SAP", "change_pct": 4.0, "seq": 1}
    await server.send_str(json.dumps(move))
    await server.send_str(json.dumps(move))  # a replay: dedup keeps it to one post
    await server.send_str(json.dumps({**move, "symbol": "AAPL", "seq": 2}))  # no longer watched
    await server.send_str(json.dumps({**move, "symbol": "NVDA", "change_pct": -2.5, "seq": 3}))
    await world.until(lambda: len(world.messages(markets)) >= 2, "the posts")
    await asyncio.sleep(0.3)
    # frames arrive in order, but both SDKs run WebSocket handlers on their dispatch threads side by side
    assert sorted(m["content"] for m in world.messages(markets)) == ["📈 SAP +4.0% (EU)", "📉 NVDA -2.5% (EU)"]
    assert (await world.kv("relay", "stats"))["posted"] == 2


async def test_relay_disable_hook_closes_the_socket(world):
    scope = Scope(DEMO_GUILD_ID, "relay")
    await world.until(lambda: world.platform.websocket.sockets(scope), "the open socket")
    await installs.set_enabled(world.platform, DEMO_GUILD_ID, "relay", False)
    try:
        await world.until(lambda: not world.platform.websocket.sockets(scope), "the socket closed by on_disable")
    finally:
        await installs.set_enabled(world.platform, DEMO_GUILD_ID, "relay", True)
