"""The events a plugin receives: one ``TypedDict`` per event type, and what ``make_event`` builds.

``MessageCreate`` ... ``RoleUpdate`` and ``EVENT_TYPE_TO_SCHEMA`` are the official SDK's
descriptions (every key optional, ``total=False``). ``SCHEMAS`` (``MessageCreateEvent`` ...) is
the payload the maidcore platform delivers, a superset of those keys; ``make_event`` builds the
official testing kit's minimal defaults, so a plugin's tests see what they saw on the official SDK.
"""

from __future__ import annotations

from typing import Any, TypedDict, Union

__all__ = [
    "EVENT_TYPES",
    "EVENT_TYPE_TO_SCHEMA",
    "ChannelCreate",
    "ChannelCreateEvent",
    "ChannelDelete",
    "ChannelDeleteEvent",
    "ChannelUpdate",
    "ChannelUpdateEvent",
    "CommandOption",
    "InteractionCreate",
    "InteractionCreateEvent",
    "InteractionMember",
    "MemberJoin",
    "MemberJoinEvent",
    "MemberLeave",
    "MemberLeaveEvent",
    "MemberUpdate",
    "MemberUpdateEvent",
    "MessageCreate",
    "MessageCreateEvent",
    "MessageDelete",
    "MessageDeleteEvent",
    "MessageEdit",
    "MessageEditEvent",
    "ReactionAdd",
    "ReactionAddEvent",
    "ReactionRemove",
    "ReactionRemoveEvent",
    "RoleCreate",
    "RoleCreateEvent",
    "RoleDelete",
    "RoleDeleteEvent",
    "RoleUpdate",
    "RoleUpdateEvent",
    "VoiceStateUpdate",
    "VoiceStateUpdateEvent",
    "make_event",
]


class _Base(TypedDict):
    type: str
    guild_id: str


class MessageCreateEvent(_Base):
    message_id: str
    channel_id: str
    channel_name: str
    author_id: str
    author_username: str
    author_bot: bool
    content: str
    timestamp: str
    embed_count: int
    attachment_count: int
    mention_count: int
    reference_message_id: str | None


class MessageEditEvent(_Base):
    message_id: str
    channel_id: str
    author_id: str
    content: str
    embed_count: int
    attachment_count: int
    mention_count: int


class MessageDeleteEvent(_Base):
    message_id: str
    channel_id: str
    author_id: str | None
    content: str


class MemberLeaveEvent(_Base):
    user_id: str
    username: str
    display_name: str
    bot: bool
    joined_at: str | None
    roles: list[str]
    nick: str | None


class MemberJoinEvent(MemberLeaveEvent):
    guild_name: str
    member_count: int


class MemberUpdateEvent(_Base):
    user_id: str
    username: str
    display_name: str
    bot: bool
    roles: list[str]
    before_roles: list[str]
    nick: str | None
    before_nick: str | None


class ReactionAddEvent(_Base):
    message_id: str
    channel_id: str
    user_id: str
    user_bot: bool
    emoji: str


class ReactionRemoveEvent(ReactionAddEvent):
    """Same fields as ``reaction_add``."""


class VoiceStateUpdateEvent(_Base):
    user_id: str
    username: str
    bot: bool
    channel_id: str | None
    before_channel_id: str | None
    after_channel_id: str | None
    before_channel_name: str | None
    after_channel_name: str | None
    self_mute: bool
    self_deaf: bool
    self_stream: bool
    self_video: bool
    before_self_stream: bool
    after_self_stream: bool


class CommandOption(TypedDict, total=False):
    """``{name, type, value}``; sub-commands (type 1) and groups (type 2) carry ``options`` instead of ``value``."""

    name: str
    type: int
    value: Union[str, int, bool, float]
    options: list[CommandOption]


class InteractionMember(TypedDict):
    permissions: str
    roles: list[str]
    nick: str | None


class InteractionCreateEvent(_Base):
    interaction_id: str
    interaction_type: int
    command_name: str
    command_type: int
    options: list[CommandOption]
    command_options: list[CommandOption]
    custom_id: str
    component_type: int
    values: list[str]
    modal_values: dict[str, str]
    user_id: str
    user_username: str
    channel_id: str
    permissions: str
    member: InteractionMember


