"""The real ``ctx`` handed to handlers: every call becomes a JSON-RPC request to the host (contract §4)."""

from __future__ import annotations

from . import _api
from ._errors import ValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: keep typing out of the plugin process
    from typing import Any

    from ._transport import Transport

__all__ = ["Context"]

_LEVELS = {"debug": "debug", "info": "info", "warning": "warning", "warn": "warning", "error": "error"}
_CLASS_NAMES = {
    "discord": "_Discord",
    "interaction": "_Interaction",
    "kv": "_Kv",
    "sql": "_Sql",
    "ephemeral": "_Ephemeral",
    "http": "_Http",
    "metrics": "_Metrics",
    "secrets": "_Secrets",
}
_DOCS = {
    "discord": "Discord actions on this server (capabilities discord:*).",
    "interaction": "Reply to the current interaction (interaction:respond).",
    "kv": "Per (plugin, server) JSON key-value store (storage:kv).",
    "sql": "Private Postgres schema per (plugin, server) (storage:sql).",
    "ephemeral": "Short-lived counters, cooldowns, dedup and flags.",
    "http": "Outbound HTTP through the platform proxy (proxy:http).",
    "metrics": "Record and query metrics kept for 90 days.",
    "secrets": "Encrypted per-server secrets (storage:secrets).",
}


class _Api:
    """One ``ctx.<api>`` namespace; its methods are generated from the ``_api`` tables."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def _call(self, spec: _api.Method, args: dict[str, Any]) -> Any:
        spec.validate(args)
        method, params = spec.to_wire(args)
        return spec.from_wire(self._ctx._request(method, params, spec.bot_perm))


class _InteractionApi(_Api):
    __slots__ = ()

    def _call(self, spec: _api.Method, args: dict[str, Any]) -> Any:
        interaction_id = self._ctx.request_id
        if not interaction_id:
            raise ValidationError(
                f"interaction.{spec.name} is only valid inside an interaction_create delivery (ctx.request_id is empty)"
            )
        spec.validate(args)
        method, params = spec.to_wire(args)
        params = {"_interaction_id": interaction_id, **params}
        return spec.from_wire(self._ctx._request(method, params, ""))


_classes: dict[str, type[_Api]] = {}


def namespace_class(api: str) -> type[_Api]:
    """The class of ``ctx.<api>``, built from its method table the first time a plugin uses it."""
    cls = _classes.get(api)
    if cls is None:
        base = _InteractionApi if api == "interaction" else _Api
        body: dict[str, Any] = {"__slots__": (), "__doc__": _DOCS[api], "__module__": __name__}
        body.update(_api.build_methods(_api.group(api), "_call", module=__name__))
        cls = _classes[api] = type(_CLASS_NAMES[api], (base,), body)
    return cls


class _Namespace:
    """``ctx.<api>``: created on first access and then cached in the instance (a non-data descriptor)."""

    def __init__(self, api: str) -> None:
        self.api = api

    def __get__(self, ctx: Context | None, owner: type) -> Any:
        if ctx is None:
            return namespace_class(self.api)
        value = ctx.__dict__[self.api] = namespace_class(self.api)(ctx)
        return value


class Context:
    """What a handler can see and do for one delivery. Built fresh per delivery by the SDK; never construct it.

    ``ctx.discord``, ``ctx.interaction``, ``ctx.kv``, ``ctx.sql``, ``ctx.ephemeral``, ``ctx.http``,
    ``ctx.metrics`` and ``ctx.secrets`` hold the APIs; every call is a blocking request to the host.
    """

    discord = _Namespace("discord")
    interaction = _Namespace("interaction")
    kv = _Namespace("kv")
    sql = _Namespace("sql")
    ephemeral = _Namespace("ephemeral")
    http = _Namespace("http")
    metrics = _Namespace("metrics")
    secrets = _Namespace("secrets")

    def __init__(
        self,
        transport: Transport,
        *,
        server_id: str,
        plugin_id: str,
        version: str,
        capabilities: set[str],
        request_id: str = "",
        event_id: Any = None,
    ) -> None:
        self._transport = transport
        self.server_id = server_id
        self.plugin_id = plugin_id
        self.version = version
        self.capabilities = capabilities
        self._request_id = request_id
        self._event_id = event_id

    @classmethod
    def _build(
        cls,
        transport: Transport,
        server_id: str,
        plugin_id: str,
        version: str,
        capabilities: set[str],
        request_id: str,
        event_id: Any,
    ) -> Context:
        """``__init__`` without keyword binding: the runtime builds one per delivery."""
        ctx = cls.__new__(cls)
        ctx._transport = transport
        ctx.server_id = server_id
        ctx.plugin_id = plugin_id
        ctx.version = version
        ctx.capabilities = capabilities
        ctx._request_id = request_id
        ctx._event_id = event_id
        return ctx

    @property
    def request_id(self) -> str:
        """The ``interaction_id`` inside an ``interaction_create`` delivery, else ``""``."""
        return self._request_id

    def has_capability(self, cap: str) -> bool:
        return cap in self.capabilities

    def log(self, message: Any, *, level: str = "info", tags: list[str] | None = None, **extra: Any) -> None:
        """An admin-visible log line (fire-and-forget; never raises for transport reasons)."""
        params: dict[str, Any] = {
            "level": _LEVELS.get(level, "info") if isinstance(level, str) else "info",
            "message": str(message)[:4000],
        }
        if tags:
            params["tags"] = [str(t) for t in list(tags)[:10]]
        if extra:
            params["extra"] = {str(k): str(v)[:500] for k, v in list(extra.items())[:20]}
        params["discord_srv_id"] = self.server_id
        if self._event_id is not None:
            params["event_id"] = self._event_id
        self._transport.notify("plugin.log", params)

    def _request(self, method: str, params: dict[str, Any], bot_perm: str) -> Any:
        params["discord_srv_id"] = self.server_id
        return self._transport.request(method, params, default_permission=bot_perm)

    def __repr__(self) -> str:
        return f"<Context server_id={self.server_id!r} plugin_id={self.plugin_id!r}>"


def __getattr__(name: str) -> Any:
    # _Discord, _Kv, ... are built on first use (PEP 562), for tools and tests that want the classes.
    for api, class_name in _CLASS_NAMES.items():
        if class_name == name:
            return namespace_class(api)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
