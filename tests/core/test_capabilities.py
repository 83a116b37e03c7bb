"""The capability catalogue (§7): tiers, the host-method map, auto-added capabilities."""

from __future__ import annotations

import pytest

from maidcore.capabilities import (
    CATALOGUE,
    DISCORD_METHOD_CAPABILITY,
    DISCORD_READ_METHODS,
    Tier,
    capability_for,
    effective,
    highest_tier,
)


def test_catalogue_tiers():
    assert len(CATALOGUE) == 18  # proxy:websocket (Dangerous) came with the official 0.8 line
    assert {c for c, t in CATALOGUE.items() if t is Tier.DANGEROUS} == {
        "proxy:websocket",
        "discord:moderate_members",
        "discord:kick_members",
        "discord:ban_members",
        "discord:manage_roles",
    }
    assert {c for c, t in CATALOGUE.items() if t is Tier.RISKY} == {
        "discord:delete_message",
        "discord:manage_channels",
        "discord:manage_webhooks",
        "storage:sql",
        "storage:secrets",
    }
    assert Tier.SAFE < Tier.RISKY < Tier.DANGEROUS and Tier.RISKY.label == "Risky"


@pytest.mark.parametrize(
    ("method", "capability"),
    [
        ("discord.send_message", "discord:send_message"),
        ("discord.pin_message", "discord:send_message"),  # as the official SDK maps them
        ("discord.unpin_message", "discord:send_message"),
        ("discord.bulk_delete_messages", "discord:delete_message"),
        ("discord.search_members", "discord:read"),
        ("discord.set_channel_permissions", "discord:manage_channels"),
        ("discord.set_nickname", "discord:moderate_members"),
        ("discord.kick_bulk", "discord:kick_members"),
        ("discord.unban_member", "discord:ban_members"),
        ("discord.remove_role_bulk", "discord:manage_roles"),
        ("discord.execute_webhook", "discord:manage_webhooks"),
        ("kv.get", "storage:kv"),
        ("sql.query", "storage:sql"),
        ("secrets.set", "storage:secrets"),
        ("proxy.request", "proxy:http"),
        ("http.allow_host", "proxy:http"),
        ("http.revoke_host", "proxy:http"),
        ("ws.ensure", "proxy:websocket"),
        ("ws.send", "proxy:websocket"),
        ("ws.allow_host", "proxy:websocket"),
        ("interaction.send_modal", "interaction:respond"),
        ("ephemeral.counter", None),
        ("metrics.record", None),
    ],
)
def test_capability_for_host_methods(method, capability):
    assert capability_for(method) == capability


def test_every_discord_method_of_the_contract_is_mapped():
    assert len(DISCORD_METHOD_CAPABILITY) == 37  # §4.2: 7 message, 8 read (+ iter_messages), 7 channel, 11, 3
    assert all(cap in CATALOGUE for cap in DISCORD_METHOD_CAPABILITY.values())
    assert "discord.get_messages" in DISCORD_READ_METHODS and "discord.send_message" not in DISCORD_READ_METHODS


def test_unknown_method_raises_key_error():
    with pytest.raises(KeyError):
        capability_for("discord.nuke_guild")


def test_effective_adds_auto_capabilities_and_drops_legacy():
    assert effective(["kv:read", "storage:kv"], slash_commands=True, proxy_domains=True) == {
        "storage:kv",
        "interaction:respond",
        "proxy:http",
    }
    assert effective([], slash_commands=False, proxy_domains=False) == frozenset()
    assert highest_tier(["storage:kv", "storage:sql"]) is Tier.RISKY
    assert highest_tier([]) is Tier.SAFE
