"""The real ``ctx``: every method sends one JSON-RPC request through the transport and decodes the answer.

The namespace classes (``_DiscordApi``, ``_KvApi``, ...) are generated from ``spec.methods`` the
first time a plugin touches them: each method is a plain function with the documented signature
that builds the request params exactly as the table says and calls ``transport.call(rpc, params)``.
The SDK checks nothing locally — the host is the authority, as with the official SDK — so a
plugin sees the same errors whichever SDK it runs on. A few requests are not a plain mapping of
their arguments (HTTP, WebSockets, paging); those methods are written out below.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from .spec.methods import Method, Param

__all__ = ["Context", "QueryResult"]


class QueryResult(list):  # type: ignore[type-arg]
    """The rows of ``ctx.sql.query`` (a ``list`` of dicts); ``truncated`` says the limit cut the result."""

    __slots__ = ("truncated",)

    def __init__(self, rows: Any = None, *, truncated: bool = False) -> None:
        super().__init__(rows or [])
        self.truncated = truncated


# -- argument conversion helpers used by the generated methods -----------------------------------


def _component(item: Any) -> Any:
    to_dict = getattr(item, "to_dict", None)
    return to_dict() if callable(to_dict) else item


def _components(items: Any) -> list[Any]:
    return [_component(c) for c in (items or [])]


def _modal_rows(fields: Any, limit: int) -> list[Any]:
    """Modal fields as action rows: a bare ``TextInput`` gets a row of its own; rows and raw dicts pass."""
    rows = []
    for item in list(fields or [])[:limit]:
        row = _component(item)
        if row is not item and isinstance(row, dict) and row.get("type") == 4:
            row = {"type": 1, "components": [row]}
        rows.append(row)
    return rows


# -- result decoders (``Method.result``) ----------------------------------------------------------


def _bulk(r: Any) -> Any:
    return r if isinstance(r, dict) else {"success": 0, "failed": 0, "errors": []}


def _scalar(r: Any) -> Any:
    row = r.get("row") if isinstance(r, dict) else None
    if isinstance(row, dict) and row:
        return next(iter(row.values()))
    return None


def _query(r: Any) -> QueryResult:
    if not isinstance(r, dict):
        return QueryResult([])
    return QueryResult(r.get("rows") or [], truncated=bool(r.get("truncated", False)))


DECODERS: dict[str, Any] = {
    "whole": lambda r: r if isinstance(r, dict) else {},
    "raw": lambda r: {} if r is None else r,
    "value": lambda r: r.get("value") if isinstance(r, dict) else None,
    "exists": lambda r: isinstance(r, dict) and r.get("value") is not None,
    "count": lambda r: r.get("count", 0) if isinstance(r, dict) else 0,
    "rowcount": lambda r: r.get("rowcount", 0) if isinstance(r, dict) else 0,
    "query": _query,
    "scalar": _scalar,
    "counter": lambda r: int(r.get("count", 0)) if isinstance(r, dict) else 0,
    "cooldown": lambda r: r if isinstance(r, dict) else {"active": False, "remaining_seconds": 0},
    "dedup": lambda r: bool(r.get("is_new")) if isinstance(r, dict) else True,
    "flag": lambda r: bool(r.get("active")) if isinstance(r, dict) else False,
    "total": lambda r: float(r.get("total", 0) or 0) if isinstance(r, dict) else 0.0,
    "metrics": lambda r: r if isinstance(r, dict) else {"labels": [], "series": [], "total": 0},
    "bulk": _bulk,
}


def _key_decoder(key: str, default: Any) -> Any:
    if isinstance(default, dict):
        return lambda r: (r.get(key) or {}) if isinstance(r, dict) else {}
    if isinstance(default, list):
        return lambda r: (r.get(key) or []) if isinstance(r, dict) else []
    return lambda r: r.get(key) if isinstance(r, dict) else default


# -- generation --------------------------------------------------------------------------------


def _expr(p: Param) -> str:
    """The Python expression that turns argument ``p.name`` into its wire value."""
    v, c, n = p.name, p.convert, p.limit
    if c == "raw":
        return v
    if c == "str":
        return f"str({v})[:{n}]" if n else f"str({v})"
    if c == "opt_str":
        return f"(None if {v} is None else str({v})[:{n}])"
    if c in ("bool", "int", "float"):
        return f"{c}({v})"
    if c == "clamp":
        lo, hi = n
        return f"max({lo}, min(int({v}), {hi}))"
    if c == "at_most":
        return f"min(int({v}), {n})"
    if c == "seq":
        return f"list({v} or [])[:{n}]" if n else f"list({v} or [])"
    if c == "list":
        return f"list({v})"
    if c == "ids":
        return f"[str(i) for i in list({v})[:{n}]]" if n else f"[str(i) for i in {v}]"
    if c == "str_map":
        return f"{{str(k): str(x) for k, x in {v}.items()}}"
    if c == "components":
        return f"_components({v})"
    if c == "modal_rows":
        return f"_modal_rows({v}, {n})"
    raise ValueError(f"unknown conversion {c!r} for parameter {v}")


_CONDITIONS = {
    "always": "",
    "not_none": "if {v} is not None: ",
    "truthy": "if {v}: ",
    "positive": "if {v} and {v} > 0: ",
}


def _source(m: Method, index: int) -> str:
    """Source of one generated method: build ``p`` in wire order, call, decode."""
    # Named _m<i> while compiled: a method called ``list`` must not shadow the builtin the others use.
    lines = [f"def _m{index}(self{', ' if m.params else ''}{m.signature()}):"]
    head = '{"_interaction_id": self._ctx._request_id}' if m.namespace == "interaction" else "{}"
    lines.append(f"    p = {head}")
    for param in m.wire_params():
        cond = _CONDITIONS[param.send].format(v=param.name)
        lines.append(f"    {cond}p[{param.key!r}] = {_expr(param)}")
    call = f"self._t.call({m.rpc!r}, p)"
    if m.result == "none":
        lines.append(f"    {call}")
        lines.append("    return None")
    else:
        lines.append(f"    return _decode{index}({call})")
    return "\n".join(lines) + "\n"


def _decoder(m: Method) -> Any:
    if m.result.startswith("key:"):
        return _key_decoder(m.result[4:], m.default)
    return DECODERS.get(m.result)


def _build(namespace: str, base: type) -> type:
    from .spec.methods import NAMESPACES

    methods = [m for m in NAMESPACES[namespace] if not m.wire]
    env: dict[str, Any] = {"_components": _components, "_modal_rows": _modal_rows}
    sources = []
    for i, m in enumerate(methods):
        env[f"_decode{i}"] = _decoder(m)
        sources.append(_source(m, i))
    exec(compile("".join(sources), f"<yourbot_sdk ctx.{namespace}>", "exec"), env)
    body: dict[str, Any] = {"__slots__": (), "__module__": __name__, "__doc__": base.__doc__}
    for i, m in enumerate(methods):
        fn = env[f"_m{i}"]
        fn.__name__ = m.name
        fn.__doc__ = m.doc or f"``{m.rpc}`` (capability: {m.capability or 'none'})."
        fn.__module__ = __name__
        fn.__qualname__ = f"{base.__name__.removesuffix('Base')}.{m.name}"
        body[m.name] = fn
    return type(base.__name__.removesuffix("Base"), (base,), body)


class _Api:
    """One ``ctx.<namespace>``; its methods are generated from ``spec.methods``."""

    __slots__ = ("_ctx", "_t")

    def __init__(self, transport: Any, ctx: Any = None) -> None:
        self._t = transport
        self._ctx = ctx


class _DiscordApiBase(_Api):
    """Discord actions and reads on this server (capabilities ``discord:*``)."""

    __slots__ = ()

    def iter_messages(
        self, *, channel_id: str, batch_size: int = 50, before: str | None = None, after: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every message of a channel, ``batch_size`` (1-50) a request: newest first, or oldest first with ``after``."""
        size = max(1, min(int(batch_size), 50))
        forward = after is not None
        cursor = after if forward else before
        while True:
            p: dict[str, Any] = {"channel_id": str(channel_id), "limit": size}
            if cursor is not None:
                p["after" if forward else "before"] = str(cursor)
            result = self._t.call("discord.get_messages", p)
            page = result.get("messages") or [] if isinstance(result, dict) else []
            yield from page
            if len(page) < size:
                return
            last = page[-1].get("id") if isinstance(page[-1], dict) else None
            if last is None:
                return
            cursor = max(page, key=lambda m: int(m.get("id") or 0)).get("id") if forward else last


