"""The plugin's way out: ``proxy.request``, ``ws.*``, and the hosts a server admin allows (``http.*``, ``ws.*``).

A plugin reaches a host its manifest lists in ``proxy_domains_requested``
(exact names, no wildcard) or one a server admin approved for that server from
inside a slash command (``allow_host``: the member who ran the command needs
Manage Server, the host must resolve to public addresses). Approvals are kept
per (server, plugin, kind): an HTTP approval opens no socket and the other way
round. ``secret_auth`` / ``auth`` make the host add ``Authorization`` from a
domain-bound secret (``maidcore.proxy.auth``).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from yourbot_sdk.spec.manifest import hostname_problem

from maidcore.errors import CapabilityDenied, InvalidArgument, RpcFailure
from maidcore.proxy.auth import AuthRef, auth_ref, authorization
from maidcore.proxy.websocket import CAPABILITY as WS_CAPABILITY
from maidcore.proxy.websocket import WebSocketBroker, socket_url, subscribe_frames
from maidcore.records import HostApproval
from maidcore.runner.hostapi.args import Args
from maidcore.runner.hostapi.generated import fields_of, read
from maidcore.scope import Scope

if TYPE_CHECKING:
    from maidcore.layers import RecordStore
    from maidcore.runner.deliveries import Delivery
    from maidcore.runner.layers import RunnerLayers
    from maidcore.runner.tenants import Tenant
    from maidcore.settings import ProxySettings, WebSocketSettings

_SUBSCRIBE = next(f for f in fields_of("ws.ensure") if f.key == "subscribe")
HTTP_CAPABILITY = "proxy:http"
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
MANAGE_GUILD = 0x20
ADMINISTRATOR = 0x8
SOCKET_NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class Network:
    """What the network methods need beyond the layers (the runner provides it)."""

    layers: RunnerLayers
    approvals: HostApprovals
    tenant: Callable[[str, str], Tenant | None]  # the live install (a socket's every connect asks again)
    deliver_ws: Callable[[Scope, str, dict[str, Any]], Awaitable[bool]]  # a frame or open/close to the plugin
    proxy: ProxySettings
    websocket: WebSocketSettings


@dataclass(frozen=True, slots=True)
class Call:
    """Where a host call came from: the network services, the worker slot, and its delivery (if known)."""

    network: Network
    slot: Any
    delivery: Delivery | None


Validator = Callable[[Args], dict[str, Any]]
Authorize = Callable[["Tenant", dict[str, Any], Call], Awaitable[None]]
Perform = Callable[[Any, "Tenant", dict[str, Any]], Awaitable[Any]]


class HostApprovals:
    """The hosts server admins approved, per (server, plugin, kind); re-read after ``ttl`` (another node may
    have changed them) and at once after a change made here."""

    def __init__(self, records: Callable[[], RecordStore], *, ttl: float = 5.0) -> None:
        self._records = records
        self.ttl = ttl
        self._cache: dict[tuple[Scope, str], tuple[float, frozenset[str]]] = {}

    async def hosts(self, scope: Scope, kind: str) -> frozenset[str]:
        cached = self._cache.get((scope, kind))
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        rows = await self._records().list_host_approvals(
            server_id=scope.server_id, plugin_id=scope.plugin_id, kind=kind
        )
        hosts = frozenset(r.host for r in rows)
        self._cache[(scope, kind)] = (now + self.ttl, hosts)
        return hosts

    async def allow(self, scope: Scope, kind: str, host: str, approved_by: str) -> None:
        await self._records().add_host_approval(HostApproval(scope.server_id, scope.plugin_id, kind, host, approved_by))
        self._cache.pop((scope, kind), None)

    async def revoke(self, scope: Scope, kind: str, host: str) -> bool:
        removed = await self._records().remove_host_approval(scope.server_id, scope.plugin_id, kind, host)
        self._cache.pop((scope, kind), None)
        return removed

    def forget(self, scope: Scope) -> None:
        for key in [k for k in self._cache if k[0] == scope]:
            del self._cache[key]


async def allowed_hosts(network: Network, tenant: Tenant, kind: str) -> frozenset[str]:
    """The manifest's hosts plus the ones this server's admins approved for this plugin."""
    return tenant.info.proxy_domains | await network.approvals.hosts(tenant.scope, kind)


def _refused_host(capability: str, method: str, host: str) -> CapabilityDenied:
    return CapabilityDenied(
        capability,
        method,
        detail=f"host {host} is not in proxy_domains_requested and no admin of this server allowed it",
    )


# --- proxy.request --------------------------------------------------------------------------------


def v_proxy(a: Args) -> dict[str, Any]:
    method = a.params.get("method")
    method = "GET" if method is None else method
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise InvalidArgument("method", "one of " + ", ".join(sorted(HTTP_METHODS)))
    url = a.text("url", required=True, non_empty=True, max_len=8192)
    assert url is not None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("url", "an absolute http:// or https:// URL")
    headers = a.mapping("headers", default={}) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise InvalidArgument("headers", "an object of string names to string values")
    body = a.params.get("body")
    if body is not None and not isinstance(body, str):
        raise InvalidArgument("body", "a string or null")
    return {
        "method": method.upper(),
        "url": url,
        "headers": headers,
        "body": body,
        "host": parts.hostname.lower().rstrip("."),
        "auth": auth_ref(a.params.get("secret_auth"), a.params.get("auth")),
    }


async def authorize_proxy(tenant: Tenant, p: dict[str, Any], call: Call) -> None:
    """The URL's host must be allowed (before it costs a unit); secret auth is resolved here, bound to that host."""
    allowed = await allowed_hosts(call.network, tenant, "http")
    if p["host"] not in allowed:
        raise _refused_host(HTTP_CAPABILITY, "proxy.request", p["host"])
    p["allowed"] = allowed
    p["authorization"] = await _authorization(call, tenant, p["auth"], p["host"], "proxy.request")


