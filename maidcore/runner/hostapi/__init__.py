"""The host API: every plugin→host request of contract §10.4, answered in one fixed order.

1. the method exists (else ``UnknownMethod``);
2. attribution: the server the call acts for has a delivery in flight on this
   worker (a plugin cannot act for a server by naming it);
3. the capability, against that server's live grant (``CapabilityDenied``,
   nothing performed);
4. argument validation (``InvalidArgument``, ``KvQuotaExceeded``; a proxy URL's
   host must be one the manifest requested, ``CapabilityDenied``; an
   ``interaction.*`` call must answer an interaction delivered to this plugin);
5. the rate limit (``RateLimited`` with the limiter's ``retry_after``);
   calls being served are bounded per worker and per (server, plugin)
   (``QuotaExceeded``, checked at attribution, before any work);
6. the layer call, bounded by ``call_timeout_seconds`` (``HostTimeout``).

Layer exceptions that are not ``HostError`` become ``RpcFailure`` (logged with
the traceback); nothing a plugin sends can crash the host.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from maidcore import metrics
from maidcore.capabilities import DISCORD_READ_METHODS, capability_for
from maidcore.errors import (
    CapabilityDenied,
    HostError,
    HostTimeout,
    InvalidArgument,
    QuotaExceeded,
    RateLimited,
    RpcFailure,
    UnknownMethod,
)
from maidcore.layers.ratelimit import Bucket
from maidcore.runner.hostapi import discord, network, stores
from maidcore.runner.hostapi.args import Args
from maidcore.runner.hostapi.network import Call, Network
from maidcore.runner.rpc import Connection, error_response, result_response

if TYPE_CHECKING:
    from maidcore.interactions import InteractionOwners
    from maidcore.runner.deliveries import Delivery
    from maidcore.runner.layers import RunnerLayers
    from maidcore.runner.tenants import Tenant, Tenants
    from maidcore.runner.worker import WorkerSlot
    from maidcore.scope import Scope

log = logging.getLogger("maidcore.runner.hostapi")


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    capability: str | None
    validate: Callable[[Args], dict[str, Any]]
    perform: Callable[[RunnerLayers, Tenant, dict[str, Any]], Awaitable[Any]] | None  # None: the event source does
    bucket: Bucket | None
    #: Checks that need the clean params and the call (host allowed, secret auth, invoker rights); may add to them.
    authorize: Callable[[Tenant, dict[str, Any], Call], Awaitable[None]] | None = None


def _spec_table() -> dict[str, MethodSpec]:
    table: dict[str, MethodSpec] = {}
    for name, validate in discord.VALIDATORS.items():
        bucket = Bucket.DISCORD if name.startswith("discord.") and name not in DISCORD_READ_METHODS else None
        table[name] = MethodSpec(name, capability_for(name), validate, None, bucket)
    for name, (validate, perform) in stores.TABLE.items():
        table[name] = MethodSpec(name, capability_for(name), validate, perform, None)
    for name, (validate, authorize, perform) in network.TABLE.items():
        bucket = Bucket.PROXY if name == "proxy.request" else None
        table[name] = MethodSpec(name, capability_for(name), validate, perform, bucket, authorize)
    return table


METHODS: dict[str, MethodSpec] = _spec_table()

CallObserver = Callable[[str, dict[str, Any], str, Any, dict[str, Any] | None], None]


class CallLedger(Protocol):
    """Where the host API reports calls per install (the runner's log book)."""

    def count_metric(self, scope: Scope, name: str) -> None: ...

    def count_denied(self, scope: Scope, capability: str, method: str) -> None: ...


class HostApi:
    """Serves the requests of every worker of one runner."""

    def __init__(
        self,
        tenants: Tenants,
        layers: RunnerLayers,
        interactions: InteractionOwners,
        *,
        timeout: float,
        network: Network,
        ledger: CallLedger | None = None,
        max_in_flight: int = 0,
        max_in_flight_per_plugin: int = 0,
    ) -> None:
        self.tenants = tenants
        #: What ``proxy.request``, ``ws.*`` and ``*.allow_host`` need beyond the layers (the runner gives it).
        self.network = network
        self.ledger = ledger  # counts calls per install and the refused ones the admin is asked about
        self.layers = layers
        self.interactions = interactions
        self.timeout = timeout
        self.observers: list[CallObserver] = []  # (method, params, server_id, result, error)
        self.calls = 0
        self.errors = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.max_in_flight = max_in_flight  # per worker slot; 0 = unbounded
        self.max_in_flight_per_plugin = max_in_flight_per_plugin  # per (server, plugin); 0 = unbounded
        self.in_flight: Counter[object] = Counter()  # slot or scope -> calls being served

    # -- attribution -------------------------------------------------------------

    def attribute(self, slot: WorkerSlot, method: str, params: dict[str, Any]) -> tuple[Tenant, Delivery | None]:
        """The install a call acts for (``maidcore.runner.attribution``) and the delivery it was made in, if known.

        A lifecycle hook acts for the install its signal was about, even once disabled or uninstalled.
        """
        found = slot.attribution.resolve(method, params)
        tenant = self.tenants.get(found.server_id, slot.plugin_id)
        if tenant is None or not tenant.enabled or tenant.slot is not slot:
            signalled = found.install
            if signalled is None or signalled.slot is not slot:
                raise CapabilityDenied(
                    "server access",
                    method,
                    detail=f"plugin {slot.plugin_id} is not installed and enabled on {found.server_id}",
                )
            tenant = signalled
        return tenant, found.delivery

    # -- dispatch ----------------------------------------------------------------

    def handle(self, slot: WorkerSlot, conn: Connection, message: dict[str, Any]) -> None:
        """Answer one request; attribution happens now (while its delivery is in flight), the rest in a task."""
        request_id = message.get("id")
        method = message["method"]
        params = message.get("params")
        if params is None:
            params = {}
        self.calls += 1
        try:
            if type(params) is not dict:
                raise InvalidArgument("params", "an object")
            spec = METHODS.get(method)
            if spec is None:
                raise UnknownMethod(method)
            tenant, delivery = self.attribute(slot, method, params)
            self._admit(slot, tenant)
        except HostError as exc:
            server = params.get("discord_srv_id", "") if type(params) is dict else ""
            self._answer(conn, request_id, method, params, str(server or ""), None, exc)
            return
        scope = tenant.scope
        self.in_flight[slot] += 1
        self.in_flight[scope] += 1
        call = Call(self.network, slot, delivery)
        task = asyncio.get_running_loop().create_task(self._serve(conn, request_id, spec, params, tenant, call))
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(lambda t: self._served(t, slot, scope))

    def _admit(self, slot: WorkerSlot, tenant: Tenant) -> None:
        """Refuse a call beyond the calls in flight a worker, or one (server, plugin), may have."""
        if self.max_in_flight and self.in_flight[slot] >= self.max_in_flight:
            raise QuotaExceeded(
                "requests in flight", self.max_in_flight, "per worker; wait for answers", retry_after=1.0
            )
        limit = self.max_in_flight_per_plugin
        if limit and self.in_flight[tenant.scope] >= limit:
            raise QuotaExceeded("requests in flight", limit, "per server and plugin; wait for answers", retry_after=1.0)

    def _served(self, task: asyncio.Task[None], slot: WorkerSlot, scope: object) -> None:
        self._tasks.discard(task)
        for key in (slot, scope):
            left = self.in_flight[key] - 1
            if left > 0:
                self.in_flight[key] = left
            else:
                del self.in_flight[key]

    async def _serve(
        self, conn: Connection, request_id: Any, spec: MethodSpec, params: dict, tenant: Tenant, call: Call
    ) -> None:
        result: Any = None
        error: HostError | None = None
        started = time.monotonic()
        try:
            result = await self.perform(spec, params, tenant, call)
        except HostError as exc:
            error = exc
        except Exception:
            log.exception("host method %s failed for %s", spec.name, tenant.scope)
            error = RpcFailure(f"internal error while serving {spec.name}", rpc_code=-32603)
        metrics.child(metrics.HOST_CALL_LATENCY, spec.name).observe(time.monotonic() - started)
        if self.ledger is not None:
            self.ledger.count_metric(tenant.scope, "host_calls" if error is None else "host_call_errors")
        self._answer(conn, request_id, spec.name, params, tenant.scope.server_id, result, error)

    async def perform(self, spec: MethodSpec, params: dict[str, Any], tenant: Tenant, call: Call | None = None) -> Any:
        """Capability, validation, rate limit, layer call (attribution already done)."""
        if spec.capability is not None and spec.capability not in tenant.capabilities:
            if self.ledger is not None:  # the admin's permission prompt
                self.ledger.count_denied(tenant.scope, spec.capability, spec.name)
            raise CapabilityDenied(spec.capability, spec.name)
        clean = spec.validate(Args(params))
        if spec.authorize is not None:
            await spec.authorize(tenant, clean, call or Call(self.network, tenant.slot, None))
        answering = None
        if spec.name.startswith("interaction."):
            answering = self.interactions.answering(tenant.scope, clean["_interaction_id"])
        if spec.bucket is not None:
            cost = discord.action_cost(spec.name, clean) if spec.bucket is Bucket.DISCORD else 1
            limiter = self.layers.limiter
            decision = limiter.hit_nowait(spec.bucket, tenant.scope, cost)
            if decision is None:
                decision = await limiter.hit(spec.bucket, tenant.scope, cost)
            if not decision.allowed:
                metrics.RATE_LIMIT_DENIALS.labels(spec.bucket.value).inc()
                raise RateLimited(spec.bucket.value, decision.retry_after)
        if spec.perform is None:
            work = self.layers.events.call(tenant.scope, spec.name, clean)
        else:
            work = spec.perform(self.layers, tenant, clean)
        try:
            async with asyncio.timeout(self.timeout):  # in this task: wait_for would start a task per call
                result = await work
        except TimeoutError:
            raise HostTimeout(spec.name, self.timeout) from None
        if answering is not None and spec.name == "interaction.send_modal":
            self.interactions.modal_opened(answering, clean["custom_id"])
        return {} if result is None else result

    def _answer(
        self,
        conn: Connection,
        request_id: Any,
        method: str,
        params: Any,
        server_id: str,
        result: Any,
        error: HostError | None,
    ) -> None:
        if request_id is not None:
            if error is None:
                conn.send(result_response(request_id, result))
            else:
                conn.send(error_response(request_id, error.to_rpc()))
        if error is not None:
            self.errors += 1
        # an unknown method is counted under one label: a plugin must not grow the metric without bound
        label = method if method in METHODS else "unknown"
        metrics.child(metrics.HOST_CALLS, label, "ok" if error is None else error.code).inc()
        for observer in self.observers:
            try:
                observer(method, params, server_id, result, None if error is None else error.to_rpc())
            except Exception:
                log.exception("host call observer failed")
