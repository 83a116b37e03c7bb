"""Slash commands as Discord payloads: one guild's list built from its installs' manifests."""

from __future__ import annotations

from maidcore_discord.commands import payloads

PING = {"name": "ping", "description": "Ping", "options": []}
ROLL = {"name": "roll", "description": "Roll", "default_member_permissions": "8", "x-extra": 1}


def test_payloads_keep_only_discord_keys_and_mark_chat_input_commands():
    found = payloads({"dice": [ROLL], "pingpong": [PING]})
    assert {"name": "roll", "description": "Roll", "default_member_permissions": "8", "type": 1} in found
    assert {"name": "ping", "description": "Ping", "options": [], "type": 1} in found and len(found) == 2


def test_a_clashing_name_is_sent_once_from_its_owner():
    found = payloads({"b": [{**PING, "description": "second"}], "a": [PING]})
    assert found == [{"name": "ping", "description": "Ping", "options": [], "type": 1}]
