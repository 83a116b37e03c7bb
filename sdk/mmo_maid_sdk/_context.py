"""The real ``ctx`` handed to handlers: every call becomes a JSON-RPC request to the host (contract §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _api
from ._errors import ValidationError

if TYPE_CHECKING:
    from ._transport import Transport

__all__ = ["Context"]

_LEVELS = {"debug": "debug", "info": "info", "warning": "warning", "warn": "warning", "error": "error"}


class _Api:
    """One ``ctx.<api>`` namespace; its methods are generated from ``_api``."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def _call(self, spec: _api.Method, args: dict[str, Any]) -> Any:
        spec.validate(args)
        method, params = spec.to_wire(args)
        return spec.from_wire(self._ctx._request(method, params, spec.bot_perm))


def _namespace(name: str, methods: tuple[_api.Method, ...], doc: str) -> type[_Api]:
    body: dict[str, Any] = {"__slots__": (), "__doc__": doc, "__module__": __name__}
    body.update(_api.build_methods(methods, "_call", module=__name__))
    return type(name, (_Api,), body)


_Discord = _namespace("_Discord", _api.DISCORD, "Discord actions on this server (capabilities discord:*).")
_Kv = _namespace("_Kv", _api.KV, "Per (plugin, server) JSON key-value store (storage:kv).")
_Sql = _namespace("_Sql", _api.SQL, "Private Postgres schema per (plugin, server) (storage:sql).")
_Ephemeral = _namespace("_Ephemeral", _api.EPHEMERAL, "Short-lived counters, cooldowns, dedup and flags.")
_Http = _namespace("_Http", _api.HTTP, "Outbound HTTP through the platform proxy (proxy:http).")
_Metrics = _namespace("_Metrics", _api.METRICS, "Record and query metrics kept for 90 days.")
_Secrets = _namespace("_Secrets", _api.SECRETS, "Encrypted per-server secrets (storage:secrets).")


class _InteractionBase(_Api):
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


_Interaction = type(
    "_Interaction",
    (_InteractionBase,),
    {
        "__slots__": (),
        "__doc__": "Reply to the current interaction (interaction:respond).",
        "__module__": __name__,
        **_api.build_methods(_api.INTERACTION, "_call", module=__name__),
    },
)


class Context:
    """What a handler can see and do for one delivery. Built fresh per delivery by the SDK; never construct it."""

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
        self.discord = _Discord(self)
        self.interaction = _Interaction(self)
        self.kv = _Kv(self)
        self.sql = _Sql(self)
        self.ephemeral = _Ephemeral(self)
        self.http = _Http(self)
        self.metrics = _Metrics(self)
        self.secrets = _Secrets(self)

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
