"""Who is looking at a console page, and what they may do there — roles follow from facts.

- Manage Server (or Administrator, or ownership) on a guild → admin of that guild's installs;
- owner of a plugin (its first uploader) → its developer;
- reviewers and platform admins by setting (``web.reviewers``, ``web.admins``: Discord user ids);
- dashboard widgets: ``viewer`` = a member of the guild, ``manager`` = its admin, ``owner`` = its owner.

Guild facts are the ``users/@me/guilds`` answer taken at sign-in (``web.session_hours``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from maidcore.records import ConsoleSession, PluginRecord

#: Discord permission bits (guild level) the console reads.
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5


class Level(IntEnum):
    """A person's standing on one guild; dashboard widgets name the lowest one that sees them."""

    NONE = 0
    VIEWER = 1
    MANAGER = 2
    OWNER = 3


LEVEL_NAMES = {"viewer": Level.VIEWER, "manager": Level.MANAGER, "owner": Level.OWNER}


@dataclass(frozen=True)
class Viewer:
    session: ConsoleSession
    is_admin: bool
    is_reviewer: bool

    @classmethod
    def of(cls, session: ConsoleSession, *, admins: list[str], reviewers: list[str]) -> Viewer:
        admin = session.user_id in admins
        return cls(session, is_admin=admin, is_reviewer=admin or session.user_id in reviewers)

    @property
    def user_id(self) -> str:
        return self.session.user_id

    @property
    def name(self) -> str:
        return self.session.username

    @property
    def developer(self) -> str:
        """The developer name the platform records for plugins this person creates: their Discord user id."""
        return self.session.user_id

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    def guild(self, guild_id: str) -> dict[str, Any] | None:
        return next((g for g in self.session.guilds if g.get("id") == guild_id), None)

    def level(self, guild_id: str) -> Level:
        if self.is_admin:
            return Level.OWNER
        guild = self.guild(guild_id)
        if guild is None:
            return Level.NONE
        if guild.get("owner"):
            return Level.OWNER
        try:
            bits = int(guild.get("permissions") or 0)
        except ValueError:
            bits = 0
        return Level.MANAGER if bits & (ADMINISTRATOR | MANAGE_GUILD) else Level.VIEWER

    def manages(self, guild_id: str) -> bool:
        return self.level(guild_id) >= Level.MANAGER

    def managed_guilds(self) -> list[dict[str, Any]]:
        return [g for g in self.session.guilds if self.level(g["id"]) >= Level.MANAGER]

    def owns(self, plugin: PluginRecord) -> bool:
        return self.is_admin or plugin.developer == self.developer

    @property
    def roles(self) -> list[str]:
        """Words for the header: what this person is on this platform."""
        out = []
        if self.is_admin:
            out.append("platform admin")
        elif self.is_reviewer:
            out.append("reviewer")
        if self.managed_guilds():
            out.append("server admin")
        return out
