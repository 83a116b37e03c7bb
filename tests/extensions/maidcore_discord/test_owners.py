"""Message owners survive a restart, so old buttons still reach the plugin that sent them."""

from __future__ import annotations

from maidcore_discord.owners import MessageOwners


def test_owners_are_kept_across_instances(tmp_path):
    path = tmp_path / "discord" / "message_owners.sqlite3"
    first = MessageOwners(path)
    first.remember("1574585304126324744", "ping_pong")
    assert first["1574585304126324744"] == "ping_pong"
    first.close()
    second = MessageOwners(path)
    assert second.get("1574585304126324744") == "ping_pong"
    assert second.get("1574585304126324745") is None
    second.close()


def test_without_a_directory_owners_live_in_memory():
    owners = MessageOwners()
    owners.remember("10", "a")
    owners.remember("10", "b")
    assert owners.get("10") == "b" and owners.get("11") is None
