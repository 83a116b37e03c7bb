"""One description of every ``ctx`` method (contract §4, §10.4).

Each ``Method`` says the signature, RPC name, capability, the local checks, the cuts and
clamps, which ``None`` arguments are omitted and which result key is returned. The real
``Context`` and the testing kit's mocks are both generated from this table, so their names,
defaults and checks cannot drift apart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from . import _checks as C
from ._components import component_dict
from ._errors import ValidationError

WHOLE = "<whole result>"


def _cut(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return value[:n]
    if isinstance(value, (list, tuple)):
        return list(value)[:n]
    if isinstance(value, dict):
        return dict(list(value.items())[:n])
    return value


def _clamp(name: str, value: Any, lo: float, hi: float) -> Any:
    C.number(name, value)
    return type(value)(max(lo, min(hi, value))) if isinstance(value, int) else max(lo, min(hi, value))


def components_wire(items: Any) -> list[Any]:
    return [component_dict(c) for c in (items or [])]


def modal_rows(fields: Any) -> list[Any]:
    """Modal fields as action rows: bare ``TextInput``s get a row each; rows and raw dicts pass through."""
    rows = []
    for f in list(fields or [])[:5]:
        d = component_dict(f)
        if isinstance(d, dict) and d.get("type") == 4:
            d = {"type": 1, "components": [d]}
        rows.append(d)
    return rows


@dataclass(frozen=True)
class Method:
    api: str
    name: str
    signature: str
    capability: str | None
    result: str | None = None  # result key, WHOLE, or None (the method returns None)
    doc: str = ""
    ids: tuple[str, ...] = ()  # required snowflakes
    opt_ids: tuple[str, ...] = ()  # optional snowflakes (None allowed)
    id_lists: dict[str, int | None] = field(default_factory=dict)  # list-of-id args -> ValidationError above n
    cuts: dict[str, int] = field(default_factory=dict)
    clamps: dict[str, tuple[float, float]] = field(default_factory=dict)
    choices: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    components: tuple[str, ...] = ()
    keep_none: tuple[str, ...] = ()
    always: dict[str, Any] = field(default_factory=dict)  # wire keys always sent; value used when None
    check: Callable[[dict[str, Any]], None] | None = None
    wire: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]] | None = None
    decode: Callable[[Any], Any] | None = None
    rpc: str = ""
    bot_perm: str = ""
    mock_signature: str = ""

    @property
    def qualname(self) -> str:
        return f"{self.api}.{self.name}"

    @property
    def rpc_method(self) -> str:
        return self.rpc or self.qualname

    def validate(self, args: dict[str, Any]) -> None:
        """The local checks (§4.10 and impossible arguments); raise ``ValidationError``/``KvQuotaError``."""
        for n in self.ids:
            C.snowflake(n, args[n])
        for n in self.opt_ids:
            if args[n] is not None:
                C.snowflake(n, args[n])
        for n, limit in self.id_lists.items():
            C.snowflakes(n, args[n], limit)
        for n, allowed in self.choices.items():
            if args[n] is not None:
                C.one_of(n, args[n], allowed)
        if self.check is not None:
            self.check(args)

    def to_wire(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The RPC method and params after cuts and clamps, with unset optional arguments omitted."""
        params: dict[str, Any] = {}
        for n, v in args.items():
            if v is None:
                if n in self.keep_none:
                    params[n] = None
                elif n in self.always:
                    params[n] = self.always[n]
                continue
            if n in self.ids or n in self.opt_ids:
                v = str(v)
            elif n in self.id_lists:
                v = [str(i) for i in v]
            if n in self.cuts:
                v = _cut(v, self.cuts[n])
            if n in self.clamps:
                v = _clamp(n, v, *self.clamps[n])
            if n in self.components:
                v = components_wire(v)
            params[n] = v
        if self.wire is not None:
            return self.wire(params)
        return self.rpc_method, params

    def from_wire(self, result: Any) -> Any:
        if self.decode is not None:
            return self.decode(result)
        if self.result is None:
            return None
        if self.result == WHOLE:
            return result
        return result.get(self.result) if isinstance(result, dict) else None

    def parameters(self) -> list[inspect.Parameter]:
        return list(_signature(self.signature).parameters.values())


