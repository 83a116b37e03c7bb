"""``discord.*`` and ``interaction.*`` arguments (contract §4.2, §4.3, §8); the event source performs them.

Each validator is generated from the SDK's method tables (``maidcore.runner.hostapi.generated``);
this module adds only what is platform policy: attached files are decoded and bounded, the
allow bits a plugin may never grant are stripped, a message needs some body.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from maidcore.errors import InvalidArgument
from maidcore.runner.hostapi.args import Args
from maidcore.runner.hostapi.generated import validator

Validator = Callable[[Args], dict[str, Any]]

MAX_FILES_BYTES = 8 * 1024 * 1024
STRIPPED_ALLOW_BITS = 0x8 | 0x20 | 0x10000000 | 0x20000000 | 0x2 | 0x4
BULK_METHODS = frozenset(
    {"discord.timeout_bulk", "discord.kick_bulk", "discord.add_role_bulk", "discord.remove_role_bulk"}
)


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


def _has_body(*keys: str) -> Callable[[dict[str, Any]], None]:
    """A message needs one of ``keys`` non-empty; ``content`` is the field named when none is."""
    expected = "non-empty, or " + " or ".join(keys[1:]) + " given"

    def check(out: dict[str, Any]) -> None:
        if not any(out.get(k) for k in keys):
            raise InvalidArgument("content", expected)

    return check


def _allow(a: Args) -> str:
    """The ``allow`` bitfield without the bits a plugin may never grant (administrator, manage server...)."""
    value = a.params.get("allow")
    if value is None:
        value = "0"
    if not ((type(value) is int and value >= 0) or (isinstance(value, str) and value.isdigit() and value.isascii())):
        raise InvalidArgument("allow", "a permission bitfield (a decimal string)")
    return str(int(value) & ~STRIPPED_ALLOW_BITS)


def _modal_rows(a: Args) -> list[dict[str, Any]]:
    """``components`` (what the SDK sends), or ``fields`` from an older SDK; at most 5 rows."""
    name = "components" if a.params.get("components") is not None else "fields"
    return (a.objects(name) or [])[:5]


_SAFE_MENTIONS = {"allowed_mentions": allowed_mentions}

#: Host methods performed by the event source, each with its validator.
VALIDATORS: dict[str, Validator] = (
    {
        rpc: validator(rpc)
        for rpc in (
            "discord.pin_message",
            "discord.unpin_message",
            "discord.delete_message",
            "discord.bulk_delete_messages",
            "discord.add_reaction",
            "discord.get_messages",
            "discord.get_guild",
            "discord.get_channel",
            "discord.list_channels",
            "discord.get_member",
            "discord.list_members",
            "discord.search_members",
            "discord.list_roles",
            "discord.create_channel",
            "discord.edit_channel",
            "discord.delete_channel",
            "discord.delete_channel_permission",
            "discord.create_thread",
            "discord.edit_thread",
            "discord.timeout_member",
            "discord.timeout_bulk",
            "discord.set_nickname",
            "discord.ban_member",
            "discord.unban_member",
            "discord.kick_member",
            "discord.kick_bulk",
            "discord.add_role",
            "discord.remove_role",
            "discord.add_role_bulk",
            "discord.remove_role_bulk",
            "discord.create_webhook",
            "discord.delete_webhook",
            "interaction.defer",
        )
    }
    | {
        rpc: validator(rpc, fields=_SAFE_MENTIONS)
        for rpc in ("discord.edit_message", "interaction.respond", "interaction.followup")
    }
    | {
        "discord.send_message": validator(
            "discord.send_message",
            fields={"files": _files, **_SAFE_MENTIONS},
            check=_has_body("content", "embeds", "components", "files"),
        ),
        "discord.execute_webhook": validator(
            "discord.execute_webhook", extra=_SAFE_MENTIONS, check=_has_body("content", "embeds")
        ),
        "discord.set_channel_permissions": validator("discord.set_channel_permissions", fields={"allow": _allow}),
        "interaction.send_modal": validator("interaction.send_modal", fields={"components": _modal_rows}),
    }
)


def action_cost(method: str, params: dict[str, Any]) -> int:
    """Units a state-changing call takes from the 60/min Discord bucket: one per target for bulk methods."""
    if method in BULK_METHODS:
        return max(1, len(params["user_ids"]))
    return 1
