"""Gateway intents from the event types installed plugins handle (privileged ones only when needed)."""

from __future__ import annotations

from collections.abc import Iterable

import discord

MESSAGE_EVENTS = frozenset({"message_create", "message_edit", "message_delete"})
MEMBER_EVENTS = frozenset({"member_join", "member_leave", "member_update"})
REACTION_EVENTS = frozenset({"reaction_add", "reaction_remove"})


def intents_for(event_types: Iterable[str]) -> discord.Intents:
    """``guilds`` always (channels, roles, interactions' context); the rest only for handled types.

    The message-content intent is enabled whenever any plugin handles message events (contract §7.2).
    """
    types = frozenset(event_types)
    intents = discord.Intents.none()
    intents.guilds = True
    if types & MESSAGE_EVENTS:
        intents.guild_messages = True
        intents.message_content = True
    if types & MEMBER_EVENTS:
        intents.members = True
    if types & REACTION_EVENTS:
        intents.guild_reactions = True
    if "voice_state_update" in types:
        intents.voice_states = True
    return intents
