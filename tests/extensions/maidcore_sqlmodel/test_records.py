"""The platform's records on SQLite and PostgreSQL: every RecordStore method, round trips and ordering."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from maidcore.errors import InvalidArgument
from maidcore.records import (
    ConsoleSession,
    DeadLetter,
    DeniedCall,
    InstallRecord,
    PluginLog,
    PluginRecord,
    Role,
    TokenRecord,
    VersionRecord,
    VersionStatus,
)


@pytest.fixture
def plugin_id() -> str:
    return f"plugin-{uuid.uuid4().hex[:8]}"


async def test_plugins(storage, plugin_id):
    created = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    await storage.records.add_plugin(PluginRecord(plugin_id, "alice", created_at=created))
    await storage.records.add_plugin(PluginRecord(plugin_id, "alice"))  # same developer again: no-op
    got = await storage.records.get_plugin(plugin_id)
    assert got == PluginRecord(plugin_id, "alice", created_at=created)
    assert got.created_at.tzinfo is not None
    with pytest.raises(InvalidArgument, match="plugin_id"):
        await storage.records.add_plugin(PluginRecord(plugin_id, "mallory"))
    assert await storage.records.get_plugin("nobody") is None
    assert plugin_id in [p.plugin_id for p in await storage.records.list_plugins()]


async def test_versions_round_trip_update_and_order(storage, plugin_id):
    manifest = {"name": plugin_id, "capabilities": ["storage:kv"], "nested": {"ü": [1, 2.5, None]}}
    v1 = VersionRecord(
        plugin_id,
        "1.0.0",
        VersionStatus.SUBMITTED,
        manifest,
        "/bundles/a/1.0.0",
        findings=[{"severity": "warning", "code": "X1", "message": "m"}],
    )
    v2 = VersionRecord(plugin_id, "0.9.0", VersionStatus.SUBMITTED, {}, "/bundles/a/0.9.0")
    await storage.records.add_version(v1)
    await storage.records.add_version(v2)
    with pytest.raises(InvalidArgument, match="version"):
        await storage.records.add_version(v1)
    assert await storage.records.get_version(plugin_id, "1.0.0") == v1
    assert [v.version for v in await storage.records.list_versions(plugin_id)] == ["1.0.0", "0.9.0"]  # oldest first
    published = VersionRecord(
        plugin_id,
        "1.0.0",
        VersionStatus.PUBLISHED,
        manifest,
        "/bundles/a/1.0.0",
        site_path="/sites/a/1.0.0",
        review_note="ok",
        submitted_at=v1.submitted_at,
        published_at=datetime.now(UTC),
    )
    await storage.records.update_version(published)
    got = await storage.records.get_version(plugin_id, "1.0.0")
    assert got == published and got.status is VersionStatus.PUBLISHED
    with pytest.raises(InvalidArgument):
        await storage.records.update_version(VersionRecord(plugin_id, "9.9.9", VersionStatus.APPROVED, {}, "/x"))
    assert await storage.records.get_version(plugin_id, "9.9.9") is None


async def test_installs_upsert_filter_and_delete(storage, plugin_id):
    rec = storage.records
    a = InstallRecord("111", plugin_id, "1.0.0", frozenset({"storage:kv", "discord:send_messages"}))
    await rec.put_install(a)
    assert await rec.get_install("111", plugin_id) == a
    upgraded = InstallRecord(
        "111",
        plugin_id,
        "1.0.0",
        frozenset({"storage:kv"}),
        enabled=False,
        pending_version="2.0.0",
        installed_at=a.installed_at,
    )
    await rec.put_install(upgraded)
    assert await rec.get_install("111", plugin_id) == upgraded
    b = InstallRecord("222", plugin_id, "1.0.0", frozenset())
    await rec.put_install(b)
    assert [i.server_id for i in await rec.list_installs(plugin_id=plugin_id)] == ["111", "222"]
    assert await rec.list_installs(server_id="222", plugin_id=plugin_id) == [b]
    await rec.delete_install("111", plugin_id)
    await rec.delete_install("111", plugin_id)  # again: no-op
    assert await rec.get_install("111", plugin_id) is None
    assert await rec.list_installs(plugin_id=plugin_id) == [b]


async def test_dead_letters(storage, plugin_id):
    rec = storage.records
    first = await rec.add_dead_letter(DeadLetter(None, "1", plugin_id, "1.0", "ev-1", {"type": "x"}, 6, "boom"))
    second = await rec.add_dead_letter(DeadLetter(None, "2", plugin_id, "1.0", "ev-2", {"type": "y"}, 6, "bang"))
    assert second > first
    letters = await rec.list_dead_letters(plugin_id=plugin_id)
    assert [(d.id, d.event_id, d.event, d.error) for d in letters] == [
        (first, "ev-1", {"type": "x"}, "boom"),
        (second, "ev-2", {"type": "y"}, "bang"),
    ]
    assert [d.id for d in await rec.list_dead_letters(plugin_id=plugin_id, server_id="2")] == [second]
    await rec.delete_dead_letter(first)
    assert [d.id for d in await rec.list_dead_letters(plugin_id=plugin_id)] == [second]


async def test_logs_newest_first_with_limit(storage, plugin_id):
    base = datetime.now(UTC)
    logs = [
        PluginLog("1" if i % 2 else "2", plugin_id, "info", f"m{i}", {"i": str(i)}, base + timedelta(seconds=i))
        for i in range(10)
    ]
    await storage.records.add_logs(logs[:5])
    await storage.records.add_logs(logs[5:])
    await storage.records.add_logs([])
    got = await storage.records.list_logs(plugin_id=plugin_id, limit=3)
    assert [g.message for g in got] == ["m9", "m8", "m7"]
    assert got[0] == logs[9]
    assert [g.message for g in await storage.records.list_logs(plugin_id=plugin_id, server_id="2")] == [
        "m8",
        "m6",
        "m4",
        "m2",
        "m0",
    ]


async def test_tokens(storage):
    h = uuid.uuid4().hex * 2
    token = TokenRecord(h, Role.REVIEWER, "rita")
    await storage.records.add_token(token)
    assert await storage.records.get_token(h) == token
    with pytest.raises(InvalidArgument):
        await storage.records.add_token(token)
    await storage.records.revoke_token(h)
    revoked = await storage.records.get_token(h)
    assert revoked.revoked and revoked.role is Role.REVIEWER
    assert await storage.records.get_token("0" * 64) is None


async def test_host_approvals_per_install_and_kind(storage):
    from maidcore.records import HostApproval

    records = storage.records
    await records.add_host_approval(HostApproval("1", "p", "ws", "feed.example.com", approved_by="42"))
    await records.add_host_approval(HostApproval("1", "p", "http", "api.example.com", approved_by="42"))
    await records.add_host_approval(HostApproval("1", "p", "ws", "feed.example.com", approved_by="43"))  # replaced
    await records.add_host_approval(HostApproval("2", "p", "ws", "other.example.com"))
    ws = await records.list_host_approvals(server_id="1", plugin_id="p", kind="ws")
    assert [(a.host, a.approved_by) for a in ws] == [("feed.example.com", "43")]
    every = await records.list_host_approvals(server_id="1", plugin_id="p")
    assert [(a.kind, a.host) for a in every] == [("http", "api.example.com"), ("ws", "feed.example.com")]
    assert await records.remove_host_approval("1", "p", "ws", "feed.example.com") is True
    assert await records.remove_host_approval("1", "p", "ws", "feed.example.com") is False
    await records.clear_host_approvals("1", "p")
    assert await records.list_host_approvals(server_id="1", plugin_id="p") == []
    assert len(await records.list_host_approvals(server_id="2", plugin_id="p")) == 1


async def test_denied_calls_add_up_per_capability_and_keep_the_newest_call(storage, plugin_id):
    rec = storage.records
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    await rec.add_denied_calls(
        [
            DeniedCall("1", plugin_id, "storage:kv", 2, "kv.get", t0, t0 + timedelta(seconds=5)),
            DeniedCall("1", plugin_id, "discord:read", 1, "discord.get_guild", t0, t0),
            DeniedCall("2", plugin_id, "storage:kv", 1, "kv.set", t0, t0),
        ]
    )
    # another node flushes an older batch and a newer one: counts add up, the newest call wins
    await rec.add_denied_calls([DeniedCall("1", plugin_id, "storage:kv", 3, "kv.list", t0, t0 + timedelta(seconds=1))])
    await rec.add_denied_calls([DeniedCall("1", plugin_id, "storage:kv", 1, "kv.set", t0, t0 + timedelta(seconds=9))])
    await rec.add_denied_calls([])
    [kv, read] = await rec.list_denied_calls(server_id="1", plugin_id=plugin_id)
    assert (kv.capability, kv.count, kv.last_method, kv.first_at) == ("storage:kv", 6, "kv.set", t0)
    assert kv.last_at == t0 + timedelta(seconds=9) and not kv.dismissed
    assert (read.capability, read.count) == ("discord:read", 1)
    assert {(d.server_id, d.capability) for d in await rec.list_denied_calls(plugin_id=plugin_id)} == {
        ("1", "storage:kv"),
        ("1", "discord:read"),
        ("2", "storage:kv"),
    }

    await rec.dismiss_denied_call("1", plugin_id, "storage:kv")
    await rec.add_denied_calls([DeniedCall("1", plugin_id, "storage:kv", 1, "kv.get", t0, t0 + timedelta(seconds=10))])
    [kv, _] = await rec.list_denied_calls(server_id="1", plugin_id=plugin_id)
    assert kv.dismissed and kv.count == 7  # dismissed requests keep counting, hidden

    await rec.delete_denied_calls("1", plugin_id, "storage:kv")
    assert [d.capability for d in await rec.list_denied_calls(server_id="1", plugin_id=plugin_id)] == ["discord:read"]
    await rec.delete_denied_calls("1", plugin_id)
    assert await rec.list_denied_calls(server_id="1", plugin_id=plugin_id) == []
    assert len(await rec.list_denied_calls(server_id="2", plugin_id=plugin_id)) == 1


async def test_console_sessions_round_trip_and_expire(storage):
    rec = storage.records
    now = datetime.now(UTC).replace(microsecond=0)
    live = ConsoleSession(
        uuid.uuid4().hex * 2,
        "900000000000000201",
        "alice",
        None,
        [{"id": "9", "name": "demo", "owner": True, "permissions": "8"}],
        "c" * 43,
        expires_at=now + timedelta(hours=1),
        created_at=now,
    )
    old = ConsoleSession(uuid.uuid4().hex * 2, "2", "bob", "abc", [], "d" * 43, expires_at=now - timedelta(seconds=1))
    await rec.put_session(live)
    await rec.put_session(old)
    assert await rec.get_session(live.session_hash) == live
    assert (await rec.get_session(old.session_hash)).username == "bob"
    assert await rec.delete_expired_sessions() >= 1
    assert await rec.get_session(old.session_hash) is None
    await rec.put_session(ConsoleSession(**{**live.__dict__, "username": "alice2"}))
    assert (await rec.get_session(live.session_hash)).username == "alice2"
    await rec.delete_session(live.session_hash)
    assert await rec.get_session(live.session_hash) is None


async def test_registrations_by_code_digest_insert_replace_and_read_many(storage):
    records = storage.records
    digests = [uuid.uuid4().hex * 2 + f"+{n}" for n in range(3)]
    first = {"sdk_version": "0.11.0", "event_types": ["message_create"], "schedules": [], "crons": [], "dashboards": []}
    await records.put_registration(digests[0], first)
    await records.put_registration(digests[1], {**first, "event_types": []})
    assert await records.get_registrations([]) == {}
    assert await records.get_registrations(digests) == {digests[0]: first, digests[1]: {**first, "event_types": []}}
    changed = {**first, "schedules": [{"name": "tick", "interval_seconds": 60}]}
    await records.put_registration(digests[0], changed)  # a real start registered differently: replaced
    assert await records.get_registrations([digests[0], digests[2]]) == {digests[0]: changed}