def _signature(text: str) -> inspect.Signature:
    ns: dict[str, Any] = {}
    exec(f"def f({text}): pass", ns)
    return inspect.signature(ns["f"])


# -- per-method checks and wire shapes ----------------------------------------------------


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


def _kv_key_check(a: dict[str, Any]) -> None:
    C.kv_key(a["key"])


def _kv_set_check(a: dict[str, Any]) -> None:
    C.kv_key(a["key"])
    C.integer("ttl_seconds", a["ttl_seconds"], minimum=0)
    if a["value"] is not None:
        C.kv_value(a["key"], a["value"])


def _kv_set_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if p.get("value") is None:
        return "kv.del", {"key": p["key"]}
    if not p.get("ttl_seconds"):
        p.pop("ttl_seconds", None)
    return "kv.put", p


def _kv_incr_check(a: dict[str, Any]) -> None:
    C.kv_key(a["key"])
    C.number("amount", a["amount"])
    if "path" in a and not isinstance(a["path"], str):
        raise ValidationError(f"invalid path: expected a dotted string, got {a['path']!r}")


def _kv_list_check(a: dict[str, Any]) -> None:
    if not isinstance(a["prefix"], str):
        raise ValidationError(f"invalid prefix: expected a string, got {a['prefix']!r}")
    if a.get("start_after") is not None and not isinstance(a["start_after"], str):
        raise ValidationError(f"invalid start_after: expected a key string, got {a['start_after']!r}")


def _kv_count_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "kv.list", {"prefix": p["prefix"], "limit": 0, "count_only": True}


def _kv_get_many_check(a: dict[str, Any]) -> None:
    keys = a["keys"]
    if isinstance(keys, (str, bytes, dict)) or not hasattr(keys, "__iter__"):
        raise ValidationError("invalid keys: expected a list of keys")
    keys = list(keys)
    if len(keys) > 50:
        raise ValidationError(f"invalid keys: get_many takes at most 50 keys, got {len(keys)}")
    for k in keys:
        C.kv_key(k)


def _kv_get_many_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "kv.mget", {"keys": list(p["keys"])}


def _kv_set_many_check(a: dict[str, Any]) -> None:
    entries = a["entries"]
    if not isinstance(entries, dict):
        raise ValidationError(f"invalid entries: expected a dict of key -> value, got {type(entries).__name__}")
    if len(entries) > 25:
        raise ValidationError(f"invalid entries: set_many takes at most 25 pairs, got {len(entries)}")
    for k, v in entries.items():
        C.kv_key(k)
        C.kv_value(k, v)


def _sql_check(a: dict[str, Any]) -> None:
    C.sql_params(a["sql"], a["params"])


def _sql_wire(rpc: str) -> Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]:
    def wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        out = {"sql": p["sql"], "params": C.sql_params(p["sql"], p.get("params"))}
        if "limit" in p:
            out["limit"] = p["limit"]
        return rpc, out

    return wire


class SqlRows(list):  # type: ignore[type-arg]
    """The rows of ``ctx.sql.query``; ``truncated`` says the limit cut the result."""

    def __init__(self, rows: Any = (), truncated: bool = False) -> None:
        super().__init__(rows)
        self.truncated = truncated


def _sql_rows(result: Any) -> SqlRows:
    result = result if isinstance(result, dict) else {}
    return SqlRows(result.get("rows") or [], bool(result.get("truncated", False)))


def _sql_scalar(result: Any) -> Any:
    row = result.get("row") if isinstance(result, dict) else None
    if not row:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _ephemeral_check(a: dict[str, Any]) -> None:
    C.ephemeral_key(a["key"])


def _cooldown_result(result: Any) -> dict[str, Any]:
    out = {"active": False, "remaining_seconds": 0}
    if isinstance(result, dict):
        out.update({k: result[k] for k in ("active", "remaining_seconds") if k in result})
    return out


