"""A resolver that checks every address before aiohttp may connect to it, and pins what it checked.

aiohttp asks its resolver for addresses whenever it opens a connection. This
one resolves through an inner resolver, refuses the whole name if ANY address
is refused, and caches the checked list for ``dns_cache_seconds``. The proxy
calls it before each request (and each redirect hop) to answer with a clear
error; the connector's own call then gets the very addresses that were
checked, so a DNS answer that changes in between (rebinding) cannot reach a
refused address.
"""

from __future__ import annotations

import ipaddress
import socket
import time

from aiohttp.abc import AbstractResolver, ResolveResult

from maidcore.errors import RpcFailure
from maidcore.proxy.addresses import IPNetwork, refusal_reason


class AddressRefused(RpcFailure):
    """The name resolves to an address the proxy must not reach."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(
            f"refused to connect to {host}: it resolves to {address}, {reason} "
            "(the proxy only reaches public addresses)"
        )
        self.host = host
        self.address = address
        self.reason = reason


class UnresolvableHost(RpcFailure):
    def __init__(self, host: str, detail: str = "") -> None:
        super().__init__(f"could not resolve host {host}" + (f" ({detail})" if detail else ""))
        self.host = host


class CheckingResolver(AbstractResolver):
    """Resolve, refuse non-public addresses (unless allowed), and pin the checked answer."""

    def __init__(
        self,
        inner: AbstractResolver,
        *,
        allow_private: bool,
        cache_seconds: float,
        allowed_networks: tuple[IPNetwork, ...] = (),
    ) -> None:
        self.inner = inner
        self.allow_private = allow_private
        self.allowed_networks = allowed_networks
        self.cache_seconds = cache_seconds
        self._checked: dict[tuple[str, int], tuple[float, list[ResolveResult]]] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = host.rstrip(".").lower()
        key = (name, port)
        cached = self._checked.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            results = await self.inner.resolve(name, port, family=socket.AF_UNSPEC)
        except OSError as exc:
            raise UnresolvableHost(name, getattr(exc, "strerror", None) or "") from None
        if not results:
            raise UnresolvableHost(name, "no addresses")
        for result in results:
            reason = refusal_reason(
                result["host"], allow_private=self.allow_private, allowed_networks=self.allowed_networks
            )
            if reason is not None:
                raise AddressRefused(name, result["host"], reason)
        if len(self._checked) > 4096:
            self._checked = {k: v for k, v in self._checked.items() if v[0] > now}
        self._checked[key] = (now + self.cache_seconds, results)
        return results

    async def check(self, host: str, port: int = 0) -> None:
        """Refuse ``host`` before connecting: an IP literal by its own address, a name by every address it has."""
        try:
            literal = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            await self.resolve(host, port)
            return
        reason = refusal_reason(literal, allow_private=self.allow_private, allowed_networks=self.allowed_networks)
        if reason is not None:
            raise AddressRefused(host, host, reason)

    async def close(self) -> None:
        await self.inner.close()


class StaticResolver(AbstractResolver):
    """Answers from a fixed name → addresses table (tests, and hosts without DNS)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = {name.lower(): addresses for name, addresses in table.items()}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self.table.get(host.rstrip(".").lower())
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None