class _InteractionApiBase(_Api):
    """Replies to the interaction this delivery is about (``interaction:respond``)."""

    __slots__ = ()

    def _iid(self) -> str:
        return self._ctx._request_id if self._ctx is not None else ""


class _KvApiBase(_Api):
    """Per (plugin, server) JSON key-value store (``storage:kv``)."""

    __slots__ = ()

    def increment(self, key: str, amount: int = 1, *, path: str = "") -> Any:
        """Atomically add ``amount`` (at a dotted ``path`` inside a JSON object); returns the new value."""
        result = self._t.call("kv.increment", {"key": key, "path": str(path), "amount": amount})
        return result.get("value") if isinstance(result, dict) else None

    def count(self, prefix: str = "") -> int:
        """How many keys start with ``prefix`` (no cap)."""
        result = self._t.call("kv.list", {"prefix": prefix, "limit": 0, "count_only": True})
        return result.get("count", 0) if isinstance(result, dict) else 0


class _SqlApiBase(_Api):
    """A private SQL schema per (plugin, server) (``storage:sql``)."""

    __slots__ = ()


class _EphemeralApiBase(_Api):
    """Short-lived counters, cooldowns, dedup and flags (no capability needed)."""

    __slots__ = ()


def _with_params(url: str, params: Any) -> str:
    if not params:
        return url
    from urllib.parse import urlencode

    return url + ("&" if "?" in url else "?") + urlencode(params, doseq=True)


