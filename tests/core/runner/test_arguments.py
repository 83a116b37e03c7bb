"""Host-side argument checks (contract §4, §8): clean params out, or an error naming the field."""

from __future__ import annotations

import base64

import pytest

from maidcore.errors import InvalidArgument, KvQuotaExceeded
from maidcore.runner.hostapi import METHODS
from maidcore.runner.hostapi.args import Args
from maidcore.runner.hostapi.discord import action_cost


def clean(host_method: str, **params):
    return METHODS[host_method].validate(Args(params))


def refused(host_method: str, **params) -> str:
    with pytest.raises((InvalidArgument, KvQuotaExceeded)) as info:
        clean(host_method, **params)
    return info.value.message


def test_cuts_and_clamps_mirror_the_sdk():
    sent = clean("discord.send_message", channel_id=5, content="x" * 2500, embeds=[{}] * 12)
    assert sent == {"channel_id": "5", "content": "x" * 2000, "embeds": [{}] * 10, "allowed_mentions": {"parse": []}}
    assert clean("discord.get_messages", channel_id="1", limit=500)["limit"] == 50
    assert clean("discord.timeout_member", user_id="1", duration_seconds=10**9)["duration_seconds"] == 2419200
    assert clean("kv.list", prefix="a", limit=1000) == {"prefix": "a", "limit": 100, "start_after": None}
    assert clean("kv.list", prefix="a", limit=0, count_only=True) == {"prefix": "a", "count_only": True}
    assert clean("ephemeral.counter", key="k", window_seconds=10**6) == {"key": "k", "window_seconds": 86400}
    assert clean("sql.query", sql="SELECT 1", limit=10**6)["limit"] == 1000


