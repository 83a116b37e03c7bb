"""What the nodes of a cluster share with a layer: once-only work, small short-lived state, due times.

A layer gets it as ``LayerContext.shared``. On a single node the node is the
whole cluster: every ``once`` is granted and state lives in the process. With
``cluster.coordinator_url`` set the platform backs it with the cluster's coordinator
(``maidcore.cluster``) before any layer starts, so a storage sweep, or an
event source's per-event state, behaves the same for a third-party layer as for
the defaults: one node sweeps per period, and any node can read what another
wrote. Keys are namespaced per layer (``scoped``).
"""

from __future__ import annotations

import heapq
import time
from typing import Any, Protocol


class SharedBackend(Protocol):
    """What a cluster's coordinator offers for ``Shared`` (``maidcore.cluster.Coordinator`` has these)."""

    async def once(self, key: str, ttl: float) -> bool: ...

    async def state_get(self, key: str) -> Any | None: ...

    async def state_put(self, key: str, value: Any, ttl: float) -> None: ...

    async def spend(self, key: str, amount: int, limit: int, ttl: float) -> int | None: ...

    async def state_put_many(self, values: dict[str, Any], ttl: float) -> None: ...

    async def due_add(self, queue: str, member: str, at: float) -> None: ...

    async def due_take(self, queue: str, now: float, limit: int) -> list[str]: ...


class _Memory:
    """A single node's stand-in: ``once`` always granted (nobody else could do it), state in a dict."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[float, Any]] = {}
        self.due: dict[str, list[tuple[float, str]]] = {}

    async def once(self, key: str, ttl: float) -> bool:
        return True

    async def state_get(self, key: str) -> Any | None:
        held = self.state.get(key)
        if held is None or held[0] <= time.monotonic():
            self.state.pop(key, None)
            return None
        return held[1]

    async def state_put(self, key: str, value: Any, ttl: float) -> None:
        now = time.monotonic()
        if len(self.state) > 10_000:  # forget what expired before growing further
            for k in [k for k, (until, _) in self.state.items() if until <= now]:
                del self.state[k]
        self.state[key] = (now + ttl, value)

    async def spend(self, key: str, amount: int, limit: int, ttl: float) -> int | None:
        held = await self.state_get(key)
        n = (held or 0) + amount
        if amount > 0 and n > limit:
            return None
        if held is None:
            if amount < 0:
                return 0
            await self.state_put(key, n, ttl)
        else:  # keeps the first spend's expiry, as the Redis counter does
            self.state[key] = (self.state[key][0], n)
        return n

    async def state_put_many(self, values: dict[str, Any], ttl: float) -> None:
        for key, value in values.items():
            await self.state_put(key, value, ttl)

    async def due_add(self, queue: str, member: str, at: float) -> None:
        heapq.heappush(self.due.setdefault(queue, []), (at, member))

    async def due_take(self, queue: str, now: float, limit: int) -> list[str]:
        heap = self.due.get(queue) or []
        taken: list[str] = []
        while heap and heap[0][0] <= now and len(taken) < limit:
            taken.append(heapq.heappop(heap)[1])
        return taken


class _Holder:
    """The one backend every scoped view reads, so attaching the coordinator reaches them all."""

    def __init__(self) -> None:
        self.memory = _Memory()
        self.backend: SharedBackend | None = None

    def current(self) -> SharedBackend:
        return self.backend if self.backend is not None else self.memory


class Shared:
    """Cluster-wide once, state and due times for one layer (or the platform's root view)."""

    def __init__(self, *, _holder: _Holder | None = None, _namespace: str = "") -> None:
        self._holder = _holder if _holder is not None else _Holder()
        self._namespace = _namespace

    def scoped(self, namespace: str) -> Shared:
        """A view whose keys live under ``namespace`` (the platform gives each layer its own)."""
        return Shared(_holder=self._holder, _namespace=f"{self._namespace}{namespace}:")

    def attach(self, backend: SharedBackend | None) -> None:
        """The platform joined a cluster (``backend``) or left it (``None``); every view follows."""
        self._holder.backend = backend

    @property
    def clustered(self) -> bool:
        """True when other nodes share this (a cluster); False on a single node."""
        return self._holder.backend is not None

    def _key(self, key: str) -> str:
        return self._namespace + key

    async def once(self, key: str, ttl: float) -> bool:
        """True for exactly one caller of ``key`` within ``ttl`` seconds across the cluster (always on one node)."""
        return await self._holder.current().once(self._key(key), ttl)

    async def turn(self, name: str, period: float) -> bool:
        """Whether this node does periodic job ``name`` in the current ``period``-second window (one node per window).

        Call it each time the job is due on this node: the first node in each
        window of wall-clock time (``⌊unix time / period⌋``) gets True.
        """
        if period <= 0:
            raise ValueError(f"the period of {name!r} must be a positive number of seconds, not {period!r}")
        window = int(time.time() // period)
        return await self.once(f"turn:{name}:{period:g}:{window}", period * 2)

    async def get(self, key: str) -> Any | None:
        """The JSON value last put under ``key`` (by any node), or None once it expired."""
        return await self._holder.current().state_get(self._key(key))

    async def put(self, key: str, value: Any, ttl: float) -> None:
        """Keep JSON ``value`` under ``key`` for ``ttl`` seconds, readable from every node."""
        await self._holder.current().state_put(self._key(key), value, ttl)

    async def spend(self, key: str, amount: int, limit: int, ttl: float) -> int | None:
        """Take ``amount`` from the budget ``key`` shares across the cluster, if ``limit`` leaves room for it.

        One atomic step: the counter grows by ``amount`` and the new count comes
        back, or it is left as it was and ``None`` comes back when it would pass
        ``limit``. A negative ``amount`` gives back (never refused). The counter
        is forgotten ``ttl`` seconds after its first spend, so a key naming a
        window (``points:<minute>``) is a per-window budget.
        """
        return await self._holder.current().spend(self._key(key), amount, limit, ttl)

    async def put_many(self, values: dict[str, Any], ttl: float) -> None:
        """``put`` of every key of ``values``, in one round trip to the cluster (bookkeeping written in batches)."""
        if values:
            await self._holder.current().state_put_many({self._key(k): v for k, v in values.items()}, ttl)

    async def due_add(self, queue: str, member: str, at: float) -> None:
        """``member`` of ``queue`` falls due at unix time ``at`` (``due_take`` hands it to one node)."""
        await self._holder.current().due_add(self._key(queue), member, at)

    async def due_take(self, queue: str, limit: int = 100) -> list[str]:
        """Members of ``queue`` due by now, each handed to exactly one caller across the cluster."""
        return await self._holder.current().due_take(self._key(queue), time.time(), limit)
