"""Which server a worker's call acts for (contract §10.4), exactly, on every SDK line.

A pool worker serves many servers, so each call must be tied to one, and a
plugin must never act for a server by merely naming it. Three kinds of proof,
strongest first:

- a **correlation id**: the official SDK 0.8.3+ sends the id of the delivery
  being handled (``_event_id``, with ``_pool_discord_srv_id``); lifecycle
  signals get an id of their own. A live id names its server exactly, so such
  a worker gets every delivery at once (full concurrency).
- a **named server** (our SDK's ``discord_srv_id``), accepted only while that
  server has something in flight or held on this worker.
- **nothing** (SDKs before 0.8.3, and every SDK inside ``on_ws_message`` and
  dashboard handlers): the call belongs to the one server that can be calling.
  For a worker that never correlates, the window admits deliveries of one
  server at a time (a *lane*), so that server is always unique; for one that
  does, only dashboard requests and WebSocket frames are uncorrelated. When
  two servers could be calling, the call is refused, never guessed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from maidcore.errors import CapabilityDenied, InvalidArgument
from maidcore.runner.deliveries import Delivery, Window, new_event_id

#: Param names of the correlation the official SDKs send (0.8.3+).
CORRELATION = "_event_id"
POOL_SERVER = "_pool_discord_srv_id"


@dataclass(frozen=True, slots=True)
class Attributed:
    """Whom a call acts for: the server, the delivery it was made in (if known), and for a lifecycle hook
    the install the signal was about (which may be disabled or gone by now)."""

    server_id: str
    delivery: Delivery | None = None
    install: Any = None


def _server_param(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if type(value) is int and value >= 0:
        return str(value)
    return None


class Attribution:
    """The attribution state of one worker slot: holds, correlation ids, and the lane rule."""

    def __init__(self, window: Window, *, boot_server: str = "") -> None:
        self.window = window
        self.boot_server = boot_server  # single mode: the only server
        #: The SDK ties every call it makes while handling a delivery to it (seen once, kept for the version).
        self.correlates = False
        #: The SDK announced itself with ``plugin.register`` (ours): every call names its server.
        self.registered = False
        self._counted: Counter[str] = Counter()  # servers held until released (dashboard requests)
        self._reserved: Counter[str] = Counter()  # servers waiting for the lane (no other server may enter it)
        self._timed: dict[str, float] = {}  # server -> monotonic deadline (lifecycle signals, WebSocket frames)
        self._ids: dict[str, tuple[str, float, Any]] = {}  # correlation id -> (server, deadline, install)
        self._signalled: dict[str, Any] = {}  # server -> the install a lifecycle hold was for
        self._pump_at: asyncio.TimerHandle | None = None

    # -- holding servers outside deliveries ---------------------------------------------------

    def hold(self, server_id: str, *, install: Any = None) -> None:
        """Attribute calls for ``server_id`` until ``release`` (a dashboard request, a lifecycle request).

        ``install``: the install a lifecycle signal is about; its hook may act for it even once it is
        disabled or gone (an ``on_disable`` / ``on_uninstall`` cleans up).
        """
        self._counted[server_id] += 1
        if install is not None:
            self._signalled[server_id] = install

    def release(self, server_id: str) -> None:
        left = self._counted[server_id] - 1
        if left > 0:
            self._counted[server_id] = left
        else:
            self._counted.pop(server_id, None)
            if server_id not in self._timed:
                self._signalled.pop(server_id, None)
            self.window.pump()  # a lane may be free now

    def hold_for(self, server_id: str, seconds: float, *, install: Any = None) -> None:
        """Attribute calls for ``server_id`` for ``seconds`` (a WebSocket frame, a lifecycle notification: the
        SDK says nothing when its handler returns). ``install`` as for ``hold``."""
        deadline = time.monotonic() + seconds
        if self._timed.get(server_id, 0.0) < deadline:
            self._timed[server_id] = deadline
        if install is not None:
            self._signalled[server_id] = install

    def correlation(self, server_id: str, seconds: float, *, install: Any = None) -> str:
        """A new correlation id for a signal to ``server_id`` (lifecycle), live for ``seconds``."""
        now = time.monotonic()
        if len(self._ids) > 1024:
            self._ids = {k: v for k, v in self._ids.items() if v[1] > now}
        correlation_id = new_event_id()
        self._ids[correlation_id] = (server_id, now + seconds, install)
        return correlation_id

    def held(self) -> set[str]:
        now = time.monotonic()
        for server in [s for s, deadline in self._timed.items() if deadline <= now]:
            del self._timed[server]
            if server not in self._counted:
                self._signalled.pop(server, None)
        return set(self._counted) | set(self._timed)

    def active(self) -> set[str]:
        """Every server something is in flight or held for."""
        return set(self.window.servers) | self.held()

    # -- the lane -------------------------------------------------------------------------------

    def lane_needed(self) -> bool:
        """Deliveries must keep to one server at a time: the SDK ties none of its calls to them."""
        return not (self.correlates or self.registered or self.boot_server)

    def admits(self, delivery: Delivery) -> bool:
        """Window rule: a worker on a lane takes a delivery only while nothing of another server is active."""
        if not self.lane_needed():
            return True
        server = delivery.scope.server_id
        others = (self.active() | set(self._reserved)) - {server}
        if others and not (set(self.window.servers) - {server}):
            self._pump_when_held_expires()
        return not others

    async def enter_lane(self, server_id: str, timeout: float) -> None:
        """Wait until only ``server_id`` is active on a lane worker (a dashboard request, a WebSocket frame).

        While waiting, no delivery of another server is admitted, so the wait ends.
        """
        if not self.lane_needed():
            return
        self._reserved[server_id] += 1
        try:
            async with asyncio.timeout(timeout):
                while self.active() - {server_id}:
                    await asyncio.sleep(0.005)
        finally:
            left = self._reserved[server_id] - 1
            if left > 0:
                self._reserved[server_id] = left
            else:
                self._reserved.pop(server_id, None)

    def _pump_when_held_expires(self) -> None:
        if self._pump_at is not None or not self._timed:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, min(self._timed.values()) - time.monotonic()) + 0.01

        def pump() -> None:
            self._pump_at = None
            self.window.pump()

        self._pump_at = loop.call_later(delay, pump)

    # -- resolving one call ------------------------------------------------------------------------

    def server_of(self, correlation_id: str) -> Attributed | None:
        """What a live correlation id names; ``None`` when it names nothing live."""
        delivery = self.window.in_flight.get(correlation_id)
        if delivery is not None:
            return Attributed(delivery.scope.server_id, delivery)
        entry = self._ids.get(correlation_id)
        if entry is not None and entry[1] > time.monotonic():
            return Attributed(entry[0], None, entry[2])
        return None

    def resolve(self, method: str, params: dict[str, Any]) -> Attributed:
        """The server a call acts for, and the delivery (or lifecycle signal) it was made in when that is known."""
        named = _server_param(params.get(POOL_SERVER)) or _server_param(params.get("discord_srv_id"))
        correlation = params.get(CORRELATION)
        if correlation is not None and not isinstance(correlation, (dict, list)):
            found = self.server_of(str(correlation))
            if found is None:
                raise CapabilityDenied(
                    "server access", method, detail=f"delivery {str(correlation)[:40]} is not in flight on this worker"
                )
            if named is not None and named != found.server_id:
                detail = f"delivery {correlation} is for server {found.server_id}, not {named}"
                raise CapabilityDenied("server access", method, detail=detail)
            if not self.correlates:
                self.correlates = True  # every call made in a delivery will say which: no more lane
                self.window.pump()
            return found
        if self.boot_server:  # single mode: the boot server only
            server = named or self.boot_server
            if server != self.boot_server:
                raise CapabilityDenied(
                    "server access", method, detail=f"this worker serves server {self.boot_server} only, not {server}"
                )
            return Attributed(server, self._only_delivery(server))
        if named is not None:
            if named not in self.active():
                raise CapabilityDenied(
                    "server access", method, detail=f"server {named} has no delivery in flight on this worker"
                )
            return Attributed(named, self._only_delivery(named), self._signalled.get(named))
        if self.registered:
            raise InvalidArgument("discord_srv_id", "the server id of the delivery being handled")
        candidates = self.held() if self.correlates else self.active()
        if len(candidates) == 1:
            server = next(iter(candidates))
            return Attributed(server, self._only_delivery(server), self._signalled.get(server))
        raise CapabilityDenied(
            "server access",
            method,
            detail="the call names no server and "
            + ("no server" if not candidates else f"{len(candidates)} servers")
            + " could be making it on this worker",
        )

    def _only_delivery(self, server_id: str) -> Delivery | None:
        """The delivery a call naming only its server was made in, when that server has exactly one in flight."""
        if self.window.servers.get(server_id) != 1:
            return None
        return next((d for d in self.window.in_flight.values() if d.scope.server_id == server_id), None)
