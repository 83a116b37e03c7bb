"""``discord.*`` and ``interaction.*`` arguments (contract §4.2, §4.3, §8); the event source performs them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from maidcore.errors import InvalidArgument
from maidcore.runner.hostapi.args import Args

Validator = Callable[[Args], dict[str, Any]]

MAX_FILES_BYTES = 8 * 1024 * 1024
STRIPPED_ALLOW_BITS = 0x8 | 0x20 | 0x10000000 | 0x20000000 | 0x2 | 0x4
CHANNEL_TYPES = frozenset({0, 2, 4, 13, 15})
THREAD_TYPES = frozenset({11, 12})
ARCHIVE_MINUTES = frozenset({60, 1440, 4320, 10080})
BULK_METHODS = frozenset(
    {"discord.timeout_bulk", "discord.kick_bulk", "discord.add_role_bulk", "discord.remove_role_bulk"}
)


def _set(out: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        out[name] = value


def _bitfield(a: Args, name: str) -> str:
    value = a.params.get(name, "0")
    if value is None:
        value = "0"
    if type(value) is int and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    raise InvalidArgument(name, "a permission bitfield (a decimal string)")


def _files(a: Args) -> list[dict[str, str]] | None:
    files = a.objects("files", cut=3)
    if files is None:
        return None
    total = 0
    out = []
    for index, item in enumerate(files):
        filename, data = item.get("filename"), item.get("data_b64")
        if not isinstance(filename, str) or not filename or len(filename) > 256:
            raise InvalidArgument(f"files[{index}].filename", "a file name of 1-256 characters")
        if not isinstance(data, str):
            raise InvalidArgument(f"files[{index}].data_b64", "base64 text")
        try:
            total += len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidArgument(f"files[{index}].data_b64", "valid base64 text") from None
        out.append({"filename": filename, "data_b64": data})
    if total > MAX_FILES_BYTES:
        raise InvalidArgument("files", f"at most {MAX_FILES_BYTES} bytes in total once decoded (got {total})")
    return out


#: What a plugin's message may ping: ``everyone``/``here`` never, and nobody unless the plugin says so.
MENTION_KINDS = frozenset({"users", "roles"})
NO_PINGS: dict[str, Any] = {"parse": []}


def allowed_mentions(a: Args) -> dict[str, Any]:
    """Discord's ``allowed_mentions`` made safe: the default pings nobody, ``everyone``/``here`` are stripped,
    and an explicit id list wins over parsing that kind (Discord refuses both at once)."""
    given = a.mapping("allowed_mentions")
    if not given:
        return dict(NO_PINGS)
    out: dict[str, Any] = {}
    for kind in ("users", "roles"):
        ids = given.get(kind)
        if ids is not None:
            out[kind] = Args({f"allowed_mentions.{kind}": ids}).snowflakes(
                f"allowed_mentions.{kind}", cut=100, at_least=0
            )
    parse = given.get("parse", [])
    if not isinstance(parse, list) or not all(isinstance(p, str) for p in parse):
        raise InvalidArgument("allowed_mentions.parse", 'a list of "users" and "roles"')
    out["parse"] = sorted({p for p in parse if p in MENTION_KINDS and not out.get(p)})
    if "replied_user" in given:
        out["replied_user"] = given["replied_user"] is True
    return out


def _message_body(a: Args, out: dict[str, Any], *, edit: bool) -> None:
    if edit:
        _set(out, "content", a.text("content", default=None, cut=2000))
    else:
        out["content"] = a.text("content", default="", cut=2000)
    _set(out, "embeds", a.objects("embeds", cut=10))
    _set(out, "components", a.objects("components", max_items=5))
    out["allowed_mentions"] = allowed_mentions(a)


def send_message(a: Args) -> dict[str, Any]:
    out: dict[str, Any] = {"channel_id": a.snowflake("channel_id")}
    _message_body(a, out, edit=False)
    _set(out, "files", _files(a))
    if not (out["content"] or out.get("embeds") or out.get("components") or out.get("files")):
        raise InvalidArgument("content", "non-empty, or embeds, components or files given")
    return out


def edit_message(a: Args) -> dict[str, Any]:
    out: dict[str, Any] = {"channel_id": a.snowflake("channel_id"), "message_id": a.snowflake("message_id")}
    _message_body(a, out, edit=True)
    return out


def _channel_message(a: Args) -> dict[str, Any]:
    return {"channel_id": a.snowflake("channel_id"), "message_id": a.snowflake("message_id")}


def bulk_delete_messages(a: Args) -> dict[str, Any]:
    return {"channel_id": a.snowflake("channel_id"), "message_ids": a.snowflakes("message_ids", cut=100, at_least=2)}


def add_reaction(a: Args) -> dict[str, Any]:
    out = _channel_message(a)
    out["emoji"] = a.text("emoji", required=True, non_empty=True, max_len=100)
    return out


def get_messages(a: Args) -> dict[str, Any]:
    out: dict[str, Any] = {
        "channel_id": a.snowflake("channel_id"),
        "limit": a.integer("limit", default=50, clamp=(1, 50)),
    }
    _set(out, "before", a.snowflake("before", required=False))
    _set(out, "after", a.snowflake("after", required=False))
    return out


def _nothing(a: Args) -> dict[str, Any]:
    return {}


def _channel(a: Args) -> dict[str, Any]:
    return {"channel_id": a.snowflake("channel_id")}


def _user(a: Args) -> dict[str, Any]:
    return {"user_id": a.snowflake("user_id")}


def list_members(a: Args) -> dict[str, Any]:
    out: dict[str, Any] = {"limit": a.integer("limit", default=100, clamp=(1, 100))}
    _set(out, "role_id", a.snowflake("role_id", required=False))
    _set(out, "after", a.snowflake("after", required=False))
    return out


def search_members(a: Args) -> dict[str, Any]:
    return {
        "query": a.text("query", required=True, non_empty=True, cut=100),
        "limit": a.integer("limit", default=25, clamp=(1, 25)),
    }


def create_channel(a: Args) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": a.text("name", required=True, non_empty=True, cut=100),
        "channel_type": a.integer("channel_type", default=0, choices=CHANNEL_TYPES),
    }
    _set(out, "category_id", a.snowflake("category_id", required=False))
    _set(out, "topic", a.text("topic", default=None, cut=1024))
    _set(out, "user_limit", a.integer("user_limit", clamp=(0, 99)))
    return out


def edit_channel(a: Args) -> dict[str, Any]:
    out: dict[str, Any] = {"channel_id": a.snowflake("channel_id")}
    _set(out, "name", a.text("name", default=None, cut=100))
    _set(out, "topic", a.text("topic", default=None, cut=1024))
    _set(out, "user_limit", a.integer("user_limit", clamp=(0, 99)))
    return out


def set_channel_permissions(a: Args) -> dict[str, Any]:
    allow = int(_bitfield(a, "allow")) & ~STRIPPED_ALLOW_BITS
    return {
        "channel_id": a.snowflake("channel_id"),
        "target_id": a.snowflake("target_id"),
        "allow": str(allow),
        "deny": _bitfield(a, "deny"),
        "target_type": a.integer("target_type", default=0, choices=(0, 1)),
    }


def delete_channel_permission(a: Args) -> dict[str, Any]:
    return {"channel_id": a.snowflake("channel_id"), "target_id": a.snowflake("target_id")}


def create_thread(a: Args) -> dict[str, Any]:
    return {
        "channel_id": a.snowflake("channel_id"),
        "name": a.text("name", required=True, non_empty=True, cut=100),
        "thread_type": a.integer("thread_type", default=11, choices=THREAD_TYPES),
        "auto_archive_duration": a.integer("auto_archive_duration", default=1440, choices=ARCHIVE_MINUTES),
    }


def edit_thread(a: Args) -> dict[str, Any]:
    out: dict[str, Any] = {"thread_id": a.snowflake("thread_id")}
    _set(out, "archived", a.boolean("archived", default=None))
    _set(out, "locked", a.boolean("locked", default=None))
    _set(out, "name", a.text("name", default=None, cut=100))
    _set(out, "auto_archive_duration", a.integer("auto_archive_duration", choices=ARCHIVE_MINUTES))
    return out


def _reason(a: Args) -> str:
    return a.text("reason", default="", cut=512) or ""


def timeout_member(a: Args) -> dict[str, Any]:
    return {
        "user_id": a.snowflake("user_id"),
        "duration_seconds": a.integer("duration_seconds", required=True, clamp=(0, 2419200)),
        "reason": _reason(a),
    }


def timeout_bulk(a: Args) -> dict[str, Any]:
    return {
        "user_ids": a.snowflakes("user_ids", cut=25),
        "duration_seconds": a.integer("duration_seconds", required=True, clamp=(0, 2419200)),
        "reason": _reason(a),
    }


def set_nickname(a: Args) -> dict[str, Any]:
    return {"user_id": a.snowflake("user_id"), "nickname": a.text("nickname", default=None, cut=32)}


def ban_member(a: Args) -> dict[str, Any]:
    return {
        "user_id": a.snowflake("user_id"),
        "reason": _reason(a),
        "delete_message_seconds": a.integer("delete_message_seconds", default=0, clamp=(0, 604800)),
    }


def kick_member(a: Args) -> dict[str, Any]:
    return {"user_id": a.snowflake("user_id"), "reason": _reason(a)}


def kick_bulk(a: Args) -> dict[str, Any]:
    return {"user_ids": a.snowflakes("user_ids", cut=25), "reason": _reason(a)}


def role_change(a: Args) -> dict[str, Any]:
    return {"user_id": a.snowflake("user_id"), "role_id": a.snowflake("role_id"), "reason": _reason(a)}


def role_change_bulk(a: Args) -> dict[str, Any]:
    return {"user_ids": a.snowflakes("user_ids", cut=25), "role_id": a.snowflake("role_id"), "reason": _reason(a)}


def create_webhook(a: Args) -> dict[str, Any]:
    return {"channel_id": a.snowflake("channel_id"), "name": a.text("name", required=True, non_empty=True, cut=80)}


def execute_webhook(a: Args) -> dict[str, Any]:
    out: dict[str, Any] = {
        "webhook_id": a.snowflake("webhook_id"),
        "webhook_token": a.text("webhook_token", required=True, non_empty=True, max_len=200),
        "content": a.text("content", default="", cut=2000),
    }
    _set(out, "embeds", a.objects("embeds", cut=10))
    out["allowed_mentions"] = allowed_mentions(a)
    _set(out, "username", a.text("username", default=None, cut=80))
    _set(out, "avatar_url", a.text("avatar_url", default=None, max_len=2048))
    if not (out["content"] or out.get("embeds")):
        raise InvalidArgument("content", "non-empty, or embeds given")
    return out


def _webhook(a: Args) -> dict[str, Any]:
    return {"webhook_id": a.snowflake("webhook_id")}


# --- interaction.* ------------------------------------------------------------


def _interaction(a: Args) -> dict[str, Any]:
    return {"_interaction_id": a.snowflake("_interaction_id")}


def respond(a: Args) -> dict[str, Any]:
    out = _interaction(a)
    out["content"] = a.text("content", default="", cut=2000)
    _set(out, "embeds", a.objects("embeds", cut=10))
    _set(out, "components", a.objects("components", max_items=5))
    out["ephemeral"] = a.boolean("ephemeral", default=False)
    out["allowed_mentions"] = allowed_mentions(a)
    if a.boolean("update_message", default=False):  # 0.7: edit the message the component is on
        out["update_message"] = True
    return out


def defer(a: Args) -> dict[str, Any]:
    out = _interaction(a)
    out["ephemeral"] = a.boolean("ephemeral", default=False)
    return out


def send_modal(a: Args) -> dict[str, Any]:
    out = _interaction(a)
    out["title"] = a.text("title", required=True, non_empty=True, cut=45)
    out["custom_id"] = a.text("custom_id", required=True, non_empty=True, cut=100)
    name = "components" if a.params.get("components") is not None else "fields"
    rows = a.objects(name) or []
    out["components"] = rows[:5]
    return out


VALIDATORS: dict[str, Validator] = {
    "discord.send_message": send_message,
    "discord.edit_message": edit_message,
    "discord.pin_message": _channel_message,
    "discord.unpin_message": _channel_message,
    "discord.delete_message": _channel_message,
    "discord.bulk_delete_messages": bulk_delete_messages,
    "discord.add_reaction": add_reaction,
    "discord.get_messages": get_messages,
    "discord.get_guild": _nothing,
    "discord.get_channel": _channel,
    "discord.list_channels": _nothing,
    "discord.get_member": _user,
    "discord.list_members": list_members,
    "discord.search_members": search_members,
    "discord.list_roles": _nothing,
    "discord.create_channel": create_channel,
    "discord.edit_channel": edit_channel,
    "discord.delete_channel": _channel,
    "discord.set_channel_permissions": set_channel_permissions,
    "discord.delete_channel_permission": delete_channel_permission,
    "discord.create_thread": create_thread,
    "discord.edit_thread": edit_thread,
    "discord.timeout_member": timeout_member,
    "discord.timeout_bulk": timeout_bulk,
    "discord.set_nickname": set_nickname,
    "discord.ban_member": ban_member,
    "discord.unban_member": _user,
    "discord.kick_member": kick_member,
    "discord.kick_bulk": kick_bulk,
    "discord.add_role": role_change,
    "discord.remove_role": role_change,
    "discord.add_role_bulk": role_change_bulk,
    "discord.remove_role_bulk": role_change_bulk,
    "discord.create_webhook": create_webhook,
    "discord.execute_webhook": execute_webhook,
    "discord.delete_webhook": _webhook,
    "interaction.respond": respond,
    "interaction.followup": respond,
    "interaction.defer": defer,
    "interaction.send_modal": send_modal,
}


def action_cost(method: str, params: dict[str, Any]) -> int:
    """Units a state-changing call takes from the 60/min Discord bucket: one per target for bulk methods."""
    if method in BULK_METHODS:
        return max(1, len(params["user_ids"]))
    return 1
