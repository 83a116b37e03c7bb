"""The testing kit's canned Discord answers (contract §11.4), as ``ctx`` returns them.

``MockContext`` answers with these, and ``maidcore replay`` sends the same values wrapped as
the host would, so a replayed plugin sees what its unit tests saw.
"""

from __future__ import annotations

import copy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

_GUILD = {
    "id": "999",
    "name": "Test Server",
    "icon": None,
    "member_count": 100,
    "premium_tier": 0,
    "features": [],
    "owner_id": "1",
    "description": None,
}
_ROLES = [
    {
        "id": "1",
        "name": "@everyone",
        "color": 0,
        "position": 0,
        "managed": False,
        "mentionable": False,
        "permissions": "0",
    }
]
_CHANNELS = [{"id": "1", "name": "general", "type": 0, "parent_id": None, "position": 0}]
_BULK = ("discord.timeout_bulk", "discord.kick_bulk", "discord.add_role_bulk", "discord.remove_role_bulk")
_EMPTY_LISTS = ("discord.list_members", "discord.search_members", "discord.get_messages")


def answer(method: str, args: Mapping[str, Any], new_id: Callable[[str], str], server_id: str = "999") -> Any:
    """The value ``ctx.<method>`` returns for ``args`` (``"discord.get_guild"``…); ``None`` for the rest.

    ``new_id(kind)`` hands out the next id of a kind: message, channel, thread, webhook or followup.
    """
    a = args
    if method == "discord.send_message":
        return {"message_id": new_id("message"), "channel_id": a["channel_id"]}
    if method == "discord.edit_message":
        return {"message_id": a["message_id"], "channel_id": a["channel_id"]}
    if method == "discord.execute_webhook":
        return {"message_id": new_id("message")}
    if method in _BULK:
        return {"success": len(a["user_ids"]), "failed": 0, "errors": []}
    if method == "discord.create_channel":
        return {"id": new_id("channel"), "name": a["name"], "type": a["channel_type"]}
    if method == "discord.edit_channel":
        return {"id": a["channel_id"], "name": a.get("name", ""), "type": 0}
    if method == "discord.create_thread":
        return {"id": new_id("thread"), "name": a["name"], "type": a["thread_type"], "archived": False}
    if method == "discord.create_webhook":
        return {"id": new_id("webhook"), "token": "mock_token", "channel_id": a["channel_id"], "name": a["name"]}
    if method == "discord.get_guild":
        return {**copy.deepcopy(_GUILD), "id": server_id}
    if method == "discord.get_member":
        user_id = a["user_id"]
        return {
            "user_id": user_id,
            "username": f"user_{user_id}",
            "display_name": f"User {user_id}",
            "nick": None,
            "avatar": None,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00Z",
            "bot": False,
        }
    if method == "discord.get_channel":
        channel_id = a["channel_id"]
        return {
            "id": channel_id,
            "name": f"channel-{channel_id}",
            "type": 0,
            "topic": None,
            "parent_id": None,
            "position": 0,
            "nsfw": False,
        }
    if method == "discord.list_roles":
        return copy.deepcopy(_ROLES)
    if method == "discord.list_channels":
        return copy.deepcopy(_CHANNELS)
    if method in _EMPTY_LISTS:
        return []
    if method == "interaction.followup":
        return {"message_id": new_id("followup"), "channel_id": ""}
    return None