async def _authorization(call: Call, tenant: Tenant, ref: AuthRef | None, host: str, method: str) -> str | None:
    if ref is None:
        return None
    secrets = call.network.layers.storage.secrets
    return await authorization(secrets, tenant.scope, ref, host, capabilities=tenant.capabilities, method=method)


async def p_proxy(layers: RunnerLayers, tenant: Tenant, p: dict[str, Any]) -> Any:
    assert layers.proxy is not None
    return await layers.proxy.request(
        tenant.scope,
        allowed_domains=p["allowed"],
        method=p["method"],
        url=p["url"],
        headers=p["headers"],
        body=p["body"],
        authorization=p["authorization"],
    )


def _broker(layers: RunnerLayers) -> WebSocketBroker:
    broker = layers.websocket
    if broker is None:
        raise RpcFailure("the WebSocket broker is not running on this host")
    return broker


# --- ws.* ---------------------------------------------------------------------------------------


def _socket_name(a: Args) -> str:
    name = a.text("name", required=True, non_empty=True, max_len=SOCKET_NAME_MAX)
    assert name is not None
    return name


def v_ws_ensure(a: Args) -> dict[str, Any]:
    return {
        "name": _socket_name(a),
        "url": a.text("url", required=True, non_empty=True, max_len=8192),
        "auth": auth_ref(a.params.get("secret_auth"), a.params.get("auth")),
        "subscribe": read(a, _SUBSCRIBE),  # any JSON value (the spec's rule: no NaN or infinity)
        "binary": a.boolean("binary", default=False),
    }


async def authorize_ws(tenant: Tenant, p: dict[str, Any], call: Call) -> None:
    """Exact allowed host, ``wss://`` (or ``ws://`` where plain connections are allowed), auth resolvable now."""
    network = call.network
    url = socket_url(p["url"], allow_plain=network.proxy.allow_http)
    host = (url.raw_host or "").rstrip(".").lower()
    if host not in await allowed_hosts(network, tenant, "ws"):
        raise _refused_host(WS_CAPABILITY, "ws.ensure", host)
    settings = network.websocket
    p["network"] = network
    p["url"] = url
    p["subscribe"] = subscribe_frames(
        p["subscribe"], limit=settings.max_subscribe_messages, max_bytes=settings.max_frame_bytes
    )
    await _authorization(call, tenant, p["auth"], host, "ws.ensure")  # refused now rather than at connect


async def p_ws_ensure(layers: RunnerLayers, tenant: Tenant, p: dict[str, Any]) -> Any:
    network: Network = p["network"]
    scope, url, ref = tenant.scope, p["url"], p["auth"]
    host = (url.raw_host or "").rstrip(".").lower()

    async def prepare() -> dict[str, str]:
        """Every connect asks again: still installed, enabled, granted, host allowed; the secret of now."""
        current = network.tenant(scope.server_id, scope.plugin_id)
        if current is None or not current.enabled or WS_CAPABILITY not in current.capabilities:
            raise CapabilityDenied(WS_CAPABILITY, "ws.ensure", detail="the plugin is no longer enabled with it here")
        if host not in await allowed_hosts(network, current, "ws"):
            raise _refused_host(WS_CAPABILITY, "ws.ensure", host)
        header = await _authorization(Call(network, current.slot, None), current, ref, host, "ws.ensure")
        return {"Authorization": header} if header else {}

    async def deliver(event: str, params: dict[str, Any]) -> bool:
        return await network.deliver_ws(scope, event, params)

    return await _broker(layers).ensure(
        scope, p["name"], url, prepare=prepare, deliver=deliver, subscribe=p["subscribe"], binary=p["binary"]
    )


