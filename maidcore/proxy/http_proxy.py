"""The outbound HTTP proxy behind ``ctx.http`` / ``proxy.request`` (SDK contract §4.7, §10.4).

Plugins have no network; this is their only way out. A request goes only to a
host the server approved, over https unless the host allows http, to public
addresses only (checked before every connection, including each redirect hop),
without cookies or platform headers, within timeouts, and its answer is cut at
``max_body_bytes`` while streaming.
"""

from __future__ import annotations

import asyncio
import codecs
import ssl
from collections import Counter
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from maidcore import metrics
from maidcore.errors import CapabilityDenied, HostError, InvalidArgument, RpcFailure
from maidcore.proxy.addresses import networks
from maidcore.proxy.headers import request_headers, response_headers
from maidcore.proxy.resolver import AddressRefused, CheckingResolver
from maidcore.scope import Scope
from maidcore.settings import ProxySettings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CAPABILITY = "proxy:http"
HOST_METHOD = "proxy.request"
_READ_CHUNK = 64 * 1024


class HttpProxy:
    """Performs ``proxy.request`` for plugins; one instance (and connection pool) per platform."""

    def __init__(self, settings: ProxySettings, *, resolver: AbstractResolver | None = None) -> None:
        self.settings = settings
        self.allowed_networks = networks(settings.allowed_private_networks)
        self._inner_resolver = resolver  # None: aiohttp's threaded getaddrinfo resolver, made in start()
        self.resolver: CheckingResolver | None = None
        self._session: aiohttp.ClientSession | None = None
        self._start_lock = asyncio.Lock()
        # (scope, outcome) -> count; outcome is "ok", "refused" or "failed"
        self.counts: Counter[tuple[Scope, str]] = Counter()
        # scope -> [semaphore, users]: one slow or flooding plugin cannot take the whole pool
        self._per_scope: dict[Scope, list[Any]] = {}

    async def start(self) -> None:
        async with self._start_lock:
            if self._session is not None:
                return
            s = self.settings
            self.resolver = CheckingResolver(
                self._inner_resolver or aiohttp.ThreadedResolver(),
                allow_private=s.allow_private_addresses,
                cache_seconds=s.dns_cache_seconds,
                allowed_networks=self.allowed_networks,
            )
            tls = ssl.create_default_context()  # system CAs, hostname checked against the URL's host
            if s.extra_ca_file:
                tls.load_verify_locations(cafile=s.extra_ca_file)
            connector = aiohttp.TCPConnector(
                ssl=tls,
                resolver=self.resolver,
                use_dns_cache=False,  # the checking resolver keeps (and pins) its own cache
                limit=s.pool_size,
                limit_per_host=s.pool_size_per_host,
                family=0,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=s.connect_timeout_seconds, sock_connect=s.connect_timeout_seconds
                ),
                trust_env=False,  # never route through an HTTP(S)_PROXY from the host's environment
                auto_decompress=True,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        scope: Scope,
        *,
        allowed_domains: frozenset[str],
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        authorization: str | None = None,
    ) -> dict[str, Any]:
        """Perform one request for ``scope``; returns ``{status, headers, body_bytes, truncated}``.

        ``authorization`` is a header value the host computed from a domain-bound
        secret; with it the plugin may not send an ``Authorization`` of its own.
        Raises ``CapabilityDenied`` for a host off ``allowed_domains``,
        ``InvalidArgument`` for a bad method/URL/header/body, and ``RpcFailure``
        for a refused address, DNS failure, timeout or upstream failure.
        """
        slot = self._per_scope.get(scope)
        if slot is None:
            slot = self._per_scope[scope] = [asyncio.Semaphore(self.settings.per_scope_concurrency), 0]
        slot[1] += 1
        try:
            async with slot[0]:
                result = await self._request(allowed_domains, method, url, headers, body, authorization)
        except (CapabilityDenied, InvalidArgument, AddressRefused):
            self.counts[scope, "refused"] += 1
            metrics.PROXY_REQUESTS.labels("refused").inc()
            raise
        except HostError:
            self.counts[scope, "failed"] += 1
            metrics.PROXY_REQUESTS.labels("failed").inc()
            raise
        finally:
            slot[1] -= 1
            if slot[1] == 0:
                del self._per_scope[scope]
        self.counts[scope, "ok"] += 1
        metrics.PROXY_REQUESTS.labels("ok").inc()
        metrics.PROXY_BYTES.inc(len(result.get("body_bytes", "").encode("utf-8", "replace")))
        return result

    async def _request(
        self,
        allowed_domains: frozenset[str],
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        body: str | None,
        authorization: str | None = None,
    ) -> dict[str, Any]:
        if self._session is None:
            await self.start()
        method = _method(method)
        send_headers = request_headers(headers)
        if authorization is not None:
            if any(k.lower() == "authorization" for k in send_headers):
                raise InvalidArgument("headers", "free of Authorization when secret auth is used (the host sets it)")
            send_headers["Authorization"] = authorization
        if not any(k.lower() == "user-agent" for k in send_headers):
            send_headers["User-Agent"] = self.settings.user_agent
        data = self._body(body)
        allowed = frozenset(d.rstrip(".").lower() for d in allowed_domains)
        target = self._target(url)
        _check_domain(target, allowed, redirect=False)
        total = self.settings.total_timeout_seconds
        try:
            async with asyncio.timeout(total):
                return await self._follow(target, method, send_headers, data, allowed)
        except aiohttp.ConnectionTimeoutError:
            raise RpcFailure(
                f"upstream {target.host} did not accept a connection within {self.settings.connect_timeout_seconds:g}s"
            ) from None
        except TimeoutError:
            raise RpcFailure(f"upstream {target.host} timed out after {total:g}s") from None

    async def _follow(
        self, url: URL, method: str, headers: dict[str, str], data: bytes | None, allowed: frozenset[str]
    ) -> dict[str, Any]:
        assert self._session is not None
        for _hop in range(self.settings.max_redirects + 1):
            await self._check_address(url)
            try:
                response = await self._session.request(method, url, headers=headers, data=data, allow_redirects=False)
            except HostError:
                raise  # the checking resolver's refusal, raised inside the connector
            except aiohttp.ConnectionTimeoutError:
                raise
            except aiohttp.ClientConnectorCertificateError:
                raise RpcFailure(f"TLS certificate of {url.host} could not be verified") from None
            except aiohttp.ClientSSLError as exc:
                raise RpcFailure(f"TLS handshake with {url.host} failed ({exc.__class__.__name__})") from None
            except aiohttp.ClientConnectorError as exc:
                why = exc.strerror or exc.os_error.__class__.__name__
                raise RpcFailure(f"could not connect to {url.host}:{url.port} ({why})") from None
            except aiohttp.ClientError as exc:
                raise RpcFailure(f"upstream {url.host} failed: {exc.__class__.__name__}") from None
            try:
                location = response.headers.get("Location")
                if response.status in REDIRECT_STATUSES and location:
                    next_url = self._redirect_target(url, location)
                    _check_domain(next_url, allowed, redirect=True)
                    if (response.status == 303 and method != "HEAD") or (
                        response.status in (301, 302) and method == "POST"
                    ):
                        method, data = "GET", None
                        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
                    if next_url.host != url.host:  # credentials were meant for the first host only
                        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                    url = next_url
                    continue
                return await self._read(response, method, url)
            finally:
                response.release()
        raise RpcFailure(f"upstream redirected more than {self.settings.max_redirects} times (last to {url.host})")

    async def _check_address(self, url: URL) -> None:
        """Refuse before connecting: IP literals here, names through the checking resolver."""
        assert self.resolver is not None
        await self.resolver.check(url.raw_host or "", url.port or 0)

    async def _read(self, response: aiohttp.ClientResponse, method: str, url: URL) -> dict[str, Any]:
        cap = self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        truncated = False
        if method != "HEAD":
            try:
                while size <= cap:
                    chunk = await response.content.read(min(_READ_CHUNK, cap + 1 - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            except aiohttp.ClientPayloadError:
                raise RpcFailure(f"upstream {url.host} sent a broken body") from None
            except aiohttp.ClientError as exc:
                name = exc.__class__.__name__
                raise RpcFailure(f"upstream {url.host} failed while sending the body: {name}") from None
            if size > cap:
                truncated = True
                response.close()  # drop the connection instead of draining the rest
        raw = b"".join(chunks)[:cap]
        # a cut may split a UTF-8 sequence: drop the incomplete tail rather than show U+FFFD
        text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(raw, final=not truncated)
        return {
            "status": response.status,
            "headers": response_headers(response.headers.items()),
            "body_bytes": text,
            "truncated": truncated,
        }

    def _target(self, url: str) -> URL:
        if not isinstance(url, str) or not url:
            raise InvalidArgument("url", "an absolute https URL string")
        try:
            parsed = URL(url)
        except (ValueError, TypeError):
            raise InvalidArgument("url", "an absolute https URL") from None
        self._check_scheme(parsed, redirect=False)
        if parsed.user is not None or parsed.password is not None:
            raise InvalidArgument("url", "a URL without user info (send credentials in a header)")
        return parsed.with_fragment(None)

    def _redirect_target(self, current: URL, location: str) -> URL:
        try:
            target = current.join(URL(location))
        except (ValueError, TypeError):
            raise RpcFailure(f"upstream {current.host} redirected to an unusable location") from None
        self._check_scheme(target, redirect=True)
        return target.with_user(None).with_fragment(None)  # an upstream cannot plant credentials either

    def _check_scheme(self, url: URL, *, redirect: bool) -> None:
        schemes = ("https", "http") if self.settings.allow_http else ("https",)
        if url.scheme in schemes and url.raw_host:
            return
        if redirect:
            scheme = url.scheme or "relative"
            raise RpcFailure(f"upstream redirected to a {scheme} URL, which the proxy does not follow")
        if url.scheme == "http":
            raise InvalidArgument("url", "an https URL (plain http is turned off on this host)")
        raise InvalidArgument("url", f"an absolute {' or '.join(schemes)} URL with a host")

    def _body(self, body: str | None) -> bytes | None:
        if body is None:
            return None
        if not isinstance(body, str):
            raise InvalidArgument("body", "a string or null")
        data = body.encode("utf-8")
        if len(data) > self.settings.max_request_body_bytes:
            raise InvalidArgument("body", f"at most {self.settings.max_request_body_bytes} bytes of UTF-8")
        return data


def _method(method: str) -> str:
    upper = method.upper() if isinstance(method, str) else ""
    if upper not in METHODS:
        raise InvalidArgument("method", f"one of {', '.join(METHODS)}")
    return upper


def _check_domain(url: URL, allowed: frozenset[str], *, redirect: bool) -> None:
    """The host must equal an approved domain (case-insensitive); subdomains only if listed themselves."""
    host = (url.raw_host or "").rstrip(".").lower()
    if host in allowed:
        return
    what = "redirect to domain" if redirect else "domain"
    raise CapabilityDenied(CAPABILITY, HOST_METHOD, detail=f"{what} {host} is not in proxy_domains_requested")
