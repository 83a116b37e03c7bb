"""Every ``ctx`` method: its Python signature, the JSON-RPC request it sends, the capability it needs,
how its result is read, and the rules the host applies to each parameter.

One ``Method`` per call. Its ``params`` say, for each argument, whether it is positional or
keyword-only, its default, when and how the SDK puts it on the wire (``send``/``convert``) and
what the host accepts (``rule``). The SDK generates the real ``ctx`` from these tables; the
testing kit takes its capability checks from them; the platform can generate its argument
validation from ``Method.params[i].rule`` or call ``check_params``. What the SDK does *not* do
locally (the official SDK checks nothing before sending either) the host must check.
"""

from __future__ import annotations

import json
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import Any

__all__ = [
    "METHODS",
    "NAMESPACES",
    "REQUIRED",
    "RPC_METHODS",
    "Method",
    "Param",
    "Rule",
    "check_params",
    "method",
    "methods_of",
    "param_problem",
]


class _Required:
    __slots__ = ()

    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a parameter that has none.
REQUIRED: Any = _Required()


class Rule:
    """What the host accepts for one request parameter.

    ``kind`` is one of ``snowflake`` (decimal id string), ``snowflakes`` (list of them), ``bitfield``
    (a Discord permission set as a decimal string), ``string``,
    ``integer``, ``number``, ``boolean``, ``object`` (JSON object), ``objects`` (list of objects),
    ``strings``, ``json`` (any JSON value) or ``choice`` (one of ``choices``). ``min_length``/``max_length``
    bound strings, ``min_items``/``max_items`` lists and objects, ``minimum``/``maximum`` numbers.
    ``pattern``: a regular expression a string must match whole. ``list``: a JSON array of any values
    (SQL parameters). ``cut``: the host cuts a string or list past its maximum and clamps a number into
    ``minimum``-``maximum`` instead of refusing it (what the SDK does itself for most such
    arguments; an older SDK may not have). ``nullable`` lets ``null`` through. A snowflake may also
    arrive as a non-negative integer (older SDKs); the host reads it as its decimal string.
    """

    __slots__ = (
        "choices",
        "cut",
        "kind",
        "max_items",
        "max_length",
        "maximum",
        "min_items",
        "min_length",
        "minimum",
        "nullable",
        "pattern",
        "required",
    )

    def __init__(
        self,
        kind: str,
        *,
        required: bool = True,
        nullable: bool = False,
        min_length: int | None = None,
        max_length: int | None = None,
        min_items: int | None = None,
        max_items: int | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        choices: tuple[Any, ...] | None = None,
        cut: bool = False,
        pattern: str | None = None,
    ) -> None:
        self.kind = kind
        self.required = required
        self.nullable = nullable
        self.min_length = min_length
        self.max_length = max_length
        self.min_items = min_items
        self.max_items = max_items
        self.cut = cut
        self.pattern = pattern
        self.minimum = minimum
        self.maximum = maximum
        self.choices = choices

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) not in (None, False)} | {
            "required": self.required
        }

    def __repr__(self) -> str:
        return f"Rule({self.as_dict()})"


class Param:
    """One argument of a ctx method.

    ``send``: when the SDK puts it on the wire — ``always``, ``not_none``, ``truthy``, ``positive``
    (numbers > 0) or ``never`` (the method's own wire function uses it). ``convert``: how —
    ``raw``, ``str`` (``str(v)``, cut to ``limit``), ``opt_str`` (the same, ``None`` kept),
    ``bool``, ``int``, ``clamp`` (``int`` then into ``limit = (lo, hi)``), ``at_most``
    (``min(int(v), limit)``), ``float``, ``seq`` (``list(v or [])`` cut to ``limit``), ``list``
    (``list(v)``), ``ids`` (each ``str``, cut to ``limit``), ``str_map`` (keys and values
    ``str``), ``components`` (``to_dict()`` of each) or ``modal_rows``. ``key`` is
    the wire name when it differs from the Python one.
    """

    __slots__ = ("convert", "default", "key", "keyword_only", "limit", "name", "rule", "send")

    def __init__(
        self,
        name: str,
        default: Any = REQUIRED,
        *,
        keyword_only: bool = True,
        send: str = "always",
        convert: str = "raw",
        limit: Any = None,
        key: str | None = None,
        rule: Rule | None = None,
    ) -> None:
        self.name = name
        self.default = default
        self.keyword_only = keyword_only
        self.send = send
        self.convert = convert
        self.limit = limit
        self.key = key or name
        self.rule = rule

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def __repr__(self) -> str:
        return f"Param({self.name!r}{'' if self.required else f'={self.default!r}'})"