def _http_check(a: dict[str, Any]) -> None:
    if not isinstance(a.get("method", "GET"), str):
        raise ValidationError("invalid method: expected an HTTP method name such as 'GET'")
    if not isinstance(a["url"], str) or not a["url"].lower().startswith(("http://", "https://")):
        raise ValidationError(f"invalid url {a['url']!r}: an absolute http:// or https:// URL is required")
    if a.get("body") is not None and not isinstance(a["body"], str):
        raise ValidationError(f"invalid body: expected a str or None, got {type(a['body']).__name__}")
    if a.get("params") is not None and not isinstance(a["params"], dict):
        raise ValidationError("invalid params: expected a dict of query values")


def url_with_params(url: str, params: dict[str, Any] | None) -> str:
    """``url`` with ``params`` URL-encoded and appended (``None`` skipped, lists repeated)."""
    if not params:
        return url
    pairs: list[tuple[str, str]] = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            pairs.extend((str(k), str(i)) for i in v if i is not None)
        else:
            pairs.append((str(k), str(v)))
    if not pairs:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(pairs)


def _http_wire(method: str | None) -> Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]:
    def wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "proxy.request", {
            "method": (method or p["method"]).upper(),
            "url": url_with_params(p["url"], p.get("params")),
            "headers": dict(p.get("headers") or {}),
            "body": p.get("body"),
        }

    return wire


def _metric_check(a: dict[str, Any]) -> None:
    C.metric_name(a["metric"])
    if "value" in a:
        C.number("value", a["value"])
    if a.get("tags") is not None and not isinstance(a["tags"], dict):
        raise ValidationError("invalid tags: expected a dict of tag -> value")
    if "period" in a:
        C.one_of("period", a["period"], C.PERIODS)
    if "aggregate" in a:
        C.one_of("aggregate", a["aggregate"], C.AGGREGATES)
    if a.get("group_by") is not None and not isinstance(a["group_by"], str):
        raise ValidationError("invalid group_by: expected a tag key string")


def _metric_record_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    p["value"] = float(p["value"])
    if "tags" in p:
        p["tags"] = {str(k): str(v) for k, v in list(p["tags"].items())[:10]}
    return "metrics.record", p


def _metric_total(result: Any) -> float:
    return float(result.get("total") or 0.0) if isinstance(result, dict) else 0.0


def _secret_key_check(a: dict[str, Any]) -> None:
    C.secret_key(a["key"])


def _secret_set_check(a: dict[str, Any]) -> None:
    C.secret_key(a["key"])
    C.secret_value(a["value"])


def _modal_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fields = p.pop("fields", None)
    p["components"] = modal_rows(fields)
    return "interaction.send_modal", p


def _modal_check(a: dict[str, Any]) -> None:
    if not isinstance(a["title"], str) or not a["title"]:
        raise ValidationError("invalid title: a modal needs a non-empty title")
    if not isinstance(a["custom_id"], str) or not a["custom_id"]:
        raise ValidationError("invalid custom_id: a modal needs a non-empty custom_id")


# -- the table ---------------------------------------------------------------------------

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

_RESPOND = "interaction:respond"
_ALWAYS = {"embeds": [], "components": []}
INTERACTION: tuple[Method, ...] = (
    Method(
        "interaction",
        "respond",
        "*, content='', embeds=None, components=None, ephemeral=False, allowed_mentions=None",
        _RESPOND,
        doc="The initial reply, once, within 3 s of the interaction.",
        cuts=_MSG_CUTS,
        components=("components",),
        always=_ALWAYS,
    ),
    Method(
        "interaction",
        "defer",
        "*, ephemeral=False",
        _RESPOND,
        doc="Acknowledge now (shows 'thinking...') and follow up within 15 minutes.",
    ),
    Method(
        "interaction",
        "followup",
        "*, content='', embeds=None, components=None, ephemeral=False, allowed_mentions=None",
        _RESPOND,
        WHOLE,
        doc="A further message after respond/defer; returns {message_id, channel_id} ({} if unreadable).",
        cuts=_MSG_CUTS,
        components=("components",),
        always=_ALWAYS,
        decode=lambda r: r if isinstance(r, dict) else {},
    ),
    Method(
        "interaction",
        "send_modal",
        "*, title, custom_id, fields=None",
        _RESPOND,
        doc="Open a modal; its submit arrives as interaction_type 5.",
        cuts={"title": 45, "custom_id": 100},
        always={"fields": []},
        check=_modal_check,
        wire=_modal_wire,
    ),
)

