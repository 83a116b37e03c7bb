"""The testing kit's canned Discord answers, as ``ctx`` returns them.

``MockContext`` answers reads with these, and ``maidcore replay`` sends the same values wrapped
as a host would, so a replayed plugin sees what its unit tests saw.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

_BULK = ("discord.timeout_bulk", "discord.kick_bulk", "discord.add_role_bulk", "discord.remove_role_bulk")
_EMPTY_LISTS = ("discord.list_members", "discord.search_members", "discord.get_messages")


def guild() -> dict[str, Any]:
    return {
        "id": "999",
        "name": "Test Server",
        "icon": None,
        "member_count": 100,
        "premium_tier": 0,
        "features": [],
        "owner_id": "1",
    }


def channel(channel_id: Any) -> dict[str, Any]:
    return {"id": channel_id, "name": f"channel-{channel_id}", "type": 0}


def channels() -> list[dict[str, Any]]:
    return [{"id": "1", "name": "general", "type": 0, "parent_id": None, "position": 0}]


def member(user_id: Any) -> dict[str, Any]:
    return {"user_id": user_id, "username": f"user_{user_id}", "display_name": f"User {user_id}", "roles": [],
            "bot": False}  # fmt: skip


def roles() -> list[dict[str, Any]]:
    return [{"id": "1", "name": "@everyone", "color": 0, "position": 0}]


def answer(method: str, args: Mapping[str, Any], new_id: Callable[[str], str], server_id: str = "999") -> Any:
    """The value ``ctx.<method>`` returns for ``args`` in the testing kit (``"discord.get_guild"``...); ``None`` else.

    ``new_id(kind)`` hands out the next id of a kind: message, channel, thread, webhook or followup.
    """
    a = args
    if method == "discord.send_message":
        return {"ok": True, "message_id": new_id("message"), "channel_id": a["channel_id"]}
    if method == "discord.edit_message":
        return {"ok": True}
    if method == "discord.execute_webhook":
        return {"message_id": new_id("message")}
    if method in _BULK:
        return {"success": len(a["user_ids"]), "failed": 0, "errors": []}
    if method == "discord.create_channel":
        return {"id": new_id("channel"), "name": a["name"], "type": a.get("channel_type", 0)}
    if method == "discord.create_thread":
        return {"id": new_id("thread"), "name": a["name"], "type": a.get("thread_type", 11), "archived": False}
    if method == "discord.create_webhook":
        return {"id": new_id("webhook"), "token": "mock_token", "channel_id": a["channel_id"], "name": a["name"]}
    if method == "discord.get_guild":
        return guild()
    if method == "discord.get_member":
        return member(a["user_id"])
    if method == "discord.get_channel":
        return channel(a["channel_id"])
    if method == "discord.list_roles":
        return roles()
    if method == "discord.list_channels":
        return channels()
    if method in _EMPTY_LISTS:
        return []
    if method == "interaction.followup":
        return {"message_id": new_id("followup"), "channel_id": ""}
    return None
