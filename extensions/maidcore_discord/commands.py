"""Slash commands as Discord wants them: one guild's command list built from its installs' manifests.

The core decides which plugin owns each name (``maidcore.slash_commands.owners``;
installs refuse a clash up front) and calls ``sync_commands`` when a guild's
installs change; this module only turns manifest entries into Discord payloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from maidcore.slash_commands import owners

_DISCORD_KEYS = (
    "name",
    "description",
    "options",
    "default_member_permissions",
    "name_localizations",
    "description_localizations",
    "nsfw",
)


def payloads(commands: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Discord command payloads for one guild: each name once, from the plugin that owns it."""
    owner = owners(commands)
    out: list[dict[str, Any]] = []
    for plugin_id in sorted(commands):
        for command in commands[plugin_id]:
            if owner[command["name"]] != plugin_id or any(p["name"] == command["name"] for p in out):
                continue
            payload = {k: command[k] for k in _DISCORD_KEYS if k in command}
            payload["type"] = 1
            out.append(payload)
    return out
