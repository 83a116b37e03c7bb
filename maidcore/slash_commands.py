"""One owner per slash command name in a guild.

Slash commands of every plugin installed on a server share one namespace (the
guild's command list); the platform refuses, at install or upgrade, a plugin
whose command names another installed plugin already declares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


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


def owners(commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, str]:
    """The plugin owning each command name of one server; on a clash the plugin id sorting first keeps it."""
    found: dict[str, str] = {}
    for plugin_id in sorted(commands):
        for command in commands[plugin_id]:
            found.setdefault(command["name"], plugin_id)
    return found


def clashes(commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[CommandClash]:
    """Every clash among ``commands`` (what ``owners`` resolves silently); installs refuse them up front."""
    found, seen = [], {}
    for plugin_id in sorted(commands):
        for command in commands[plugin_id]:
            if command["name"] in seen:
                found.append(CommandClash(command["name"], plugin_id, seen[command["name"]]))
            else:
                seen[command["name"]] = plugin_id
    return found
