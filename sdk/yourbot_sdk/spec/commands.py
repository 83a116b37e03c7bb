"""Slash commands: the name rule, the names the platform keeps for itself, option types and their limits."""

from __future__ import annotations

import re

__all__ = [
    "COMMAND_NAME_PATTERN",
    "MAX_CHOICES",
    "MAX_DESCRIPTION",
    "MAX_OPTIONS",
    "OPTION_TYPES",
    "RESERVED_COMMAND_NAMES",
    "command_name_problem",
]

#: 1-32 of lowercase letters, digits, ``-`` and ``_`` (Discord's rule for chat-input commands).
COMMAND_NAME_PATTERN = r"^[-_a-z0-9]{1,32}$"
_NAME = re.compile(COMMAND_NAME_PATTERN)

#: Top-level names the platform's own commands use; a plugin may not declare them.
RESERVED_COMMAND_NAMES: frozenset[str] = frozenset(
    {
        "announce",
        "appeal",
        "ban",
        "beacon",
        "case",
        "giveaway",
        "group",
        "group-admin",
        "group-alerts",
        "help",
        "history",
        "kick",
        "leaderboard",
        "lockdown",
        "maid-bug-report",
        "music",
        "note",
        "pluginbugreport",
        "poll",
        "purge",
        "quarantine",
        "quests",
        "raidmode",
        "report",
        "slowmode",
        "stats",
        "support",
        "temp-role",
        "ticket",
        "tickets",
        "timeout",
        "unban",
        "unlockdown",
        "unquarantine",
        "untimeout",
        "warn",
        "welcome",
        "yourbot",
    }
)

#: Discord's application-command option types.
OPTION_TYPES: dict[int, str] = {
    1: "sub_command",
    2: "sub_command_group",
    3: "string",
    4: "integer",
    5: "boolean",
    6: "user",
    7: "channel",
    8: "role",
    9: "mentionable",
    10: "number",
    11: "attachment",
}
#: Option types that may carry ``choices``.
CHOICE_TYPES = frozenset({3, 4, 10})
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_DESCRIPTION = 100


def command_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a plugin's top-level command (``None`` when it can)."""
    if not isinstance(name, str) or not _NAME.match(name):
        lowered = name.lower() if isinstance(name, str) else ""
        hint = f' (try "{lowered}")' if lowered and _NAME.match(lowered) else ""
        return f"name {name!r} must be 1-32 of lowercase letters, digits, '-' and '_'{hint}"
    if name in RESERVED_COMMAND_NAMES:
        return f'"/{name}" is reserved by the platform; pick another name'
    return None
