"""ctx.discord: every Discord action and read on the ctx's server (contract §4.2)."""

from __future__ import annotations

from .. import _checks as C
from .._api import WHOLE, Method
from .._errors import ValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _send_check(a: dict[str, Any]) -> None:
    if not (a.get("content") or a.get("embeds") or a.get("components") or a.get("files")):
        raise ValidationError("send_message needs something to send: content, embeds, components or files")


def _reaction_check(a: dict[str, Any]) -> None:
    C.emoji(a["emoji"])


def _bitfield_check(a: dict[str, Any]) -> None:
    for n in ("allow", "deny"):
        v = a[n]
        if isinstance(v, bool) or not ((isinstance(v, int) and v >= 0) or (isinstance(v, str) and v.isdigit())):
            raise ValidationError(f"invalid {n}: a permission bitfield as a decimal string or int, got {v!r}")


def _bitfield_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    p["allow"], p["deny"] = str(p["allow"]), str(p["deny"])
    return "discord.set_channel_permissions", p


def _search_check(a: dict[str, Any]) -> None:
    if not isinstance(a["query"], str):
        raise ValidationError(f"invalid query: expected a string, got {type(a['query']).__name__}")


_MSG_CUTS = {"content": 2000, "embeds": 10}
_REASON = {"reason": 512}
_SEND = "discord:send_message"
_EDIT = "discord:edit_message"
_DELETE = "discord:delete_message"
_READ = "discord:read"
_CHANNELS = "discord:manage_channels"
_MODERATE = "discord:moderate_members"
_KICK = "discord:kick_members"
_BAN = "discord:ban_members"
_ROLES = "discord:manage_roles"
_HOOKS = "discord:manage_webhooks"


def _d(name: str, signature: str, capability: str, bot_perm: str, result: str | None = None, **kw: Any) -> Method:
    return Method("discord", name, signature, capability, result, bot_perm=bot_perm, **kw)