class ChannelCreateEvent(TypedDict):
    """Channel events carry the channel type (an int) in ``type``, as 0.5.x did."""

    type: int
    guild_id: str
    id: str
    channel_id: str
    name: str
    category_id: str | None
    position: int


class ChannelDeleteEvent(ChannelCreateEvent):
    """Same fields as ``channel_create``."""


class ChannelUpdateEvent(ChannelCreateEvent):
    before_name: str


class RoleCreateEvent(_Base):
    id: str
    role_id: str
    name: str
    color: int
    position: int
    permissions: str
    managed: bool
    mentionable: bool


class RoleDeleteEvent(RoleCreateEvent):
    """Same fields as ``role_create``."""


class RoleUpdateEvent(RoleCreateEvent):
    before_name: str


# -- the official descriptions (every key optional) -------------------------------------------------


class MessageCreate(TypedDict, total=False):
    message_id: str
    channel_id: str
    channel_name: str | None
    author_id: str
    author_name: str | None
    author_bot: bool
    content: str
    created_at: str | None
    embed_count: int
    attachment_count: int
    mention_count: int
    reference_message_id: str | None
    author_username: str | None
    guild_id: str | None
    timestamp: str | None


class MessageEdit(TypedDict, total=False):
    message_id: str
    channel_id: str
    author_id: str | None
    content: str
    embed_count: int
    attachment_count: int
    mention_count: int
    guild_id: str | None


class MessageDelete(TypedDict, total=False):
    message_id: str
    channel_id: str
    author_id: str | None
    content: str | None
    guild_id: str | None


class MemberJoin(TypedDict, total=False):
    user_id: str
    username: str
    display_name: str | None
    bot: bool
    joined_at: str | None
    roles: list[str]
    nick: str | None
    guild_id: str | None
    guild_name: str | None
    member_count: int


class MemberLeave(TypedDict, total=False):
    user_id: str
    username: str
    display_name: str | None
    bot: bool
    joined_at: str | None
    roles: list[str]
    nick: str | None
    guild_id: str | None


class MemberUpdate(TypedDict, total=False):
    user_id: str
    username: str
    display_name: str | None
    bot: bool
    roles: list[str]
    before_roles: list[str]
    nick: str | None
    before_nick: str | None
    guild_id: str | None


class ReactionAdd(TypedDict, total=False):
    message_id: str
    channel_id: str
    user_id: str
    emoji: str
    user_bot: bool
    guild_id: str | None


class ReactionRemove(TypedDict, total=False):
    message_id: str
    channel_id: str
    user_id: str
    emoji: str
    user_bot: bool
    guild_id: str | None


class VoiceStateUpdate(TypedDict, total=False):
    user_id: str
    username: str | None
    bot: bool
    member_bot: bool
    before_channel_id: str | None
    before_channel_name: str | None
    after_channel_id: str | None
    after_channel_name: str | None
    before_self_stream: bool
    after_self_stream: bool
    self_mute: bool
    self_deaf: bool
    self_stream: bool
    self_video: bool
    guild_id: str | None
    channel_id: str | None


class InteractionCreate(TypedDict, total=False):
    interaction_id: str
    type: int
    interaction_type: int
    channel_id: str | None
    user_id: str | None
    user_name: str | None
    command_name: str | None
    command_type: int | None
    custom_id: str | None
    modal_values: dict
    guild_id: str | None


class ChannelCreate(TypedDict, total=False):
    channel_id: str
    id: str
    name: str
    type: int
    category_id: str | None
    position: int | None
    guild_id: str | None


class ChannelDelete(TypedDict, total=False):
    channel_id: str
    id: str
    name: str
    type: int
    category_id: str | None
    position: int | None
    guild_id: str | None


class ChannelUpdate(TypedDict, total=False):
    channel_id: str
    id: str
    name: str
    before_name: str | None
    type: int
    category_id: str | None
    position: int | None
    guild_id: str | None


class RoleCreate(TypedDict, total=False):
    role_id: str
    id: str
    name: str
    color: int
    position: int
    permissions: str
    managed: bool
    mentionable: bool
    guild_id: str | None


class RoleDelete(TypedDict, total=False):
    role_id: str
    id: str
    name: str
    color: int
    position: int
    permissions: str
    managed: bool
    mentionable: bool
    guild_id: str | None


class RoleUpdate(TypedDict, total=False):
    role_id: str
    id: str
    name: str
    before_name: str | None
    color: int
    position: int
    permissions: str
    managed: bool
    mentionable: bool
    guild_id: str | None


