"""Slash commands of installed plugins: merged per guild, owned by one plugin each, clashes refused.

The installs code calls ``check_clash`` before storing an install or upgrade,
so two plugins never claim one command name in a guild; the event source then
registers ``merge`` of every install's commands and routes each command to its owner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_DISCORD_KEYS = (
    "name",
    "description",
    "options",
    "default_member_permissions",
    "name_localizations",
    "description_localizations",
    "nsfw",
)


class CommandClash(ValueError):
    """Two plugins declare the same slash command name in one guild."""

    def __init__(self, name: str, plugin_id: str, owner: str) -> None:
        super().__init__(
            f"slash command /{name} of plugin {plugin_id!r} clashes with /{name} of plugin {owner!r}, "
            f"already installed on this server; uninstall {owner!r} first or install a version of "
            f"{plugin_id!r} without /{name}"
        )
        self.name = name
        self.plugin_id = plugin_id
        self.owner = owner


def check_clash(
    existing: Mapping[str, Sequence[Mapping[str, Any]]], plugin_id: str, commands: Sequence[Mapping[str, Any]]
) -> None:
    """Raise ``CommandClash`` if ``commands`` of ``plugin_id`` reuse a name another installed plugin declares.

    ``existing`` maps the plugin ids installed on the server to their manifest
    ``slash_commands``; ``plugin_id``'s own entry (an upgrade) is ignored.
    """
    owners = {c["name"]: pid for pid, cmds in existing.items() if pid != plugin_id for c in cmds}
    for command in commands:
        owner = owners.get(command["name"])
        if owner is not None:
            raise CommandClash(command["name"], plugin_id, owner)


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