_KV = "storage:kv"
KV: tuple[Method, ...] = (
    Method("kv", "get", "key", _KV, "value", doc="The value, or None if missing or expired.", check=_kv_key_check),
    Method(
        "kv",
        "set",
        "key, value, *, ttl_seconds=0",
        _KV,
        doc="Store a JSON value (None deletes); ttl_seconds=0 means no expiry.",
        check=_kv_set_check,
        wire=_kv_set_wire,
        keep_none=("value",),
    ),
    Method("kv", "delete", "key", _KV, rpc="kv.del", check=_kv_key_check),
    Method(
        "kv",
        "exists",
        "key",
        _KV,
        rpc="kv.get",
        check=_kv_key_check,
        decode=lambda r: isinstance(r, dict) and r.get("value") is not None,
    ),
    Method(
        "kv",
        "increment",
        "key, amount=1, *, path=''",
        _KV,
        "value",
        doc="Atomically add amount (at a dotted path inside an object); returns the new value.",
        check=_kv_incr_check,
    ),
    Method("kv", "decrement", "key, amount=1", _KV, "value", rpc="kv.decr", check=_kv_incr_check),
    Method(
        "kv",
        "list",
        "prefix='', limit=100, *, start_after=None",
        _KV,
        "keys",
        doc="Up to 100 keys in ascending order; page with start_after=<last key>.",
        clamps={"limit": (1, 100)},
        check=_kv_list_check,
    ),
    Method(
        "kv",
        "list_values",
        "prefix='', limit=100, *, start_after=None",
        _KV,
        "values",
        clamps={"limit": (1, 100)},
        check=_kv_list_check,
    ),
    Method(
        "kv",
        "count",
        "prefix=''",
        _KV,
        "count",
        check=lambda a: _kv_list_check({**a, "start_after": None}),
        wire=_kv_count_wire,
    ),
    Method("kv", "get_many", "keys", _KV, "values", check=_kv_get_many_check, wire=_kv_get_many_wire),
    Method("kv", "set_many", "entries", _KV, rpc="kv.mput", check=_kv_set_many_check),
)

_SQL = "storage:sql"
SQL: tuple[Method, ...] = (
    Method("sql", "execute", "sql, params=None", _SQL, "rowcount", check=_sql_check, wire=_sql_wire("sql.execute")),
    Method(
        "sql",
        "query",
        "sql, params=None, *, limit=1000",
        _SQL,
        doc="Rows as dicts (a list with .truncated); limit 1-1000.",
        clamps={"limit": (1, 1000)},
        check=_sql_check,
        wire=_sql_wire("sql.query"),
        decode=_sql_rows,
    ),
    Method("sql", "query_one", "sql, params=None", _SQL, "row", check=_sql_check, wire=_sql_wire("sql.query_one")),
    Method(
        "sql",
        "scalar",
        "sql, params=None",
        _SQL,
        check=_sql_check,
        wire=_sql_wire("sql.query_one"),
        decode=_sql_scalar,
    ),
)