EVENT_TYPE_TO_SCHEMA: dict[str, type] = {
    "message_create": MessageCreate,
    "message_edit": MessageEdit,
    "message_delete": MessageDelete,
    "member_join": MemberJoin,
    "member_leave": MemberLeave,
    "member_update": MemberUpdate,
    "reaction_add": ReactionAdd,
    "reaction_remove": ReactionRemove,
    "voice_state_update": VoiceStateUpdate,
    "interaction_create": InteractionCreate,
    "channel_create": ChannelCreate,
    "channel_delete": ChannelDelete,
    "channel_update": ChannelUpdate,
    "role_create": RoleCreate,
    "role_delete": RoleDelete,
    "role_update": RoleUpdate,
}

_TS = "2026-01-01T00:00:00Z"
_REACTION = {"message_id": "100", "channel_id": "1", "user_id": "200", "emoji": "\N{THUMBS UP SIGN}", "guild_id": "999"}
#: What ``make_event`` starts from, per type: the official testing kit's defaults, in its key order.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "message_create": {
        "message_id": "100",
        "channel_id": "1",
        "guild_id": "999",
        "author_id": "200",
        "author_username": "testuser",
        "author_bot": False,
        "content": "",
        "timestamp": _TS,
    },
    "message_edit": {"message_id": "100", "channel_id": "1", "guild_id": "999", "content": ""},
    "message_delete": {"message_id": "100", "channel_id": "1", "guild_id": "999"},
    "member_join": {"user_id": "200", "username": "newuser", "guild_id": "999"},
    "member_leave": {"user_id": "200", "username": "leftuser", "guild_id": "999"},
    "member_update": {"user_id": "200", "guild_id": "999", "roles": []},
    "reaction_add": _REACTION,
    "reaction_remove": _REACTION,
    "voice_state_update": {
        "user_id": "200",
        "channel_id": "1",
        "guild_id": "999",
        "self_mute": False,
        "self_deaf": False,
    },
    "interaction_create": {
        "interaction_id": "300",
        "interaction_type": 2,
        "guild_id": "999",
        "channel_id": "1",
        "user_id": "200",
        "command_name": "",
        "custom_id": "",
        "modal_values": {},
    },
    "channel_create": {"id": "1", "name": "new-channel", "type": 0, "guild_id": "999"},
    "channel_delete": {"id": "1", "name": "deleted-channel", "guild_id": "999"},
    "channel_update": {"id": "1", "name": "updated-channel", "guild_id": "999"},
    "role_create": {"id": "1", "name": "new-role", "guild_id": "999"},
    "role_delete": {"id": "1", "name": "deleted-role", "guild_id": "999"},
    "role_update": {"id": "1", "name": "updated-role", "guild_id": "999"},
}


#: The 16 event types, in the order of the contract.
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_TYPE_TO_SCHEMA)

#: TypedDict per event type (tools and tests check payloads against these).
SCHEMAS: dict[str, type] = {
    "message_create": MessageCreateEvent,
    "message_edit": MessageEditEvent,
    "message_delete": MessageDeleteEvent,
    "member_join": MemberJoinEvent,
    "member_leave": MemberLeaveEvent,
    "member_update": MemberUpdateEvent,
    "reaction_add": ReactionAddEvent,
    "reaction_remove": ReactionRemoveEvent,
    "voice_state_update": VoiceStateUpdateEvent,
    "interaction_create": InteractionCreateEvent,
    "channel_create": ChannelCreateEvent,
    "channel_delete": ChannelDeleteEvent,
    "channel_update": ChannelUpdateEvent,
    "role_create": RoleCreateEvent,
    "role_delete": RoleDeleteEvent,
    "role_update": RoleUpdateEvent,
}


def make_event(event_type: str, **kwargs: Any) -> dict[str, Any]:
    """A new event dict: the official testing kit's defaults for ``event_type``, updated with ``kwargs``.

    Unknown event types start empty. Nested defaults (``roles``, ``modal_values``) are fresh objects.
    """
    defaults = _DEFAULTS.get(event_type)
    event: dict[str, Any] = {}
    if defaults is not None:
        for key, value in defaults.items():
            event[key] = type(value)() if isinstance(value, (list, dict)) else value
    event.update(kwargs)
    return event
