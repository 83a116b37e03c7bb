"""Slash-command sets: merging per guild and refusing a clash between two plugins."""

from __future__ import annotations

import pytest
from maidcore_discord.commands import CommandClash, check_clash, clashes, merge

PING = {"name": "ping", "description": "Ping", "options": []}
ROLL = {"name": "roll", "description": "Roll", "default_member_permissions": "8", "x-extra": 1}


def test_merge_keeps_discord_keys_and_names_each_owner():
    payloads, owners = merge({"dice": [ROLL], "pingpong": [PING]})
    assert owners == {"roll": "dice", "ping": "pingpong"}
    assert {"name": "roll", "description": "Roll", "default_member_permissions": "8", "type": 1} in payloads


def test_a_clash_is_refused_with_a_message_naming_both_plugins():
    with pytest.raises(CommandClash, match=r"/ping of plugin 'copycat' clashes with /ping of plugin 'pingpong'"):
        check_clash({"pingpong": [PING]}, "copycat", [PING])


def test_an_upgrade_does_not_clash_with_itself():
    check_clash({"pingpong": [PING], "dice": [ROLL]}, "pingpong", [PING])


def test_clashes_lists_every_conflict():
    found = clashes({"a": [PING], "b": [PING, ROLL], "c": [ROLL]})
    assert [(c.name, c.plugin_id, c.owner) for c in found] == [("ping", "b", "a"), ("roll", "c", "b")]
