"""The event schema (contract §6): one ``TypedDict`` per event type and the defaults ``make_event`` fills in.

Runtime payloads and ``mmo_maid_sdk.testing.make_event`` come from this one module, so a test
event always has exactly the keys a production event has.
"""

from __future__ import annotations

import copy
from typing import Any, TypedDict, Union

__all__ = [
    "EVENT_TYPES",
    "ChannelCreateEvent",
    "ChannelDeleteEvent",
    "ChannelUpdateEvent",
    "CommandOption",
    "InteractionCreateEvent",
    "InteractionMember",
    "MemberJoinEvent",
    "MemberLeaveEvent",
    "MemberUpdateEvent",
    "MessageCreateEvent",
    "MessageDeleteEvent",
    "MessageEditEvent",
    "ReactionAddEvent",
    "ReactionRemoveEvent",
    "RoleCreateEvent",
    "RoleDeleteEvent",
    "RoleUpdateEvent",
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


_TS = "2026-01-01T00:00:00Z"
_COUNTS = {"embed_count": 0, "attachment_count": 0, "mention_count": 0}
_MEMBER = {
    "user_id": "200",
    "username": "testuser",
    "display_name": "testuser",
    "bot": False,
    "joined_at": _TS,
    "roles": [],
    "nick": None,
}
_REACTION = {"message_id": "100", "channel_id": "1", "user_id": "200", "user_bot": False, "emoji": "👍"}
_CHANNEL = {"id": "1", "channel_id": "1", "name": "new-channel", "type": 0, "category_id": None, "position": 0}
_ROLE = {
    "id": "1",
    "role_id": "1",
    "name": "new-role",
    "color": 0,
    "position": 1,
    "permissions": "0",
    "managed": False,
    "mentionable": False,
}

#: Defaults per event type, without ``type``; ``guild_id`` is added to each below.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "message_create": {
        "message_id": "100",
        "channel_id": "1",
        "channel_name": "general",
        "author_id": "200",
        "author_username": "testuser",
        "author_bot": False,
        "content": "",
        "timestamp": _TS,
        **_COUNTS,
        "reference_message_id": None,
    },
    "message_edit": {"message_id": "100", "channel_id": "1", "author_id": "200", "content": "", **_COUNTS},
    "message_delete": {"message_id": "100", "channel_id": "1", "author_id": "200", "content": ""},
    "member_join": {**_MEMBER, "guild_name": "Test Server", "member_count": 100},
    "member_leave": dict(_MEMBER),
    "member_update": {
        "user_id": "200",
        "username": "testuser",
        "display_name": "testuser",
        "bot": False,
        "roles": [],
        "before_roles": [],
        "nick": None,
        "before_nick": None,
    },
    "reaction_add": dict(_REACTION),
    "reaction_remove": dict(_REACTION),
    "voice_state_update": {
        "user_id": "200",
        "username": "testuser",
        "bot": False,
        "channel_id": "1",
        "after_channel_id": "1",
        "before_channel_id": None,
        "after_channel_name": "General",
        "before_channel_name": None,
        "self_mute": False,
        "self_deaf": False,
        "self_stream": False,
        "self_video": False,
        "before_self_stream": False,
        "after_self_stream": False,
    },
    "interaction_create": {
        "interaction_id": "300",
        "interaction_type": 2,
        "command_name": "",
        "command_type": 1,
        "options": [],
        "command_options": [],
        "custom_id": "",
        "component_type": 0,
        "values": [],
        "modal_values": {},
        "user_id": "200",
        "user_username": "testuser",
        "channel_id": "1",
        "permissions": "0",
        "member": {"permissions": "0", "roles": [], "nick": None},
    },
    "channel_create": dict(_CHANNEL),
    "channel_delete": dict(_CHANNEL),
    "channel_update": {**_CHANNEL, "before_name": "old-channel"},
    "role_create": dict(_ROLE),
    "role_delete": dict(_ROLE),
    "role_update": {**_ROLE, "before_name": "old-role"},
}
for _d in _DEFAULTS.values():
    _d["guild_id"] = "999"

#: The 16 event types, in the order of the contract.
EVENT_TYPES: tuple[str, ...] = tuple(_DEFAULTS)

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


def make_event(event_type: str, **overrides: Any) -> dict[str, Any]:
    """A new event dict: every key of ``event_type`` with its default, then ``overrides`` (unknown keys kept).

    Overriding only one of ``options`` / ``command_options`` sets the other to the same list.
    Unknown event types give ``{"type": event_type, **overrides}``.
    """
    defaults = _DEFAULTS.get(event_type)
    if defaults is None:
        return {"type": event_type, **overrides}
    event: dict[str, Any] = {"type": event_type, **copy.deepcopy(defaults)}
    if event_type == "interaction_create":
        event["command_options"] = event["options"]
        if "options" in overrides and "command_options" not in overrides:
            overrides = {**overrides, "command_options": overrides["options"]}
        elif "command_options" in overrides and "options" not in overrides:
            overrides = {**overrides, "options": overrides["command_options"]}
    event.update(overrides)
    return event