DISCORD: tuple[Method, ...] = (
    _d(
        "send_message",
        "*, channel_id, content='', embeds=None, components=None, files=None",
        _SEND,
        "send_messages",
        WHOLE,
        doc="Send a message; returns {message_id, channel_id}.",
        ids=("channel_id",),
        cuts={**_MSG_CUTS, "files": 3},
        components=("components",),
        check=_send_check,
    ),
    _d(
        "edit_message",
        "*, channel_id, message_id, content=None, embeds=None, components=None",
        _EDIT,
        "view_channel",
        WHOLE,
        doc="Edit a message this bot sent; None leaves a field unchanged, ''/[] clears it.",
        ids=("channel_id", "message_id"),
        cuts=_MSG_CUTS,
        components=("components",),
    ),
    _d("pin_message", "*, channel_id, message_id", _EDIT, "manage_messages", ids=("channel_id", "message_id")),
    _d("unpin_message", "*, channel_id, message_id", _EDIT, "manage_messages", ids=("channel_id", "message_id")),
    _d("delete_message", "*, channel_id, message_id", _DELETE, "manage_messages", ids=("channel_id", "message_id")),
    _d(
        "bulk_delete_messages",
        "*, channel_id, message_ids",
        _DELETE,
        "manage_messages",
        doc="Delete 2-100 messages younger than 14 days in one call.",
        ids=("channel_id",),
        id_lists={"message_ids": 100},
    ),
    _d(
        "add_reaction",
        "*, channel_id, message_id, emoji",
        "discord:add_reaction",
        "add_reactions",
        doc="React with a unicode emoji or a custom emoji written name:id.",
        ids=("channel_id", "message_id"),
        check=_reaction_check,
    ),
    _d(
        "get_messages",
        "*, channel_id, limit=50, before=None, after=None",
        _READ,
        "read_message_history",
        "messages",
        doc="Up to 50 messages, newest first; before/after are message-id cursors.",
        ids=("channel_id",),
        opt_ids=("before", "after"),
        clamps={"limit": (1, 50)},
    ),
    _d("get_guild", "", _READ, "view_channel", "guild", doc="This server's id, name, icon, member count, ..."),
    _d("get_channel", "*, channel_id", _READ, "view_channel", "channel", ids=("channel_id",)),
    _d("list_channels", "", _READ, "view_channel", "channels"),
    _d("get_member", "*, user_id", _READ, "view_channel", "member", ids=("user_id",)),
    _d(
        "list_members",
        "*, role_id=None, limit=100, after=None",
        _READ,
        "view_channel",
        "members",
        doc="Members by ascending user id; after is a user-id cursor.",
        opt_ids=("role_id", "after"),
        clamps={"limit": (1, 100)},
    ),
    _d(
        "search_members",
        "query, *, limit=25",
        _READ,
        "view_channel",
        "members",
        doc="Members whose username or nickname starts with query.",
        clamps={"limit": (1, 25)},
        check=_search_check,
    ),
    _d("list_roles", "", _READ, "view_channel", "roles"),
    _d(
        "create_channel",
        "*, name, channel_type=0, category_id=None, topic=None, user_limit=None",
        _CHANNELS,
        "manage_channels",
        "channel",
        opt_ids=("category_id",),
        cuts={"name": 100, "topic": 1024},
        clamps={"user_limit": (0, 99)},
        choices={"channel_type": (0, 2, 4, 13, 15)},
    ),
    _d(
        "edit_channel",
        "*, channel_id, name=None, topic=None, user_limit=None",
        _CHANNELS,
        "manage_channels",
        "channel",
        ids=("channel_id",),
        cuts={"name": 100, "topic": 1024},
        clamps={"user_limit": (0, 99)},
    ),
    _d("delete_channel", "*, channel_id", _CHANNELS, "manage_channels", ids=("channel_id",)),
    _d(
        "set_channel_permissions",
        "*, channel_id, target_id, allow='0', deny='0', target_type=0",
        _CHANNELS,
        "manage_roles",
        doc="Overwrite a role's (target_type 0) or member's (1) permissions in a channel.",
        ids=("channel_id", "target_id"),
        choices={"target_type": (0, 1)},
        check=_bitfield_check,
        wire=_bitfield_wire,
    ),
    _d(
        "delete_channel_permission",
        "*, channel_id, target_id",
        _CHANNELS,
        "manage_roles",
        ids=("channel_id", "target_id"),
    ),
    _d(
        "create_thread",
        "*, channel_id, name, thread_type=11, auto_archive_duration=1440",
        _CHANNELS,
        "create_public_threads",
        "thread",
        ids=("channel_id",),
        cuts={"name": 100},
        choices={"thread_type": (11, 12), "auto_archive_duration": (60, 1440, 4320, 10080)},
    ),
    _d(
        "edit_thread",
        "*, thread_id, archived=None, locked=None, name=None, auto_archive_duration=None",
        _CHANNELS,
        "manage_threads",
        ids=("thread_id",),
        cuts={"name": 100},
        choices={"auto_archive_duration": (60, 1440, 4320, 10080)},
    ),
    _d(
        "timeout_member",
        "*, user_id, duration_seconds, reason=''",
        _MODERATE,
        "moderate_members",
        doc="Time a member out for up to 28 days; 0 lifts the timeout.",
        ids=("user_id",),
        cuts=_REASON,
        clamps={"duration_seconds": (0, 2419200)},
    ),
    _d(
        "set_nickname",
        "*, user_id, nickname=None",
        _MODERATE,
        "manage_nicknames",
        doc="Set a member's nickname; None resets it.",
        ids=("user_id",),
        cuts={"nickname": 32},
        keep_none=("nickname",),
    ),
    _d(
        "timeout_bulk",
        "*, user_ids, duration_seconds, reason=''",
        _MODERATE,
        "moderate_members",
        WHOLE,
        id_lists={"user_ids": None},
        cuts={**_REASON, "user_ids": 25},
        clamps={"duration_seconds": (0, 2419200)},
    ),
    _d(
        "ban_member",
        "*, user_id, reason='', delete_message_seconds=0",
        _BAN,
        "ban_members",
        ids=("user_id",),
        cuts=_REASON,
        clamps={"delete_message_seconds": (0, 604800)},
    ),
    _d("unban_member", "*, user_id", _BAN, "ban_members", ids=("user_id",)),
    _d("kick_member", "*, user_id, reason=''", _KICK, "kick_members", ids=("user_id",), cuts=_REASON),
    _d(
        "kick_bulk",
        "*, user_ids, reason=''",
        _KICK,
        "kick_members",
        WHOLE,
        id_lists={"user_ids": None},
        cuts={**_REASON, "user_ids": 25},
    ),
    _d("add_role", "*, user_id, role_id, reason=''", _ROLES, "manage_roles", ids=("user_id", "role_id"), cuts=_REASON),
    _d(
        "remove_role",
        "*, user_id, role_id, reason=''",
        _ROLES,
        "manage_roles",
        ids=("user_id", "role_id"),
        cuts=_REASON,
    ),
    _d(
        "add_role_bulk",
        "*, user_ids, role_id, reason=''",
        _ROLES,
        "manage_roles",
        WHOLE,
        ids=("role_id",),
        id_lists={"user_ids": None},
        cuts={**_REASON, "user_ids": 25},
    ),
    _d(
        "remove_role_bulk",
        "*, user_ids, role_id, reason=''",
        _ROLES,
        "manage_roles",
        WHOLE,
        ids=("role_id",),
        id_lists={"user_ids": None},
        cuts={**_REASON, "user_ids": 25},
    ),
    _d(
        "create_webhook",
        "*, channel_id, name",
        _HOOKS,
        "manage_webhooks",
        "webhook",
        doc="Create a webhook; keep the returned token to execute it.",
        ids=("channel_id",),
        cuts={"name": 80},
    ),
    _d(
        "execute_webhook",
        "*, webhook_id, webhook_token, content='', embeds=None, username=None, avatar_url=None",
        _HOOKS,
        "manage_webhooks",
        WHOLE,
        ids=("webhook_id",),
        cuts=_MSG_CUTS,
    ),
    _d("delete_webhook", "*, webhook_id", _HOOKS, "manage_webhooks", ids=("webhook_id",)),
)


METHODS = DISCORD
