"""The proxy against a real aiohttp server on loopback: allow-list, methods, redirects, limits, headers."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from aiohttp.abc import AbstractResolver

from maidcore.errors import _ALL_KEYWORDS, CapabilityDenied, InvalidArgument, RpcFailure
from maidcore.proxy import METHODS, AddressRefused, HttpProxy, StaticResolver
from maidcore.proxy.headers import response_headers
from maidcore.scope import Scope
from maidcore.settings import ProxySettings

SCOPE = Scope("900", "weather")
API = frozenset({"api.example.com"})


def url(upstream, path: str, host: str = "api.example.com") -> str:
    return f"http://{host}:{upstream.port}{path}"


async def call(proxy, upstream, path="/echo", *, host="api.example.com", allowed=API, method="GET", **kw):
    return await proxy.request(
        SCOPE, allowed_domains=allowed, method=method, url=url(upstream, path, host), headers=kw.get("headers"),
        body=kw.get("body"), authorization=kw.get("authorization"),
    )  # fmt: skip


def assert_rpc_text_clean(exc: RpcFailure) -> None:
    """§10.7: RPC_ERROR text must hold none of the words older SDKs classify by."""
    assert exc.to_rpc()["data"]["code"] == "RPC_ERROR"
    assert not any(word in exc.message.lower() for word in _ALL_KEYWORDS), exc.message


# --- answers -------------------------------------------------------------------------


async def test_get_returns_status_lowercase_headers_and_text_body(proxy, upstream):
    result = await call(proxy, upstream, "/echo?q=1", headers={"X-Plugin-Thing": "yes"})
    assert set(result) == {"status", "headers", "body_bytes", "truncated"}
    assert result["status"] == 200 and result["truncated"] is False
    assert result["headers"]["content-type"].startswith("application/json")
    assert all(name == name.lower() for name in result["headers"])
    seen = json.loads(result["body_bytes"])
    assert seen["path"] == "/echo?q=1"
    assert seen["headers"]["x-plugin-thing"] == "yes"
    assert seen["headers"]["user-agent"] == "maidcore-proxy/0.1"


async def test_non_2xx_statuses_are_returned_not_raised(proxy, upstream):
    result = await call(proxy, upstream, "/nowhere")
    assert result["status"] == 404


@pytest.mark.parametrize("method", METHODS)
async def test_each_supported_method_reaches_upstream(proxy, upstream, method):
    result = await call(proxy, upstream, method=method.lower(), body=None if method == "HEAD" else "payload")
    assert result["status"] == 200
    if method == "HEAD":
        assert result["body_bytes"] == ""
    else:
        seen = json.loads(result["body_bytes"])
        assert seen["method"] == method
        assert seen["body"] == "payload"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "OPTIONS", "", "GET /x"])
async def test_other_methods_are_invalid(proxy, upstream, method):
    with pytest.raises(InvalidArgument) as info:
        await call(proxy, upstream, method=method)
    assert "invalid method" in info.value.message
    assert "GET, POST, PUT, PATCH, DELETE, HEAD" in info.value.message
    assert upstream.hits == []


# --- domain allow-list ---------------------------------------------------------------


async def test_unlisted_domain_is_capability_denied_naming_it(proxy, upstream):
    with pytest.raises(CapabilityDenied) as info:
        await call(proxy, upstream, host="other.example.com")
    assert "domain other.example.com is not in proxy_domains_requested" in info.value.message
    assert info.value.to_rpc()["data"] == {"code": "CAPABILITY_DENIED", "capability": "proxy:http"}
    assert info.value.message.startswith("capability proxy:http is not granted for proxy.request")
    assert upstream.hits == []
    assert proxy.counts[SCOPE, "refused"] == 1


async def test_domain_match_ignores_case_both_sides(proxy, upstream):
    result = await call(proxy, upstream, host="API.Example.COM", allowed=frozenset({"Api.example.com"}))
    assert result["status"] == 200


async def test_subdomains_pass_only_when_listed(proxy, upstream):
    with pytest.raises(CapabilityDenied, match=r"domain sub.api.example.com is not in"):
        await call(proxy, upstream, host="sub.api.example.com")
    both = frozenset({"api.example.com", "sub.api.example.com"})
    assert (await call(proxy, upstream, host="sub.api.example.com", allowed=both))["status"] == 200


async def test_parent_domain_is_not_covered_by_a_subdomain_entry(proxy, upstream):
    with pytest.raises(CapabilityDenied, match=r"domain api.example.com is not in"):
        await call(proxy, upstream, allowed=frozenset({"sub.api.example.com"}))


async def test_https_is_required_unless_http_is_allowed(make_proxy, upstream):
    proxy = await make_proxy(allow_http=False)
    with pytest.raises(InvalidArgument, match=r"must be an https URL"):
        await call(proxy, upstream)
    assert upstream.hits == []


@pytest.mark.parametrize(
    "bad", ["/relative", "ftp://api.example.com/x", "http://user:pw@api.example.com/", "", "http:///nohost"]
)
async def test_malformed_or_unusable_urls_are_invalid(proxy, bad):
    with pytest.raises(InvalidArgument, match=r"invalid url"):
        await proxy.request(SCOPE, allowed_domains=API, method="GET", url=bad, headers=None, body=None)


# --- address safety ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address", "why"),
    [
        ("internal.example.com", "10.0.0.7", "a private address"),
        ("loop2.example.com", "127.0.0.2", "a loopback address"),
        ("meta.example.com", "169.254.169.254", "a cloud metadata address"),
        ("meta6.example.com", "fd00:ec2::254", "a cloud metadata address"),
        ("mapped.example.com", "::ffff:10.0.0.7", "a private address inside an IPv6 address"),
        ("cgnat.example.com", "100.64.1.1", "a carrier-grade NAT address"),
        ("mixed.example.com", "10.0.0.7", "a private address"),
    ],
)
async def test_names_resolving_to_refused_addresses_never_connect(proxy, upstream, host, address, why):
    with pytest.raises(AddressRefused) as info:
        await call(proxy, upstream, host=host, allowed=frozenset({host}))
    assert info.value.message == (
        f"refused to connect to {host}: it resolves to {address}, {why} (the proxy only reaches public addresses)"
    )
    assert_rpc_text_clean(info.value)
    assert upstream.hits == []


async def test_metadata_stays_refused_when_private_addresses_are_allowed(make_proxy, upstream):
    proxy = await make_proxy(allow_private_addresses=True, allowed_private_networks=[])
    assert (await call(proxy, upstream))["status"] == 200
    with pytest.raises(AddressRefused, match=r"cloud metadata"):
        await call(proxy, upstream, host="meta.example.com", allowed=frozenset({"meta.example.com"}))


async def test_localhost_through_the_system_resolver_is_refused(upstream):
    proxy = HttpProxy(ProxySettings(allow_http=True))  # real getaddrinfo, no private addresses
    await proxy.start()
    try:
        with pytest.raises(AddressRefused, match=r"refused to connect to localhost: it resolves to .*a loopback"):
            await call(proxy, upstream, host="localhost", allowed=frozenset({"localhost"}))
    finally:
        await proxy.close()
    assert upstream.hits == []


async def test_ip_literal_hosts_are_checked_too(make_proxy, upstream):
    proxy = await make_proxy(allowed_private_networks=[])
    with pytest.raises(AddressRefused, match=r"refused to connect to 127.0.0.1: .*a loopback address"):
        await call(proxy, upstream, host="127.0.0.1", allowed=frozenset({"127.0.0.1"}))
    assert upstream.hits == []


async def test_unknown_name_is_a_dns_failure(proxy, upstream):
    with pytest.raises(RpcFailure) as info:
        await call(proxy, upstream, host="nowhere.example.com", allowed=frozenset({"nowhere.example.com"}))
    assert info.value.message.startswith("could not resolve host nowhere.example.com")
    assert_rpc_text_clean(info.value)


async def test_closed_port_is_a_connection_failure(proxy):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    with pytest.raises(RpcFailure) as info:
        await proxy.request(
            SCOPE, allowed_domains=API, method="GET", url=f"http://api.example.com:{port}/", headers=None, body=None
        )
    assert info.value.message.startswith(f"could not connect to api.example.com:{port}")
    assert_rpc_text_clean(info.value)


class FlippingResolver(AbstractResolver):
    """DNS rebinding: the first answer is allowed, every later one points inside."""

    def __init__(self) -> None:
        self.calls = 0
        self.first = StaticResolver({"api.example.com": ["127.0.0.1"]})
        self.later = StaticResolver({"api.example.com": ["10.0.0.7"]})

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.calls += 1
        return await (self.first if self.calls == 1 else self.later).resolve(host, port, family)

    async def close(self):
        return None


async def test_rebinding_between_check_and_connect_cannot_reach_a_refused_address(make_proxy, upstream):
    pinned = FlippingResolver()
    proxy = await make_proxy(resolver=pinned)
    assert (await call(proxy, upstream))["status"] == 200  # the connector got the checked answer
    assert pinned.calls == 1

    unpinned = FlippingResolver()
    proxy = await make_proxy(resolver=unpinned, dns_cache_seconds=0)
    with pytest.raises(AddressRefused, match=r"it resolves to 10.0.0.7"):
        await call(proxy, upstream)  # the connector's own lookup is checked again
    assert unpinned.calls == 2
    assert upstream.hits == ["GET /echo"]


# --- redirects -----------------------------------------------------------------------


async def test_redirect_within_the_list_is_followed(proxy, upstream):
    target = url(upstream, "/echo", "second.example.com")
    result = await call(
        proxy, upstream, f"/redirect?to={target}", allowed=frozenset({"api.example.com", "second.example.com"})
    )
    assert result["status"] == 200
    assert json.loads(result["body_bytes"])["path"] == "/echo"


@pytest.mark.parametrize("host", ["other.example.com", "169.254.169.254", "sub.api.example.com"])
async def test_redirect_off_the_list_is_refused(proxy, upstream, host):
    with pytest.raises(CapabilityDenied, match=rf"redirect to domain {host} is not in proxy_domains_requested"):
        await call(proxy, upstream, f"/redirect?to=http://{host}:{upstream.port}/echo")
    assert upstream.hits == [f"GET /redirect?to=http://{host}:{upstream.port}/echo"]


async def test_scheme_relative_redirect_is_checked_like_any_other(proxy, upstream):
    with pytest.raises(CapabilityDenied, match=r"redirect to domain other\.example\.com is not in"):
        await call(proxy, upstream, f"/redirect?to=//other.example.com:{upstream.port}/echo")


async def test_credentials_in_a_redirect_location_are_not_sent(proxy, upstream):
    result = await call(proxy, upstream, f"/redirect?to=http://user:pw@api.example.com:{upstream.port}/echo")
    assert "authorization" not in json.loads(result["body_bytes"])["headers"]


async def test_redirect_to_a_private_address_is_refused(proxy, upstream):
    allowed = frozenset({"api.example.com", "internal.example.com"})
    with pytest.raises(AddressRefused, match=r"refused to connect to internal.example.com: it resolves to 10.0.0.7"):
        await call(proxy, upstream, f"/redirect?to=http://internal.example.com:{upstream.port}/echo", allowed=allowed)


async def test_redirect_to_another_scheme_is_not_followed(proxy, upstream):
    with pytest.raises(RpcFailure, match=r"redirected to a ftp URL"):
        await call(proxy, upstream, "/redirect?to=ftp://api.example.com/file")


async def test_redirect_loops_stop_at_max_redirects(make_proxy, upstream):
    proxy = await make_proxy(max_redirects=3)
    with pytest.raises(RpcFailure, match=r"upstream redirected more than 3 times"):
        await call(proxy, upstream, "/loop/0")
    assert len(upstream.hits) == 4


@pytest.mark.parametrize(("status", "method", "body"), [(303, "GET", ""), (302, "GET", ""), (307, "POST", "data")])
async def test_redirect_method_rules(proxy, upstream, status, method, body):
    result = await call(proxy, upstream, f"/redirect?status={status}&to=/echo", method="POST", body="data")
    seen = json.loads(result["body_bytes"])
    assert (seen["method"], seen["body"]) == (method, body)


async def test_authorization_goes_only_to_the_host_it_was_set_for(proxy, upstream):
    both = frozenset({"api.example.com", "second.example.com"})
    auth = {"Authorization": "Bearer plugin-token"}
    same = await call(proxy, upstream, "/redirect?to=/echo", headers=auth, allowed=both)
    assert json.loads(same["body_bytes"])["headers"]["authorization"] == "Bearer plugin-token"
    other = url(upstream, "/echo", "second.example.com")
    moved = await call(proxy, upstream, f"/redirect?to={other}", headers=auth, allowed=both)
    assert "authorization" not in json.loads(moved["body_bytes"])["headers"]


async def test_host_set_authorization_is_sent_and_the_plugin_cannot_add_its_own(proxy, upstream):
    both = frozenset({"api.example.com", "second.example.com"})
    seen = await call(proxy, upstream, authorization="Bearer from-a-secret")
    assert json.loads(seen["body_bytes"])["headers"]["authorization"] == "Bearer from-a-secret"
    other = url(upstream, "/echo", "second.example.com")
    moved = await call(proxy, upstream, f"/redirect?to={other}", authorization="Bearer from-a-secret", allowed=both)
    assert "authorization" not in json.loads(moved["body_bytes"])["headers"]  # never follows a redirect elsewhere
    for name in ("Authorization", "authorization"):
        with pytest.raises(InvalidArgument, match="free of Authorization when secret auth is used"):
            await call(proxy, upstream, headers={name: "Bearer mine"}, authorization="Bearer from-a-secret")
    assert upstream.hits.count("GET /echo") == 2  # the refused ones never left the host


# --- time and size -------------------------------------------------------------------


async def test_slow_upstream_times_out_with_its_own_message(make_proxy, upstream):
    proxy = await make_proxy(total_timeout_seconds=0.3)
    with pytest.raises(RpcFailure) as info:
        await call(proxy, upstream, "/slow?delay=3")
    assert info.value.message == "upstream api.example.com timed out after 0.3s"
    assert_rpc_text_clean(info.value)


async def test_unanswered_connect_times_out_with_its_own_message(make_proxy):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    # fill the accept backlog so the next SYN is dropped and the connect hangs
    fillers = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    await asyncio.sleep(0.1)
    proxy = await make_proxy(connect_timeout_seconds=0.3, total_timeout_seconds=5)
    try:
        with pytest.raises(RpcFailure) as info:
            await proxy.request(
                SCOPE, allowed_domains=API, method="GET", url=f"http://api.example.com:{port}/", headers=None, body=None
            )
    finally:
        for s in fillers:
            s.close()
        listener.close()
    assert info.value.message == "upstream api.example.com did not accept a connection within 0.3s"
    assert_rpc_text_clean(info.value)


async def test_huge_body_is_cut_at_the_cap_without_reading_the_rest(proxy, upstream):
    size = 64 * 1024 * 1024
    result = await call(proxy, upstream, f"/huge?size={size}")
    assert result["truncated"] is True
    assert len(result["body_bytes"]) == 1024 * 1024
    for _ in range(50):  # the upstream handler notices the hang-up a little later
        if upstream.huge_sent:
            break
        await asyncio.sleep(0.05)
    assert upstream.huge_sent and upstream.huge_sent[0] < size


async def test_body_of_exactly_the_cap_is_not_truncated(make_proxy, upstream):
    proxy = await make_proxy(max_body_bytes=1000)
    result = await call(proxy, upstream, "/huge?size=1000")
    assert (len(result["body_bytes"]), result["truncated"]) == (1000, False)
    result = await call(proxy, upstream, "/huge?size=1001")
    assert (len(result["body_bytes"]), result["truncated"]) == (1000, True)


async def test_invalid_utf8_is_replaced_and_a_cut_never_splits_a_character(make_proxy, upstream):
    proxy = await make_proxy()
    whole = await call(proxy, upstream, "/utf8")
    assert whole["body_bytes"] == "é" * 10 + "\ufffd\ufffd tail"
    cut = await (await make_proxy(max_body_bytes=5)).request(
        SCOPE, allowed_domains=API, method="GET", url=url(upstream, "/utf8"), headers=None, body=None
    )
    assert (cut["body_bytes"], cut["truncated"]) == ("éé", True)


async def test_compressed_bodies_are_capped_after_decoding(make_proxy, upstream):
    proxy = await make_proxy(max_body_bytes=1000)
    result = await call(proxy, upstream, "/gzip")
    assert (result["body_bytes"], result["truncated"]) == ("z" * 1000, True)
    assert "content-encoding" not in result["headers"]


async def test_request_body_over_its_cap_is_invalid(make_proxy, upstream):
    proxy = await make_proxy(max_request_body_bytes=10)
    with pytest.raises(InvalidArgument, match=r"invalid body: .*at most 10 bytes"):
        await call(proxy, upstream, method="POST", body="x" * 11)
    with pytest.raises(InvalidArgument, match=r"invalid body: .*a string or null"):
        await call(proxy, upstream, method="POST", body=b"bytes")


# --- headers and cookies -------------------------------------------------------------


async def test_platform_and_hop_by_hop_request_headers_are_stripped(proxy, upstream):
    sent = {
        "Authorization": "Bearer t",
        "User-Agent": "weather-plugin/1",
        "Cookie": "a=b",
        "X-Forwarded-For": "1.2.3.4",
        "X-Maidcore-Server": "900",
        "Host": "evil.example.com",
        "Proxy-Authorization": "Basic x",
        "Connection": "close, X-Secret-Hop",
        "X-Secret-Hop": "1",
        "Keep-Alive": "timeout=1",
        "TE": "trailers",
        "Upgrade": "websocket",
        "Forwarded": "for=1.2.3.4",
        "X-Kept": "yes",
    }
    seen = json.loads((await call(proxy, upstream, headers=sent))["body_bytes"])["headers"]
    assert seen["authorization"] == "Bearer t"
    assert seen["user-agent"] == "weather-plugin/1"
    assert seen["x-kept"] == "yes"
    assert seen["host"] == f"api.example.com:{upstream.port}"
    for gone in ("cookie", "x-forwarded-for", "x-maidcore-server", "proxy-authorization", "x-secret-hop", "te",
                 "upgrade", "forwarded"):  # fmt: skip
        assert gone not in seen, gone


async def test_platform_and_hop_by_hop_response_headers_are_stripped(proxy, upstream):
    headers = (await call(proxy, upstream, "/headers"))["headers"]
    assert headers["x-custom"] == "kept"
    assert headers["x-multi"] == "a, b"
    for gone in ("set-cookie", "x-forwarded-for", "x-maidcore-internal", "via", "keep-alive", "proxy-authenticate",
                 "trailer", "upgrade", "connection", "x-hop", "content-length", "transfer-encoding"):  # fmt: skip
        assert gone not in headers, gone


def test_header_bytes_that_are_not_utf8_become_replacement_characters():
    # aiohttp keeps undecodable header bytes as surrogates, which would make the JSON answer invalid
    assert response_headers([("X-Latin1", "caf\udce9")]) == {"x-latin1": "caf\ufffd"}


@pytest.mark.parametrize(
    "headers", [{"X-A": "1\r\nX-Injected: 1"}, {"Bad Name": "1"}, {"X-A": 1}, ["X-A", "1"], {"": "x"}]
)
async def test_header_injection_and_bad_shapes_are_invalid(proxy, upstream, headers):
    with pytest.raises(InvalidArgument, match=r"invalid headers"):
        await call(proxy, upstream, headers=headers)
    assert upstream.hits == []


async def test_cookies_are_not_kept_between_calls(proxy, upstream):
    first = await call(proxy, upstream, "/set-cookie")
    assert "set-cookie" not in first["headers"]
    second = await call(proxy, upstream, "/set-cookie")
    assert json.loads(second["body_bytes"])["cookies"] == {}
    assert json.loads((await call(proxy, upstream, "/echo"))["body_bytes"])["cookies"] == {}


# --- pool and bookkeeping --------------------------------------------------------------


async def test_connection_pool_is_bounded(make_proxy, upstream):
    proxy = await make_proxy(pool_size=3, per_scope_concurrency=10)
    assert proxy._session.connector.limit == 3
    results = await asyncio.gather(*(call(proxy, upstream, "/slow?delay=0.1") for _ in range(6)))
    assert [r["status"] for r in results] == [200] * 6
    assert upstream.max_concurrent_slow == 3


async def test_one_scope_cannot_take_the_pool_from_another(make_proxy, upstream):
    proxy = await make_proxy(per_scope_concurrency=2)
    finished: list[str] = []

    async def slow_plugin(i: int) -> None:
        await call(proxy, upstream, "/slow?delay=0.3")
        finished.append(f"slow {i}")

    async def other_plugin() -> None:
        await asyncio.sleep(0.05)
        other, target = Scope("901", "other"), url(upstream, "/echo")
        await proxy.request(other, allowed_domains=API, method="GET", url=target, headers=None, body=None)
        finished.append("other")

    await asyncio.gather(*(slow_plugin(i) for i in range(6)), other_plugin())
    assert upstream.max_concurrent_slow == 2  # the slow plugin never had more than its share in flight
    assert finished[0] == "other"  # and the other plugin did not queue behind it


async def test_outcomes_are_counted_per_scope(proxy, upstream):
    await call(proxy, upstream)
    with pytest.raises(CapabilityDenied):
        await call(proxy, upstream, host="other.example.com")
    with pytest.raises(RpcFailure):
        await call(proxy, upstream, host="nowhere.example.com", allowed=frozenset({"nowhere.example.com"}))
    assert {k[1]: v for k, v in proxy.counts.items() if k[0] == SCOPE} == {"ok": 1, "refused": 1, "failed": 1}
