"""Slash commands of installed plugins: merged per guild, owned by one plugin each, clashes refused.

The platform's installs refuse a clash (``maidcore.slash_commands.check_clash``)
before storing an install or upgrade, so two plugins never claim one command
name in a guild; the event source then
registers ``merge`` of every install's commands and routes each command to its owner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from maidcore.slash_commands import CommandClash, check_clash

__all__ = ["CommandClash", "check_clash", "clashes", "merge"]

_DISCORD_KEYS = (
    "name",
    "description",
    "options",
    "default_member_permissions",
    "name_localizations",
    "description_localizations",
    "nsfw",
)


def merge(commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Discord command payloads for one guild and the owner of each name (plugins in sorted order win a clash)."""
    payloads: list[dict[str, Any]] = []
    owners: dict[str, str] = {}
    for plugin_id in sorted(commands):
        for command in commands[plugin_id]:
            name = command["name"]
            if name in owners:
                continue
            owners[name] = plugin_id
            payload = {k: command[k] for k in _DISCORD_KEYS if k in command}
            payload["type"] = 1
            payloads.append(payload)
    return payloads, owners


def clashes(commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[CommandClash]:
    """Every clash among ``commands`` (what ``merge`` would silently resolve)."""
    found, owners = [], {}
    for plugin_id in sorted(commands):
        for command in commands[plugin_id]:
            if command["name"] in owners:
                found.append(CommandClash(command["name"], plugin_id, owners[command["name"]]))
            else:
                owners[command["name"]] = plugin_id
    return found