_TTL = (1, 86400)
EPHEMERAL: tuple[Method, ...] = (
    Method(
        "ephemeral",
        "counter",
        "key, window_seconds=60",
        None,
        "count",
        doc="Count this hit in a sliding window; returns the count within the window.",
        clamps={"window_seconds": _TTL},
        check=_ephemeral_check,
    ),
    Method(
        "ephemeral", "cooldown_set", "key, ttl_seconds=60", None, clamps={"ttl_seconds": _TTL}, check=_ephemeral_check
    ),
    Method("ephemeral", "cooldown_check", "key", None, check=_ephemeral_check, decode=_cooldown_result),
    Method(
        "ephemeral",
        "dedup",
        "key, ttl_seconds=3600",
        None,
        "is_new",
        doc="True the first time key is seen within the TTL.",
        clamps={"ttl_seconds": _TTL},
        check=_ephemeral_check,
        decode=lambda r: bool(r.get("is_new")) if isinstance(r, dict) else False,
    ),
    Method(
        "ephemeral", "flag_set", "key, ttl_seconds=3600", None, clamps={"ttl_seconds": _TTL}, check=_ephemeral_check
    ),
    Method(
        "ephemeral",
        "flag_check",
        "key",
        None,
        check=_ephemeral_check,
        decode=lambda r: bool(r.get("active")) if isinstance(r, dict) else False,
    ),
)

_HTTP = "proxy:http"
HTTP: tuple[Method, ...] = (
    Method(
        "http",
        "request",
        "method, url, *, headers=None, body=None, params=None",
        _HTTP,
        WHOLE,
        doc="An HTTP request through the platform proxy to a declared domain.",
        check=_http_check,
        wire=_http_wire(None),
    ),
    Method("http", "get", "url, *, headers=None, params=None", _HTTP, WHOLE, check=_http_check, wire=_http_wire("GET")),
    Method(
        "http",
        "post",
        "url, *, body, headers=None, params=None",
        _HTTP,
        WHOLE,
        check=_http_check,
        wire=_http_wire("POST"),
        mock_signature="url, body='', headers=None, params=None",
    ),
)

METRICS: tuple[Method, ...] = (
    Method(
        "metrics",
        "record",
        "metric, value=1.0, tags=None",
        None,
        doc="Record one data point (tags: up to 10).",
        check=_metric_check,
        wire=_metric_record_wire,
    ),
    Method(
        "metrics",
        "query",
        "metric, *, period='7d', group_by=None, aggregate='sum'",
        None,
        WHOLE,
        check=_metric_check,
    ),
    Method("metrics", "total", "metric, *, period='30d'", None, check=_metric_check, decode=_metric_total),
)

_SECRETS = "storage:secrets"
SECRETS: tuple[Method, ...] = (
    Method("secrets", "get", "key", _SECRETS, "value", check=_secret_key_check),
    Method("secrets", "set", "key, value", _SECRETS, check=_secret_set_check),
    Method("secrets", "delete", "key", _SECRETS, rpc="secrets.del", check=_secret_key_check),
)

APIS: dict[str, tuple[Method, ...]] = {
    "discord": DISCORD,
    "interaction": INTERACTION,
    "kv": KV,
    "sql": SQL,
    "ephemeral": EPHEMERAL,
    "http": HTTP,
    "metrics": METRICS,
    "secrets": SECRETS,
}
METHODS: dict[str, Method] = {m.qualname: m for group in APIS.values() for m in group}


def build_methods(
    methods: tuple[Method, ...], invoke: str, *, mock: bool = False, module: str = __name__
) -> dict[str, Callable[..., Any]]:
    """Plain functions, one per method, with the documented signature, each calling ``self.<invoke>(spec, args)``.

    ``mock=True`` makes every parameter positional-or-keyword (the 0.5.x mock style).
    """
    out: dict[str, Callable[..., Any]] = {}
    for m in methods:
        text = m.mock_signature if (mock and m.mock_signature) else m.signature
        if mock:
            text = ", ".join(p.strip() for p in text.split(",") if p.strip() and p.strip() != "*")
        names = [p.name for p in _signature(text).parameters.values()]
        args = ", ".join(f"{n!r}: {n}" for n in names)
        src = f"def {m.name}(self{', ' if text else ''}{text}):\n    return self.{invoke}(_spec, {{{args}}})\n"
        ns: dict[str, Any] = {"_spec": m}
        exec(src, ns)
        fn = ns[m.name]
        fn.__doc__ = m.doc or f"``{m.rpc_method}`` (capability: {m.capability or 'none'})."
        fn.__module__ = module
        out[m.name] = fn
    return out