class Method:
    """One ctx method; ``qualname`` is ``"<namespace>.<name>"`` (``ctx.discord.send_message``).

    ``result`` says how the RPC result becomes the return value: ``none``, ``whole`` (the result
    object, ``{}`` when it is not one), ``raw`` (the result as sent, ``{}`` for ``null``),
    ``key:<k>`` (``result[k]``, else ``default``), or the name of a decoder in ``DECODERS``.
    ``wire`` names a builder in the runtime for the few methods whose request is not a plain
    mapping of their parameters (HTTP, WebSocket, counts). ``bot_permission`` is the Discord
    permission the bot needs (what ``SdkPermissionError.permission`` names).
    """

    __slots__ = (
        "bot_permission",
        "capability",
        "default",
        "doc",
        "name",
        "namespace",
        "params",
        "result",
        "returns",
        "rpc",
        "wire",
        "wire_order",
    )

    def __init__(
        self,
        namespace: str,
        name: str,
        params: tuple[Param, ...],
        *,
        capability: str | None,
        rpc: str | None = None,
        result: str = "none",
        default: Any = None,
        returns: str = "None",
        bot_permission: str = "",
        wire: str = "",
        wire_order: tuple[str, ...] = (),
        doc: str = "",
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.params = params
        self.capability = capability
        self.rpc = rpc or f"{namespace}.{name}"
        self.result = result
        self.default = default
        self.returns = returns
        self.bot_permission = bot_permission
        self.wire = wire
        self.wire_order = wire_order
        self.doc = doc

    @property
    def qualname(self) -> str:
        return f"{self.namespace}.{self.name}"

    def signature(self) -> str:
        """The parameter list as Python source (``"*, channel_id, content=''"``), without ``self``."""
        parts: list[str] = []
        star = False
        for p in self.params:
            if p.keyword_only and not star:
                parts.append("*")
                star = True
            parts.append(p.name if p.required else f"{p.name}={p.default!r}")
        return ", ".join(parts)

    def wire_params(self) -> tuple[Param, ...]:
        """The parameters the request carries as themselves (not folded by a ``wire`` builder), in wire order."""
        params = [p for p in self.params if p.send != "never"]
        if self.wire_order:
            params.sort(key=lambda p: self.wire_order.index(p.name))
        return tuple(params)

    def __repr__(self) -> str:
        return f"<Method ctx.{self.qualname}({self.signature()}) -> {self.rpc}>"


# -- rules used below ------------------------------------------------------------------------------

_ID = Rule("snowflake")
_OPT_ID = Rule("snowflake", required=False)
_REASON = Rule("string", required=False, max_length=512, cut=True)
_CONTENT = Rule("string", required=False, max_length=2000, cut=True)
_EMBEDS = Rule("objects", required=False, max_items=10, cut=True)
_COMPONENTS = Rule("objects", required=False, max_items=5)
_MENTIONS = Rule("object", required=False)
_KEY = Rule("string", min_length=1, max_length=256, pattern=r"[^\x00]*")  # no NUL
_ARCHIVE = (60, 1440, 4320, 10080)
_KV_LIMIT = Rule("integer", required=False, minimum=1, maximum=100, cut=True)
#: What a host accepts as a metric name: ``METRIC_NAME_PATTERN`` plus ``.`` (older SDKs sent dotted names).
_METRIC = Rule("string", min_length=1, max_length=64, pattern="[a-zA-Z_][a-zA-Z0-9_.]{0,63}")
_NAME = Rule("string", min_length=1, max_length=100, cut=True)
_OPT_NAME = Rule("string", required=False, max_length=100, cut=True)
_TOPIC = Rule("string", required=False, max_length=1024, cut=True)
_USER_LIMIT = Rule("integer", required=False, minimum=0, maximum=99, cut=True)
_TIMEOUT = Rule("integer", minimum=0, maximum=2419200, cut=True)


def _id(name: str) -> Param:
    return Param(name, convert="str", rule=_ID)


def _opt_id(name: str) -> Param:
    return Param(name, None, send="not_none", convert="str", rule=_OPT_ID)


def _reason() -> Param:
    return Param("reason", "", convert="str", limit=512, rule=_REASON)


def _ids(name: str, limit: int | None) -> Param:
    return Param(name, convert="ids", limit=limit, rule=Rule("snowflakes", min_items=1, max_items=limit, cut=True))


def _d(name: str, params: tuple[Param, ...], capability: str, permission: str, **kw: Any) -> Method:
    return Method("discord", name, params, capability=capability, bot_permission=permission, **kw)


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
_MSG = (_id("channel_id"), _id("message_id"))

DISCORD: tuple[Method, ...] = (
    _d(
        "send_message",
        (
            _id("channel_id"),
            Param("content", "", send="truthy", convert="str", rule=_CONTENT),
            Param("embeds", None, send="truthy", rule=_EMBEDS),
            Param("components", None, send="truthy", convert="components", rule=_COMPONENTS),
            Param(
                "files",
                None,
                send="truthy",
                convert="seq",
                limit=3,
                rule=Rule("objects", required=False, max_items=3, cut=True),
            ),
            Param("allowed_mentions", None, send="not_none", rule=_MENTIONS),
        ),
        _SEND,
        "send_messages",
        result="whole",
        returns="Dict[str, Any]",
        doc="Send a message (content, embeds, components or files); returns {message_id, channel_id}.",
    ),
    _d(
        "edit_message",
        (
            *_MSG,
            Param("content", None, send="not_none", convert="str", rule=_CONTENT),
            Param("embeds", None, send="not_none", rule=_EMBEDS),
            Param("components", None, send="not_none", convert="components", rule=_COMPONENTS),
            Param("allowed_mentions", None, send="not_none", rule=_MENTIONS),
        ),
        _EDIT,
        "view_channel",
        result="whole",
        returns="Dict[str, Any]",
        doc="Edit a message the bot sent; None leaves a field unchanged, ''/[] clears it.",
    ),
    _d("pin_message", _MSG, _SEND, "manage_messages", doc="Pin a message."),
    _d("unpin_message", _MSG, _SEND, "manage_messages", doc="Unpin a message."),
    _d("delete_message", _MSG, _DELETE, "manage_messages", doc="Delete a message."),
    _d(
        "bulk_delete_messages",
        (
            _id("channel_id"),
            Param(
                "message_ids", convert="ids", limit=100, rule=Rule("snowflakes", min_items=2, max_items=100, cut=True)
            ),
        ),
        _DELETE,
        "manage_messages",
        doc="Delete 2-100 messages younger than 14 days in one call.",
    ),
    _d(
        "add_reaction",
        (*_MSG, Param("emoji", convert="str", rule=Rule("string", min_length=1, max_length=100))),
        "discord:add_reaction",
        "add_reactions",
        doc="React with a unicode emoji or name:id for a custom one.",
    ),
    _d(
        "get_messages",
        (
            _id("channel_id"),
            Param(
                "limit",
                50,
                convert="clamp",
                limit=(1, 50),
                rule=Rule("integer", required=False, minimum=1, maximum=50, cut=True),
            ),
            _opt_id("before"),
            _opt_id("after"),
        ),
        _READ,
        "read_message_history",
        result="key:messages",
        default=[],
        returns="List[Message]",
        doc="Up to 50 messages, newest first; before/after are message-id cursors.",
    ),
    _d(
        "iter_messages",
        (
            Param("channel_id", send="never", rule=_ID),
            Param("batch_size", 50, send="never", rule=Rule("integer", minimum=1, maximum=50)),
            Param("before", None, send="never", rule=_OPT_ID),
            Param("after", None, send="never", rule=_OPT_ID),
        ),
        _READ,
        "read_message_history",
        rpc="discord.get_messages",
        wire="iter_messages",
        returns="Iterator[Message]",
        doc="Every message of a channel, a page of batch_size at a time: newest first, or oldest first with after.",
    ),
    _d("get_guild", (), _READ, "view_channel", result="key:guild", default={}, returns="Guild"),
    _d("get_channel", (_id("channel_id"),), _READ, "view_channel", result="key:channel", default={}, returns="Channel"),
    _d("list_channels", (), _READ, "view_channel", result="key:channels", default=[], returns="List[Channel]"),
    _d("get_member", (_id("user_id"),), _READ, "view_channel", result="key:member", default={}, returns="Member"),
    _d(
        "list_members",
        (
            _opt_id("role_id"),
            Param(
                "limit",
                100,
                convert="clamp",
                limit=(1, 100),
                rule=Rule("integer", required=False, minimum=1, maximum=100, cut=True),
            ),
            _opt_id("after"),
        ),
        _READ,
        "view_channel",
        result="key:members",
        default=[],
        returns="List[Member]",
        wire_order=("limit", "role_id", "after"),
        doc="Members by ascending user id (optionally with a role); after is a user-id cursor.",
    ),
    _d(
        "search_members",
        (
            Param(
                "query", keyword_only=False, convert="str", rule=Rule("string", min_length=1, max_length=100, cut=True)
            ),
            Param(
                "limit",
                25,
                convert="clamp",
                limit=(1, 25),
                rule=Rule("integer", required=False, minimum=1, maximum=25, cut=True),
            ),
        ),
        _READ,
        "view_channel",
        result="key:members",
        default=[],
        returns="List[Member]",
        doc="Members whose username or nickname starts with query.",
    ),
    _d("list_roles", (), _READ, "view_channel", result="key:roles", default=[], returns="List[Role]"),
    _d(
        "create_channel",
        (
            Param("name", convert="str", limit=100, rule=_NAME),
            Param("channel_type", 0, rule=Rule("choice", required=False, choices=(0, 2, 4, 13, 15))),
            Param("category_id", None, send="not_none", convert="str", rule=_OPT_ID),
            Param("topic", None, send="not_none", convert="str", limit=1024, rule=_TOPIC),
            Param("user_limit", None, send="not_none", convert="clamp", limit=(0, 99), rule=_USER_LIMIT),
        ),
        _CHANNELS,
        "manage_channels",
        result="whole",
        returns="Dict[str, Any]",
    ),
    _d(
        "edit_channel",
        (
            _id("channel_id"),
            Param("name", None, send="not_none", convert="str", limit=100, rule=_OPT_NAME),
            Param("topic", None, send="not_none", convert="str", limit=1024, rule=_TOPIC),
            Param("user_limit", None, send="not_none", convert="clamp", limit=(0, 99), rule=_USER_LIMIT),
        ),
        _CHANNELS,
        "manage_channels",
        result="whole",
        returns="Dict[str, Any]",
    ),
    _d("delete_channel", (_id("channel_id"),), _CHANNELS, "manage_channels"),
    _d(
        "set_channel_permissions",
        (
            _id("channel_id"),
            _id("target_id"),
            Param("allow", "0", convert="str", rule=Rule("bitfield", required=False)),
            Param("deny", "0", convert="str", rule=Rule("bitfield", required=False)),
            Param("target_type", 0, rule=Rule("choice", required=False, choices=(0, 1))),
        ),
        _CHANNELS,
        "manage_roles",
        doc="Overwrite a role's (target_type 0) or member's (1) permissions in a channel.",
    ),
    _d("delete_channel_permission", (_id("channel_id"), _id("target_id")), _CHANNELS, "manage_roles"),
    _d(
        "create_thread",
        (
            _id("channel_id"),
            Param("name", convert="str", limit=100, rule=_NAME),
            Param("thread_type", 11, rule=Rule("choice", required=False, choices=(11, 12))),
            Param("auto_archive_duration", 1440, rule=Rule("choice", required=False, choices=_ARCHIVE)),
        ),
        _CHANNELS,
        "create_public_threads",
        result="key:thread",
        default={},
        returns="Dict[str, Any]",
    ),
    _d(
        "edit_thread",
        (
            _id("thread_id"),
            Param("archived", None, send="not_none", rule=Rule("boolean", required=False)),
            Param("locked", None, send="not_none", rule=Rule("boolean", required=False)),
            Param("name", None, send="not_none", convert="str", limit=100, rule=_OPT_NAME),
            Param(
                "auto_archive_duration", None, send="not_none", rule=Rule("choice", required=False, choices=_ARCHIVE)
            ),
        ),
        _CHANNELS,
        "manage_threads",
    ),
    _d(
        "timeout_member",
        (
            _id("user_id"),
            Param("duration_seconds", convert="clamp", limit=(0, 2419200), rule=_TIMEOUT),
            _reason(),
        ),
        _MODERATE,
        "moderate_members",
        doc="Time a member out for up to 28 days; 0 lifts the timeout.",
    ),
    _d(
        "set_nickname",
        (
            _id("user_id"),
            Param(
                "nickname",
                None,
                convert="opt_str",
                limit=32,
                rule=Rule("string", nullable=True, required=False, max_length=32, cut=True),
            ),
        ),
        _MODERATE,
        "manage_nicknames",
        doc="Set a member's nickname; None resets it.",
    ),
    _d(
        "timeout_bulk",
        (
            _ids("user_ids", 25),
            Param("duration_seconds", convert="int", rule=_TIMEOUT),
            _reason(),
        ),
        _MODERATE,
        "moderate_members",
        result="bulk",
        returns="Dict[str, Any]",
    ),
    _d(
        "ban_member",
        (
            _id("user_id"),
            _reason(),
            Param(
                "delete_message_seconds",
                0,
                convert="clamp",
                limit=(0, 604800),
                rule=Rule("integer", required=False, minimum=0, maximum=604800, cut=True),
            ),
        ),
        _BAN,
        "ban_members",
    ),
    _d("unban_member", (_id("user_id"),), _BAN, "ban_members"),
    _d("kick_member", (_id("user_id"), _reason()), _KICK, "kick_members"),
    _d("kick_bulk", (_ids("user_ids", 25), _reason()), _KICK, "kick_members", result="bulk", returns="Dict[str, Any]"),
    _d("add_role", (_id("user_id"), _id("role_id"), _reason()), _ROLES, "manage_roles"),
    _d("remove_role", (_id("user_id"), _id("role_id"), _reason()), _ROLES, "manage_roles"),
    _d(
        "add_role_bulk",
        (_ids("user_ids", 25), _id("role_id"), _reason()),
        _ROLES,
        "manage_roles",
        result="bulk",
        returns="Dict[str, Any]",
    ),
    _d(
        "remove_role_bulk",
        (_ids("user_ids", 25), _id("role_id"), _reason()),
        _ROLES,
        "manage_roles",
        result="bulk",
        returns="Dict[str, Any]",
    ),
    _d(
        "create_webhook",
        (
            _id("channel_id"),
            Param("name", convert="str", limit=80, rule=Rule("string", min_length=1, max_length=80, cut=True)),
        ),
        _HOOKS,
        "manage_webhooks",
        result="key:webhook",
        default={},
        returns="Dict[str, Any]",
        doc="Create a webhook; keep the returned token to execute it.",
    ),
    _d(
        "execute_webhook",
        (
            _id("webhook_id"),
            Param("webhook_token", convert="str", rule=Rule("string", min_length=1, max_length=200)),
            Param("content", "", send="truthy", convert="str", rule=_CONTENT),
            Param("embeds", None, send="truthy", rule=_EMBEDS),
            Param(
                "username",
                None,
                send="truthy",
                convert="str",
                rule=Rule("string", required=False, max_length=80, cut=True),
            ),
            Param(
                "avatar_url", None, send="truthy", convert="str", rule=Rule("string", required=False, max_length=2048)
            ),
        ),
        _HOOKS,
        "manage_webhooks",
        result="whole",
        returns="Dict[str, Any]",
    ),
    _d("delete_webhook", (_id("webhook_id"),), _HOOKS, "manage_webhooks"),
)

_RESPOND = "interaction:respond"


def _i(name: str, params: tuple[Param, ...], **kw: Any) -> Method:
    return Method("interaction", name, params, capability=_RESPOND, **kw)


_REPLY = (
    Param("content", "", convert="str", limit=2000, rule=_CONTENT),
    Param("embeds", None, convert="seq", limit=10, rule=_EMBEDS),
    Param("components", None, convert="components", rule=_COMPONENTS),
    Param("ephemeral", False, convert="bool", rule=Rule("boolean", required=False)),
)

#: ``ctx.interaction``: every request starts with ``_interaction_id`` (``ctx.request_id``, ``""`` outside one).
INTERACTION: tuple[Method, ...] = (
    _i(
        "respond",
        (
            *_REPLY,
            Param("allowed_mentions", None, send="not_none", rule=_MENTIONS),
            Param("update_message", False, send="truthy", convert="bool", rule=Rule("boolean", required=False)),
        ),
        wire_order=("content", "embeds", "components", "ephemeral", "update_message", "allowed_mentions"),
        doc="The initial reply, once, within 3 s; update_message=True edits the message a component is on.",
    ),
    _i("defer", (Param("ephemeral", False, convert="bool", rule=Rule("boolean", required=False)),)),
    _i(
        "followup",
        (*_REPLY, Param("allowed_mentions", None, send="not_none", rule=_MENTIONS)),
        result="whole",
        returns="Dict[str, Any]",
        doc="Another message after respond/defer, until 15 minutes after the interaction.",
    ),
    _i(
        "send_modal",
        (
            Param("title", convert="str", limit=45, rule=Rule("string", min_length=1, max_length=45, cut=True)),
            Param("custom_id", convert="str", limit=100, rule=Rule("string", min_length=1, max_length=100, cut=True)),
            Param(
                "fields",
                None,
                key="components",
                convert="modal_rows",
                limit=5,
                rule=Rule("objects", required=False, max_items=5, cut=True),
            ),
        ),
        doc="Open a modal (answers a slash command or component); its submit arrives as interaction_type 5.",
    ),
)

_KV = "storage:kv"


def _kv(name: str, params: tuple[Param, ...], **kw: Any) -> Method:
    return Method("kv", name, params, capability=_KV, **kw)


def _key() -> Param:
    return Param("key", keyword_only=False, rule=_KEY)


KV: tuple[Method, ...] = (
    _kv("get", (_key(),), result="value", returns="Any", doc="The value, or None when missing or expired."),
    _kv(
        "set",
        (
            _key(),
            Param("value", keyword_only=False, rule=Rule("json", nullable=True)),
            Param(
                "ttl_seconds",
                0,
                send="positive",
                rule=Rule("integer", required=False, minimum=0, maximum=2**31, cut=True),
            ),
        ),
        rpc="kv.put",
        doc="Store a JSON value (64 KB encoded at most); ttl_seconds=0 keeps it until deleted.",
    ),
    _kv("delete", (_key(),), rpc="kv.del"),
    _kv("exists", (_key(),), rpc="kv.get", result="exists", returns="bool"),
    _kv(
        "increment",
        (
            _key(),
            Param("amount", 1, keyword_only=False, send="never", rule=Rule("number", required=False)),
            Param("path", "", send="never", rule=Rule("string", required=False, max_length=256)),
        ),
        wire="increment",
        result="value",
        returns="Any",
        doc="Atomically add amount (at a dotted path inside a JSON object); returns the new value.",
    ),
    _kv(
        "decrement",
        (_key(), Param("amount", 1, keyword_only=False, rule=Rule("number", required=False))),
        rpc="kv.decr",
        result="value",
        returns="int",
    ),
    _kv(
        "list",
        (
            Param("prefix", "", keyword_only=False, rule=Rule("string", required=False, max_length=256)),
            Param("limit", 100, keyword_only=False, convert="at_most", limit=100, rule=_KV_LIMIT),
            Param("start_after", "", send="truthy", rule=Rule("string", required=False, max_length=256)),
        ),
        result="key:keys",
        default=[],
        returns="List[str]",
        doc="Up to 100 keys in ascending order; page with start_after=<last key>.",
    ),
    _kv(
        "list_values",
        (
            Param("prefix", "", keyword_only=False, rule=Rule("string", required=False, max_length=256)),
            Param("limit", 100, keyword_only=False, rule=_KV_LIMIT),
            # an addition: paging like kv.list (sent only when given, so the official request is unchanged)
            Param("start_after", "", send="truthy", rule=Rule("string", required=False, max_length=256)),
        ),
        result="key:values",
        default={},
        returns="Dict[str, Any]",
    ),
    _kv(
        "count",
        (Param("prefix", "", keyword_only=False, send="never", rule=Rule("string", required=False, max_length=256)),),
        rpc="kv.list",
        wire="count",
        result="count",
        returns="int",
    ),
    _kv(
        "get_many",
        (Param("keys", keyword_only=False, convert="list", rule=Rule("strings", max_items=50)),),
        rpc="kv.mget",
        result="key:values",
        default={},
        returns="Dict[str, Any]",
    ),
    _kv("set_many", (Param("entries", keyword_only=False, rule=Rule("object", max_items=25)),), rpc="kv.mput"),
)

_SQL = "storage:sql"
_SQL_PARAMS = (
    Param("sql", keyword_only=False, convert="str", rule=Rule("string", min_length=1, max_length=100_000)),
    Param("params", None, keyword_only=False, convert="seq", rule=Rule("list", required=False)),
)

SQL: tuple[Method, ...] = (
    Method("sql", "execute", _SQL_PARAMS, capability=_SQL, result="rowcount", returns="int"),
    Method(
        "sql",
        "query",
        (
            *_SQL_PARAMS,
            Param(
                "limit",
                1000,
                convert="at_most",
                limit=1000,
                rule=Rule("integer", required=False, minimum=1, maximum=1000, cut=True),
            ),
        ),
        capability=_SQL,
        result="query",
        returns="QueryResult",
        doc="Rows as dicts: a QueryResult (a list) whose .truncated says the limit cut it.",
    ),
    Method("sql", "query_one", _SQL_PARAMS, capability=_SQL, result="key:row", returns="Optional[Dict[str, Any]]"),
    Method("sql", "scalar", _SQL_PARAMS, capability=_SQL, rpc="sql.query_one", result="scalar", returns="Any"),
)

_EKEY = Param("key", keyword_only=False, rule=Rule("string", min_length=1, max_length=256))


def _ttl(default: int, name: str = "ttl_seconds") -> Param:
    return Param(
        name, default, keyword_only=False, rule=Rule("integer", required=False, minimum=1, maximum=86400, cut=True)
    )


#: ``ctx.ephemeral``: no capability needed.
EPHEMERAL: tuple[Method, ...] = (
    Method(
        "ephemeral", "counter", (_EKEY, _ttl(60, "window_seconds")), capability=None, result="counter", returns="int"
    ),
    Method("ephemeral", "cooldown_set", (_EKEY, _ttl(60)), capability=None),
    Method("ephemeral", "cooldown_check", (_EKEY,), capability=None, result="cooldown", returns="Dict[str, Any]"),
    Method("ephemeral", "dedup", (_EKEY, _ttl(3600)), capability=None, result="dedup", returns="bool"),
    Method("ephemeral", "flag_set", (_EKEY, _ttl(3600)), capability=None),
    Method("ephemeral", "flag_check", (_EKEY,), capability=None, result="flag", returns="bool"),
)

_HTTP = "proxy:http"
_HTTP_METHOD = Rule("string", pattern="(?i)GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS")
_URL = Param("url", keyword_only=False, send="never", rule=Rule("string", max_length=8192))
_HEADERS = Param("headers", None, send="never", rule=Rule("object", required=False))
_QUERY = Param("params", None, send="never", rule=Rule("object", required=False))
_AUTH = (
    Param("secret_auth", None, send="never", rule=Rule("string", required=False, max_length=64)),
    Param("auth", None, send="never", rule=Rule("object", required=False)),
)

#: ``ctx.http``: every request is ``proxy.request {method, url, headers, body[, secret_auth][, auth]}``.
HTTP: tuple[Method, ...] = (
    Method(
        "http",
        "request",
        (
            Param("method", keyword_only=False, send="never", rule=_HTTP_METHOD),
            _URL,
            _HEADERS,
            Param("body", None, send="never", rule=Rule("string", required=False, nullable=True)),
            _QUERY,
            *_AUTH,
        ),
        capability=_HTTP,
        rpc="proxy.request",
        wire="http",
        result="raw",
        returns="Dict[str, Any]",
        doc="An HTTP request to a declared host; secret_auth/auth inject Authorization from a stored secret.",
    ),
    Method(
        "http",
        "get",
        (_URL, _HEADERS, _QUERY),
        capability=_HTTP,
        rpc="proxy.request",
        wire="http",
        result="raw",
        returns="Dict[str, Any]",
    ),
    Method(
        "http",
        "post",
        (_URL, Param("body", send="never", rule=Rule("string", nullable=True)), _HEADERS, _QUERY),
        capability=_HTTP,
        rpc="proxy.request",
        wire="http",
        result="raw",
        returns="Dict[str, Any]",
    ),
    Method(
        "http",
        "allow_host",
        (Param("host", keyword_only=False, rule=Rule("string", min_length=1, max_length=253)),),
        capability=_HTTP,
        result="whole",
        returns="Dict[str, Any]",
        doc="Allow a public host for this server (slash-command handler run by a Manage Server member only).",
    ),
    Method(
        "http",
        "revoke_host",
        (Param("host", keyword_only=False, rule=Rule("string", min_length=1, max_length=253)),),
        capability=_HTTP,
        result="whole",
        returns="Dict[str, Any]",
    ),
)

#: ``ctx.metrics``: no capability needed.
METRICS: tuple[Method, ...] = (
    Method(
        "metrics",
        "record",
        (
            Param("metric", keyword_only=False, rule=_METRIC),
            Param("value", 1.0, keyword_only=False, convert="float", rule=Rule("number", required=False)),
            Param(
                "tags",
                None,
                keyword_only=False,
                send="truthy",
                convert="str_map",
                rule=Rule("object", required=False, max_items=10, cut=True),
            ),
        ),
        capability=None,
        doc="Record one data point; metric names are 1-64 of [a-zA-Z_][a-zA-Z0-9_]*.",
    ),
    Method(
        "metrics",
        "query",
        (
            Param("metric", keyword_only=False, rule=_METRIC),
            Param("period", "7d", rule=Rule("choice", required=False, choices=("1h", "24h", "7d", "30d", "90d"))),
            Param("group_by", None, send="truthy", rule=Rule("string", required=False, max_length=64)),
            Param(
                "aggregate", "sum", rule=Rule("choice", required=False, choices=("sum", "count", "avg", "min", "max"))
            ),
        ),
        capability=None,
        wire_order=("metric", "period", "aggregate", "group_by"),
        result="metrics",
        returns="Dict[str, Any]",
    ),
    Method(
        "metrics",
        "total",
        (
            Param("metric", keyword_only=False, rule=_METRIC),
            Param("period", "30d", rule=Rule("choice", required=False, choices=("1h", "24h", "7d", "30d", "90d"))),
        ),
        capability=None,
        result="total",
        returns="float",
    ),
)

_SECRETS = "storage:secrets"
_SKEY = Param("key", keyword_only=False, rule=Rule("string", min_length=1, max_length=64, pattern="[A-Za-z0-9_.-]+"))

SECRETS: tuple[Method, ...] = (
    Method("secrets", "get", (_SKEY,), capability=_SECRETS, result="value", returns="Optional[str]"),
    Method(
        "secrets",
        "set",
        (_SKEY, Param("value", keyword_only=False, rule=Rule("string", min_length=1, max_length=4096))),
        capability=_SECRETS,
    ),
    Method("secrets", "delete", (_SKEY,), capability=_SECRETS, rpc="secrets.del"),
)

_WS = "proxy:websocket"
_WS_NAME = Param("name", keyword_only=False, rule=Rule("string", min_length=1, max_length=100))

#: ``ctx.ws``: WebSockets the platform holds open; frames arrive at ``@plugin.on_ws_message``.
WS: tuple[Method, ...] = (
    Method(
        "ws",
        "ensure",
        (
            _WS_NAME,
            Param("url", keyword_only=False, rule=Rule("string", max_length=8192)),
            *_AUTH,
            Param("subscribe", None, send="never", rule=Rule("json", required=False)),
            Param("binary", False, send="never", rule=Rule("boolean", required=False)),
        ),
        capability=_WS,
        wire="ws_ensure",
        result="whole",
        returns="Dict[str, Any]",
        doc="Open (or keep) the connection called name to a wss:// URL on a declared host; idempotent.",
    ),
    Method(
        "ws",
        "send",
        (_WS_NAME, Param("data", keyword_only=False, send="never", rule=Rule("string"))),
        capability=_WS,
        wire="ws_send",
        result="whole",
        returns="Dict[str, Any]",
        doc="Send a frame: str as text (key text), bytes as binary (key data_b64).",
    ),
    Method("ws", "close", (_WS_NAME,), capability=_WS, result="whole", returns="Dict[str, Any]"),
    Method(
        "ws",
        "allow_host",
        (Param("host", keyword_only=False, rule=Rule("string", min_length=1, max_length=253)),),
        capability=_WS,
        result="whole",
        returns="Dict[str, Any]",
    ),
    Method(
        "ws",
        "revoke_host",
        (Param("host", keyword_only=False, rule=Rule("string", min_length=1, max_length=253)),),
        capability=_WS,
        result="whole",
        returns="Dict[str, Any]",
    ),
)

#: Namespace -> its methods, in the order ``ctx`` exposes them.
NAMESPACES: Mapping[str, tuple[Method, ...]] = {
    "discord": DISCORD,
    "interaction": INTERACTION,
    "kv": KV,
    "sql": SQL,
    "ephemeral": EPHEMERAL,
    "http": HTTP,
    "metrics": METRICS,
    "secrets": SECRETS,
    "ws": WS,
}

#: Every method by qualname (``"discord.send_message"``).
METHODS: Mapping[str, Method] = {m.qualname: m for group in NAMESPACES.values() for m in group}

#: Host-side view: RPC method name -> the ctx methods that send it (several share ``proxy.request``).
RPC_METHODS: Mapping[str, tuple[Method, ...]] = {}
for _m in METHODS.values():
    RPC_METHODS[_m.rpc] = (*RPC_METHODS.get(_m.rpc, ()), _m)  # type: ignore[index]
del _m

#: Parameters of requests built by a ``wire`` function: RPC name -> ``(wire key, Rule)``.
WIRE_ONLY: Mapping[str, tuple[tuple[str, Rule], ...]] = {
    "proxy.request": (
        ("method", Rule("string", required=False, pattern=_HTTP_METHOD.pattern)),
        ("url", Rule("string", min_length=1, max_length=8192)),
        ("headers", Rule("object", required=False)),
        ("body", Rule("string", required=False, nullable=True)),
        ("secret_auth", Rule("string", required=False, max_length=64)),
        ("auth", Rule("object", required=False)),
    ),
    "ws.ensure": (
        ("name", Rule("string", min_length=1, max_length=100)),
        ("url", Rule("string", max_length=8192)),
        ("auth", Rule("object", required=False, nullable=True)),
        ("subscribe", Rule("json", required=False)),
        ("binary", Rule("boolean", required=False)),
    ),
    "ws.send": (
        ("name", Rule("string", min_length=1, max_length=100)),
        ("text", Rule("string", required=False)),
        ("data_b64", Rule("string", required=False)),
    ),
    "kv.list": (
        ("prefix", Rule("string", required=False, max_length=256)),
        ("limit", _KV_LIMIT),
        ("start_after", Rule("string", required=False, max_length=256)),
        ("count_only", Rule("boolean", required=False)),
    ),
    "kv.increment": (
        ("key", _KEY),
        ("path", Rule("string", required=False, max_length=256)),
        ("amount", Rule("number", required=False)),
    ),
}

#: Correlation keys the SDK adds to a request made while it handles a delivery (never a method argument).
CORRELATION_KEYS: tuple[str, ...] = ("_event_id", "_pool_discord_srv_id", "_interaction_id")


def method(qualname: str) -> Method:
    """The method called ``qualname`` (``"kv.get"``); ``KeyError`` naming the known ones otherwise."""
    try:
        return METHODS[qualname]
    except KeyError:
        raise KeyError(f"no ctx method {qualname!r}; known: {', '.join(sorted(METHODS))}") from None


def methods_of(namespace: str) -> tuple[Method, ...]:
    return NAMESPACES[namespace]


def rpc_rules(rpc: str) -> tuple[tuple[str, Rule], ...]:
    """``(wire key, Rule)`` for every parameter a request ``rpc`` may carry (correlation keys excluded)."""
    if rpc in WIRE_ONLY:
        return WIRE_ONLY[rpc]
    variants = RPC_METHODS.get(rpc)
    if not variants:
        raise KeyError(f"no ctx method sends {rpc!r}")
    seen: dict[str, Rule] = {}
    for m in variants:
        for p in m.wire_params():
            if p.rule is not None:
                seen.setdefault(p.key, p.rule)
    return tuple(seen.items())


def _snowflake(value: Any) -> bool:
    if type(value) is int:  # an older SDK's integer id
        return value >= 0 and len(str(value)) <= 20
    return isinstance(value, str) and value.isdigit() and value.isascii() and len(value) <= 20


def _finite(value: Any) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def _problem(rule: Rule, value: Any) -> str | None:
    """Why the host refuses ``value`` for ``rule`` (``None``: accepted, possibly after cutting or clamping)."""
    if value is None:
        return None if rule.nullable or not rule.required else "is required"
    kind = rule.kind
    if kind == "snowflake":
        return None if _snowflake(value) else "must be a snowflake: a decimal id string"
    if kind == "bitfield":
        ok = (type(value) is int and value >= 0) or (isinstance(value, str) and value.isdigit() and value.isascii())
        return None if ok else "must be a permission bitfield: a decimal string"
    if kind in ("snowflakes", "objects", "strings"):
        item_ok = {"snowflakes": _snowflake, "objects": lambda v: isinstance(v, dict)}.get(
            kind, lambda v: isinstance(v, str)
        )
        what = {"snowflakes": "snowflakes (decimal id strings)", "objects": "JSON objects"}.get(kind, "strings")
        if not isinstance(value, list):
            return f"must be a list of {what}"
        kept = value[: rule.max_items] if rule.cut and rule.max_items is not None else value
        if not all(item_ok(v) for v in kept):
            return f"must be a list of {what}"
        if rule.min_items is not None and len(kept) < rule.min_items:
            return f"must hold at least {rule.min_items} items"
        if not rule.cut and rule.max_items is not None and len(value) > rule.max_items:
            return f"must hold at most {rule.max_items} items"
        return None
    if kind == "string":
        if not isinstance(value, str):
            return "must be a string"
        if not rule.cut and rule.max_length is not None and len(value) > rule.max_length:
            return f"must be at most {rule.max_length} characters"
        if rule.min_length is not None and len(value) < rule.min_length:
            return "must not be empty" if rule.min_length == 1 else f"must be at least {rule.min_length} characters"
        if rule.pattern is not None and not re.fullmatch(rule.pattern, value):
            return f"must match {rule.pattern}"
        return None
    if kind == "list":
        return None if isinstance(value, list) else "must be a list of JSON values"
    if kind == "json":
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            return "must be a JSON value (no NaN or infinity)"
        return None
    if kind in ("integer", "number"):
        if type(value) is float and kind == "integer" and value.is_integer():
            value = int(value)
        if type(value) not in ((int,) if kind == "integer" else (int, float)) or not _finite(value):
            return "must be an integer" if kind == "integer" else "must be a finite number"
        if rule.cut:
            return None
        if rule.minimum is not None and value < rule.minimum:
            return f"must be at least {rule.minimum}"
        if rule.maximum is not None and value > rule.maximum:
            return f"must be at most {rule.maximum}"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "object":
        if not isinstance(value, dict):
            return "must be a JSON object"
        if not rule.cut and rule.max_items is not None and len(value) > rule.max_items:
            return f"must hold at most {rule.max_items} items"
        return None
    if kind == "choice":
        if type(value) is float and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or value not in (rule.choices or ()):
            return f"must be one of {', '.join(map(str, rule.choices or ()))}"
    return None


def param_problem(rule: Rule, value: Any) -> str | None:
    """Why a host refuses ``value`` for a parameter with ``rule``; ``None`` when it accepts it."""
    return _problem(rule, value)


def check_params(rpc: str, params: Mapping[str, Any]) -> list[str]:
    """Problems with the params of a request the host received, one ``"<key> <problem>"`` each (empty = fine).

    Unknown keys are reported; the correlation keys (``_event_id``, ``_pool_discord_srv_id``,
    ``_interaction_id``) are not. ``KeyError`` if no ctx method sends ``rpc``.
    """
    rules = rpc_rules(rpc)
    known = {key for key, _ in rules}
    out = []
    for key, rule in rules:
        if key not in params:
            if rule.required and rpc not in WIRE_ONLY:
                out.append(f"{key} is required")
            continue
        problem = _problem(rule, params[key])
        if problem:
            out.append(f"{key} {problem}")
    for key in params:
        if key not in known and key not in CORRELATION_KEYS and key != "discord_srv_id":
            out.append(f"{key} is not a parameter of {rpc}")
    return out


def iter_methods() -> Iterator[Method]:
    return iter(METHODS.values())


#: Decoders named by ``Method.result``: how the runtime turns an RPC result into the return value.
DECODERS: tuple[str, ...] = (
    "none",
    "whole",
    "raw",
    "value",
    "exists",
    "count",
    "rowcount",
    "query",
    "scalar",
    "counter",
    "cooldown",
    "dedup",
    "flag",
    "total",
    "metrics",
    "bulk",
)

if TYPE_CHECKING:
    Decoder = Callable[[Any], Any]