def test_dangerous_permission_bits_are_stripped_from_allow():
    allow = str(0x8 | 0x20 | 0x400 | 0x800 | 0x10000000)
    params = clean("discord.set_channel_permissions", channel_id="1", target_id="2", allow=allow, deny=8)
    assert params["allow"] == str(0x400 | 0x800) and params["deny"] == "8"


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("discord.send_message", {"channel_id": "1"}, "invalid content: content is required and must be non-empty"),
        ("discord.send_message", {"channel_id": "abc", "content": "x"}, "invalid channel_id: channel_id is required"),
        ("discord.send_message", {"content": "x"}, "invalid channel_id: channel_id is required and must be given"),
        ("discord.send_message", {"channel_id": "1", "components": [{}] * 6}, "at most 5 items"),
        ("discord.bulk_delete_messages", {"channel_id": "1", "message_ids": ["1"]}, "at least 2 Discord ids"),
        ("discord.create_channel", {"name": "x", "channel_type": 3}, "one of 0, 2, 4, 13, 15"),
        ("discord.create_thread", {"channel_id": "1", "name": "t", "auto_archive_duration": 5}, "one of 60, 1440"),
        (
            "discord.edit_thread",
            {"thread_id": "1", "archived": "yes"},
            "invalid archived: archived is required and must be true or false",
        ),
        ("interaction.respond", {"content": "x"}, "invalid _interaction_id"),
        ("kv.get", {"key": ""}, "invalid key"),
        ("kv.mget", {"keys": ["k"] * 51}, "at most 50 keys"),
        ("kv.mput", {"entries": {f"k{i}": i for i in range(26)}}, "at most 25 keys"),
        ("kv.increment", {"key": "k", "amount": "1"}, "invalid amount: amount is required and must be a finite number"),
        ("sql.execute", {"sql": "SELECT 1", "params": "1"}, "invalid params"),
        ("metrics.record", {"metric": "9bad"}, "invalid metric"),
        ("metrics.query", {"metric": "m", "period": "2d"}, "one of 1h, 24h, 30d, 7d, 90d"),
        ("secrets.set", {"key": "k", "value": ""}, "invalid value"),
        ("secrets.get", {"key": "a/b"}, "invalid key"),
        ("proxy.request", {"method": "GET", "url": "ftp://example.com/"}, "invalid url"),
        ("proxy.request", {"method": "BREW", "url": "https://example.com/"}, "invalid method"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(method, params, message):
    assert message in refused(method, **params)


def test_kv_values_over_64_kb_are_a_quota_error():
    message = refused("kv.put", key="k", value="x" * 70000)
    assert message.startswith("kv quota reached: value is 70002 bytes of JSON")
    assert "quota exceeded" not in message  # an older SDK must not read it as a rate limit


def test_files_are_checked_once_decoded():
    small = base64.b64encode(b"hello").decode()
    assert clean("discord.send_message", channel_id="1", files=[{"filename": "a.txt", "data_b64": small}])["files"]
    big = base64.b64encode(b"x" * (8 * 1024 * 1024 + 1)).decode()
    assert "at most 8388608 bytes" in refused(
        "discord.send_message", channel_id="1", files=[{"filename": "a", "data_b64": big}]
    )
    assert "valid base64" in refused("discord.send_message", channel_id="1", files=[{"filename": "a", "data_b64": "*"}])


def test_bulk_methods_cost_one_action_per_target():
    params = clean("discord.kick_bulk", user_ids=["1", "2", "3"])
    assert action_cost("discord.kick_bulk", params) == 3
    assert action_cost("discord.bulk_delete_messages", {"message_ids": ["1", "2"]}) == 1


def test_every_method_has_a_capability_rule_and_the_right_bucket():
    from maidcore.capabilities import capability_for
    from maidcore.layers import Bucket

    for name, spec in METHODS.items():
        assert spec.capability == capability_for(name)
    assert METHODS["discord.get_guild"].bucket is None
    assert METHODS["discord.send_message"].bucket is Bucket.DISCORD
    assert METHODS["interaction.respond"].bucket is None
    assert METHODS["proxy.request"].bucket is Bucket.PROXY
    assert len(METHODS) == 72  # what the official SDK 0.10.1 may call: 36 discord, 4 interaction, 24 stores, 8 network


@pytest.mark.parametrize("method", ["discord.send_message", "interaction.respond", "interaction.followup"])
def test_allowed_mentions_default_pings_nobody_and_everyone_is_always_stripped(method):
    base = {"channel_id": "5"} if method.startswith("discord.") else {"_interaction_id": "9"}
    assert clean(method, **base, content="@everyone hi")["allowed_mentions"] == {"parse": []}
    wide = clean(method, **base, content="hi", allowed_mentions={"parse": ["everyone", "users", "roles"]})
    assert wide["allowed_mentions"] == {"parse": ["roles", "users"]}
    listed = clean(method, **base, content="hi", allowed_mentions={"parse": ["users"], "users": [7, "8"]})
    assert listed["allowed_mentions"] == {"users": ["7", "8"], "parse": []}  # Discord refuses both at once
    replied = clean(method, **base, content="hi", allowed_mentions={"replied_user": True, "roles": []})
    assert replied["allowed_mentions"] == {"roles": [], "parse": [], "replied_user": True}
    assert "allowed_mentions.parse" in refused(method, **base, content="hi", allowed_mentions={"parse": "users"})
    assert "allowed_mentions.users" in refused(method, **base, content="hi", allowed_mentions={"users": ["x"]})


def test_edit_message_and_webhooks_get_the_same_mention_rules():
    edit = clean("discord.edit_message", channel_id="1", message_id="2", content="<@3>")
    assert edit["allowed_mentions"] == {"parse": []}
    hook = clean("discord.execute_webhook", webhook_id="1", webhook_token="t", content="@here")
    assert hook["allowed_mentions"] == {"parse": []}


def test_update_message_is_passed_only_when_asked():
    assert "update_message" not in clean("interaction.respond", _interaction_id="9", content="x")
    assert clean("interaction.respond", _interaction_id="9", content="x", update_message=True)["update_message"]
    assert "update_message" in refused("interaction.respond", _interaction_id="9", content="x", update_message="yes")