def v_ws_send(a: Args) -> dict[str, Any]:
    text, data = a.params.get("text"), a.params.get("data_b64")
    if (text is None) == (data is None):
        raise InvalidArgument("text", "given alone: a text frame (text) or a binary one (data_b64)")
    if text is not None:
        if not isinstance(text, str):
            raise InvalidArgument("text", "a string")
        return {"name": _socket_name(a), "data": text}
    if not isinstance(data, str):
        raise InvalidArgument("data_b64", "base64 text")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("data_b64", "valid base64 text") from None
    return {"name": _socket_name(a), "data": raw}


async def p_ws_send(layers: RunnerLayers, tenant: Tenant, p: dict[str, Any]) -> Any:
    return await _broker(layers).send(tenant.scope, p["name"], p["data"])


def v_ws_close(a: Args) -> dict[str, Any]:
    return {"name": _socket_name(a)}


async def p_ws_close(layers: RunnerLayers, tenant: Tenant, p: dict[str, Any]) -> Any:
    return await _broker(layers).close_socket(tenant.scope, p["name"])


# --- allow_host / revoke_host (http.* and ws.*) ------------------------------------------------------


def v_host(a: Args) -> dict[str, Any]:
    host = a.params.get("host")
    host = host.strip().rstrip(".").lower() if isinstance(host, str) else host
    problem = hostname_problem(host)
    if problem:
        raise InvalidArgument("host", f"a bare public host name such as api.example.com ({host!r} {problem})")
    return {"host": host}


def _invoker(call: Call, method: str) -> str:
    """The member who ran the slash command this call is made in, if they may manage the server; else refused.

    Refused as a validation error (like an interaction answered out of turn): the plugin's grant is fine, the
    moment is not, and no manifest change would help.
    """
    event = call.delivery.event if call.delivery is not None else None
    rule = "a slash-command handler run by a member with Manage Server (an approval is for the whole server)"
    if not event or event.get("interaction_type") != 2:
        raise InvalidArgument("caller", rule)
    member = event.get("member") if isinstance(event.get("member"), dict) else {}
    raw = member.get("permissions", event.get("permissions", "0"))
    try:
        permissions = int(raw or 0)
    except (TypeError, ValueError):
        permissions = 0
    if not permissions & (MANAGE_GUILD | ADMINISTRATOR):
        raise InvalidArgument("caller", rule)
    return str(event.get("user_id") or "")


def _allow(kind: str) -> tuple[Authorize, Perform]:
    method = f"{kind}.allow_host"

    async def authorize(tenant: Tenant, p: dict[str, Any], call: Call) -> None:
        p["approved_by"] = _invoker(call, method)
        p["network"] = network = call.network
        checker = _broker(network.layers) if kind == "ws" else network.layers.proxy
        assert checker is not None
        await checker.start()
        await checker.resolver.check(p["host"])  # public addresses only (the proxy's rules and allow list)

    async def perform(layers: RunnerLayers, tenant: Tenant, p: dict[str, Any]) -> Any:
        await p["network"].approvals.allow(tenant.scope, kind, p["host"], p["approved_by"])
        return {"host": p["host"], "allowed": True}

    return authorize, perform


def _revoke(kind: str) -> tuple[Authorize, Perform]:
    method = f"{kind}.revoke_host"

    async def authorize(tenant: Tenant, p: dict[str, Any], call: Call) -> None:
        _invoker(call, method)
        p["network"] = call.network

    async def perform(layers: RunnerLayers, tenant: Tenant, p: dict[str, Any]) -> Any:
        host = p["host"]
        revoked = await p["network"].approvals.revoke(tenant.scope, kind, host)
        if kind == "ws" and revoked and host not in tenant.info.proxy_domains:
            await _broker(layers).close_scope(
                tenant.scope, f"host {host} was revoked", keep=lambda s: s.host != host, notify=True
            )
        return {"host": host, "revoked": revoked}

    return authorize, perform


TABLE: dict[str, tuple[Validator, Authorize, Perform]] = {
    "proxy.request": (v_proxy, authorize_proxy, p_proxy),
    "http.allow_host": (v_host, *_allow("http")),
    "http.revoke_host": (v_host, *_revoke("http")),
    "ws.ensure": (v_ws_ensure, authorize_ws, p_ws_ensure),
    "ws.send": (v_ws_send, None, p_ws_send),  # type: ignore[dict-item]
    "ws.close": (v_ws_close, None, p_ws_close),  # type: ignore[dict-item]
    "ws.allow_host": (v_host, *_allow("ws")),
    "ws.revoke_host": (v_host, *_revoke("ws")),
}
