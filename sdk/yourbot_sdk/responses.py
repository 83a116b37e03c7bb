"""What the ``ctx.discord`` reads return: ``Member``, ``Role``, ``Channel``, ``Guild`` and ``Message``.

``TypedDict`` descriptions for editors and type checkers (every key optional); at run time the
values are plain dicts.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["Channel", "Guild", "Member", "Message", "Role"]


class Member(TypedDict, total=False):
    user_id: str
    username: str
    display_name: str
    nick: str | None
    avatar: str | None
    roles: list[str]
    joined_at: str | None
    bot: bool


class Role(TypedDict, total=False):
    id: str
    name: str
    color: int
    position: int
    managed: bool
    mentionable: bool
    permissions: str


class Channel(TypedDict, total=False):
    id: str
    name: str
    type: int
    topic: str | None
    parent_id: str | None
    position: int
    nsfw: bool


class Guild(TypedDict, total=False):
    id: str
    name: str
    icon: str | None
    member_count: int
    premium_tier: int
    features: list[str]
    owner_id: str
    description: str | None


class Message(TypedDict, total=False):
    id: str
    channel_id: str
    author_id: str
    author_username: str
    author_bot: bool
    content: str
    timestamp: str | None
    edited_timestamp: str | None
    attachments: int
    embeds: int
    pinned: bool