class _HttpApiBase(_Api):
    """Outbound HTTP through the platform proxy to declared hosts (``proxy:http``)."""

    __slots__ = ()

    def _send(self, method: str, url: str, headers: Any, body: Any, params: Any, secret_auth: Any, auth: Any) -> Any:
        p: dict[str, Any] = {
            "method": str(method).upper(),
            "url": _with_params(url, params),
            "headers": dict(headers or {}),
            "body": body,
        }
        if secret_auth:
            p["secret_auth"] = secret_auth
        if auth:
            p["auth"] = auth
        result = self._t.call("proxy.request", p)
        return {} if result is None else result

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: str | None = None,
        params: dict[str, Any] | None = None,
        secret_auth: str | None = None,
        auth: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An HTTP request to a declared host; ``secret_auth``/``auth`` add Authorization from a stored secret."""
        return self._send(method, url, headers, body, params, secret_auth, auth)

    def get(self, url: str, *, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None) -> Any:
        """``request("GET", url, ...)``."""
        return self._send("GET", url, headers, None, params, None, None)

    def post(
        self, url: str, *, body: str, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        """``request("POST", url, body=body, ...)``."""
        return self._send("POST", url, headers, body, params, None, None)


class _MetricsApiBase(_Api):
    """Record and query metrics (no capability needed)."""

    __slots__ = ()


class _SecretsApiBase(_Api):
    """Encrypted per-server secrets (``storage:secrets``)."""

    __slots__ = ()


class _WsApiBase(_Api):
    """WebSocket connections the platform holds for the plugin (``proxy:websocket``)."""

    __slots__ = ()

    def ensure(
        self,
        name: str,
        url: str,
        *,
        secret_auth: str | None = None,
        auth: dict[str, Any] | None = None,
        subscribe: list[Any] | None = None,
        binary: bool = False,
    ) -> dict[str, Any]:
        """Open (or keep) the connection ``name`` to ``url``; frames arrive at ``@plugin.on_ws_message(name)``."""
        if secret_auth:
            auth = {"scheme": "bearer", "secret": secret_auth}
        p = {"name": name, "url": url, "auth": auth or None, "subscribe": list(subscribe or []), "binary": bool(binary)}
        result = self._t.call("ws.ensure", p)
        return result if isinstance(result, dict) else {}

    def send(self, name: str, data: Any) -> dict[str, Any]:
        """Send a frame: ``str`` as text, ``bytes`` as binary."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            import base64

            p = {"name": name, "data_b64": base64.b64encode(bytes(data)).decode("ascii")}
        else:
            p = {"name": name, "text": data if isinstance(data, str) else str(data)}
        result = self._t.call("ws.send", p)
        return result if isinstance(result, dict) else {}


_BASES: dict[str, type] = {
    "discord": _DiscordApiBase,
    "interaction": _InteractionApiBase,
    "kv": _KvApiBase,
    "sql": _SqlApiBase,
    "ephemeral": _EphemeralApiBase,
    "http": _HttpApiBase,
    "metrics": _MetricsApiBase,
    "secrets": _SecretsApiBase,
    "ws": _WsApiBase,
}
_classes: dict[str, type] = {}


def namespace_class(namespace: str) -> type:
    """The class of ``ctx.<namespace>``, generated on first use."""
    cls = _classes.get(namespace)
    if cls is None:
        cls = _classes[namespace] = _build(namespace, _BASES[namespace])
    return cls


class _Namespace:
    """``ctx.<namespace>``: created on first access, then cached in the instance (a non-data descriptor)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, ctx: Context | None, owner: type) -> Any:
        if ctx is None:
            return self
        value = ctx.__dict__[self.name] = namespace_class(self.name)(ctx._transport, ctx)
        return value


class Context:
    """What a handler can see and do for one delivery; built by the SDK (``transport`` is its runtime).

    ``ctx.discord``, ``interaction``, ``kv``, ``sql``, ``ephemeral``, ``http``, ``metrics``,
    ``secrets`` and ``ws`` hold the APIs; each call is a blocking request to the host.
    """

    discord = _Namespace("discord")
    interaction = _Namespace("interaction")
    kv = _Namespace("kv")
    sql = _Namespace("sql")
    ephemeral = _Namespace("ephemeral")
    http = _Namespace("http")
    metrics = _Namespace("metrics")
    secrets = _Namespace("secrets")
    ws = _Namespace("ws")

    def __init__(self, *, server_id: str, plugin_id: str, version: str, capabilities: Any, transport: Any) -> None:
        self.server_id = server_id
        self.plugin_id = plugin_id
        self.version = version
        self.capabilities = set(capabilities or ())
        self._transport = transport
        self._request_id = ""

    @classmethod
    def _build(
        cls, transport: Any, server_id: str, plugin_id: str, version: str, capabilities: set[str], request_id: str
    ) -> Context:
        """``__init__`` without keyword binding: the runtime builds one per delivery."""
        ctx = cls.__new__(cls)
        ctx.server_id = server_id
        ctx.plugin_id = plugin_id
        ctx.version = version
        ctx.capabilities = capabilities
        ctx._transport = transport
        ctx._request_id = request_id
        return ctx

    @property
    def request_id(self) -> str:
        """The ``interaction_id`` inside an ``interaction_create`` delivery, else ``""``."""
        return self._request_id

    def has_capability(self, cap: str) -> bool:
        return cap in self.capabilities

    def log(self, message: str, *, level: str = "info", tags: list[str] | None = None, **extra: Any) -> None:
        """An admin-visible log line (fire and forget): message cut to 4000, 10 tags, 20 extra values of 500."""
        params: dict[str, Any] = {"level": str(level), "message": str(message)[:4000]}
        if tags:
            params["tags"] = [str(t) for t in list(tags)[:10]]
        if extra:
            params["extra"] = {str(k): str(v)[:500] for k, v in list(extra.items())[:20]}
        self._transport.notify("plugin.log", params)

    def __repr__(self) -> str:
        return f"<Context server_id={self.server_id!r} plugin_id={self.plugin_id!r}>"


def __getattr__(name: str) -> Any:
    # The generated classes by their official names, for tools that want them (PEP 562).
    for namespace, base in _BASES.items():
        if base.__name__.removesuffix("Base") == name:
            return namespace_class(namespace)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
