"""The WebSocket broker against a real aiohttp WebSocket server on loopback.

Loopback is reachable only through the test's own allow rule (``allowed_private_networks``
= 127.0.0.1/32, names from ``NAMES``); every other private address stays refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time

import pytest

from maidcore.errors import CapabilityDenied, InvalidArgument, RateLimited, RpcFailure
from maidcore.proxy import StaticResolver
from maidcore.proxy.resolver import AddressRefused
from maidcore.proxy.websocket import RedirectRefused, WebSocketBroker, socket_url, subscribe_frames
from maidcore.scope import Scope
from maidcore.settings import ProxySettings, WebSocketSettings
from tests.core.proxy.conftest import NAMES
from tests.core.proxy.ws_upstream import WsUpstream

SCOPE = Scope("111", "ticker")
WS_NAMES = {**NAMES, "stream.example.com": ["127.0.0.1"]}


class Inbox:
    """What the broker delivered to the plugin, in order, plus the answer ``deliver`` gives."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []
        self.wanted = True
        self.changed = asyncio.Event()

    async def deliver(self, event: str, params: dict) -> bool:
        self.events.append((event, params))
        self.changed.set()
        return self.wanted

    def messages(self) -> list[dict]:
        return [p for e, p in self.events if e == "ws_message"]

    async def wait(self, predicate, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; events so far: {self.events[-5:]}"
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


@pytest.fixture
async def upstream():
    server = WsUpstream()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def make_broker():
    made: list[WebSocketBroker] = []

    async def make(**overrides) -> WebSocketBroker:
        options = {"reconnect_initial_seconds": 0.05, "reconnect_max_seconds": 0.2, "connect_timeout_seconds": 3.0}
        settings = WebSocketSettings(**{**options, **overrides})
        proxy = ProxySettings(allow_http=True, allowed_private_networks=["127.0.0.1/32"])
        broker = WebSocketBroker(settings, proxy, resolver=StaticResolver(WS_NAMES))
        await broker.start()
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


async def no_headers() -> dict[str, str]:
    return {}


async def open_socket(broker, upstream, inbox, path="/feed", *, name="feed", host="stream.example.com", **kw):
    url = socket_url(upstream.url(path, host), allow_plain=True)
    subscribe = subscribe_frames(kw.pop("subscribe", None), limit=20, max_bytes=1000)
    prepare = kw.pop("prepare", no_headers)
    return await broker.ensure(SCOPE, name, url, prepare=prepare, deliver=inbox.deliver, subscribe=subscribe, **kw)


async def test_frames_arrive_in_order_after_open_and_subscribe(make_broker, upstream):
    broker, inbox = await make_broker(receive_frames_per_second=10_000), Inbox()
    result = await open_socket(broker, upstream, inbox, "/burst?n=300", subscribe=["hello", {"op": "sub"}])
    assert result["created"] is True and result["state"] == "open" and result["name"] == "feed"
    await inbox.wait(lambda: len(inbox.messages()) >= 303)
    assert inbox.events[0][0] == "ws_open" and inbox.events[0][1]["conn_id"] == result["conn_id"]
    texts = [m["data"] for m in inbox.messages() if not m["binary"]]
    assert texts[:300] == [str(i) for i in range(300)]  # in order, nothing lost
    binary = [m for m in inbox.messages() if m["binary"]]
    assert base64.b64decode(binary[0]["data"]) == b"\x00\x01\xff"
    assert upstream.received[:2] == ["hello", '{"op":"sub"}']  # subscribe frames, strings as they are, JSON else
    assert {"echo:hello", 'echo:{"op":"sub"}'} <= set(texts)
    # ensure is idempotent: same name and URL → the same socket
    again = await open_socket(broker, upstream, inbox, "/burst?n=300", subscribe=["hello", {"op": "sub"}])
    assert again["created"] is False and again["conn_id"] == result["conn_id"]


async def test_send_text_and_binary_and_binary_mode_delivery(make_broker, upstream):
    broker, inbox = await make_broker(), Inbox()
    await open_socket(broker, upstream, inbox, binary=True)
    await broker.send(SCOPE, "feed", "ping")
    await broker.send(SCOPE, "feed", b"\x01\x02")
    await inbox.wait(lambda: len(inbox.messages()) == 2)
    first, second = inbox.messages()
    assert first["binary"] is True and base64.b64decode(first["data"]) == b"echo:ping"  # binary=True: all base64
    assert base64.b64decode(second["data"]) == b"\x02\x01"
    assert upstream.received == ["ping", b"\x01\x02"]


async def test_reconnect_after_the_server_drops(make_broker, upstream):
    broker, inbox = await make_broker(), Inbox()
    await open_socket(broker, upstream, inbox, subscribe=["sub"])
    await upstream.drop()
    await inbox.wait(lambda: [e for e, _ in inbox.events].count("ws_open") == 2)
    closed = next(p for e, p in inbox.events if e == "ws_closed")
    assert closed["will_reconnect"] is True and "closed by stream.example.com" in closed["reason"]
    assert upstream.received == ["sub", "sub"]  # subscribed again on the new connection
    await upstream.push("after")
    await inbox.wait(lambda: any(m["data"] == "after" for m in inbox.messages()))
    assert broker.sockets(SCOPE)[0].connects == 2


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("internal.example.com", "a private address"),
        ("meta.example.com", "a cloud metadata address"),
        ("loop2.example.com", "a loopback address"),
        ("127.0.0.2", "a loopback address"),
        ("mixed.example.com", "a private address"),
    ],
)
async def test_non_public_addresses_are_refused(make_broker, upstream, host, reason):
    broker, inbox = await make_broker(), Inbox()
    with pytest.raises(AddressRefused, match=reason):
        await open_socket(broker, upstream, inbox, host=host)
    assert inbox.events == [] and broker.sockets() == [] and upstream.handshakes == []


async def test_a_redirecting_handshake_is_refused(make_broker, upstream):
    broker, inbox = await make_broker(), Inbox()
    with pytest.raises(RedirectRefused, match=r"redirect \(302\) to 127.0.0.1"):
        await open_socket(broker, upstream, inbox, "/redirect")
    with pytest.raises(RpcFailure, match="HTTP 200 instead of 101"):
        await open_socket(broker, upstream, inbox, "/plain")
    assert upstream.handshakes == [] and broker.sockets() == []


async def test_limits_sockets_frame_size_and_send_rate(make_broker, upstream):
    broker = await make_broker(max_connections_per_scope=2, send_frames_per_second=3, max_frame_bytes=1000)
    inbox = Inbox()
    await open_socket(broker, upstream, inbox, name="a")
    await open_socket(broker, upstream, inbox, name="b")
    with pytest.raises(RateLimited) as too_many:
        await open_socket(broker, upstream, inbox, name="c")
    assert too_many.value.to_rpc()["data"]["code"] == "RATE_LIMITED"
    assert "websocket connections rate limit exceeded" in too_many.value.message
    with pytest.raises(InvalidArgument, match="at most 1000 bytes"):
        await broker.send(SCOPE, "a", "x" * 1001)
    for i in range(3):
        await broker.send(SCOPE, "a", f"m{i}")
    with pytest.raises(RateLimited) as rate:
        await broker.send(SCOPE, "a", "one too many")
    assert 0 < rate.value.retry_after <= 1 / 3 + 0.01
    await asyncio.sleep(rate.value.retry_after)
    await broker.send(SCOPE, "a", "after the wait")
    await inbox.wait(lambda: any(m["data"] == "echo:after the wait" for m in inbox.messages()))
    assert upstream.received == ["m0", "m1", "m2", "after the wait"]


async def test_an_oversized_inbound_frame_drops_the_connection_and_it_reconnects(make_broker, upstream):
    broker, inbox = await make_broker(max_frame_bytes=1000), Inbox()
    await open_socket(broker, upstream, inbox, "/big?size=5000")
    await inbox.wait(lambda: any(e == "ws_closed" for e, _ in inbox.events))
    closed = next(p for e, p in inbox.events if e == "ws_closed")
    assert closed == {**closed, "reason": "a frame over 1000 bytes arrived", "will_reconnect": True}
    assert [m["data"] for m in inbox.messages()][:1] == ["small"]
    await inbox.wait(lambda: [e for e, _ in inbox.events].count("ws_open") == 2)


async def test_inbound_rate_is_paced_not_dropped(make_broker, upstream):
    broker, inbox = await make_broker(receive_frames_per_second=100), Inbox()
    started = time.monotonic()
    await open_socket(broker, upstream, inbox, "/burst?n=150")
    await inbox.wait(lambda: len(inbox.messages()) >= 151)
    took = time.monotonic() - started
    assert [m["data"] for m in inbox.messages()][:150] == [str(i) for i in range(150)]
    assert took >= 0.4  # 100 banked, the other ~51 at 100/s


async def test_every_reconnect_asks_the_policy_again(make_broker, upstream):
    broker, inbox = await make_broker(), Inbox()
    allowed = {"yes": True}
    tokens = iter(["Bearer one", "Bearer two"])

    async def prepare() -> dict[str, str]:
        if not allowed["yes"]:
            raise CapabilityDenied("proxy:websocket", "ws.ensure", detail="host stream.example.com was revoked")
        return {"Authorization": next(tokens)}

    await open_socket(broker, upstream, inbox, prepare=prepare)
    await upstream.drop()
    await inbox.wait(lambda: [e for e, _ in inbox.events].count("ws_open") == 2)
    assert [h["authorization"] for h in upstream.handshakes] == ["Bearer one", "Bearer two"]
    allowed["yes"] = False
    await upstream.drop()
    await inbox.wait(lambda: any(e == "ws_closed" and not p["will_reconnect"] for e, p in inbox.events))
    final = [p for e, p in inbox.events if e == "ws_closed"][-1]
    assert "revoked" in final["reason"] and broker.sockets() == []


async def test_close_by_the_plugin_and_by_the_host(make_broker, upstream):
    broker, inbox = await make_broker(), Inbox()
    await open_socket(broker, upstream, inbox, name="a")
    await open_socket(broker, upstream, inbox, name="b")
    assert await broker.close_socket(SCOPE, "a") == {"closed": True}
    assert await broker.close_socket(SCOPE, "a") == {"closed": False}
    assert ("ws_closed", {"name": "a", "conn_id": inbox.events[0][1]["conn_id"], "reason": "closed by the plugin",
                          "will_reconnect": False}) in inbox.events  # fmt: skip
    with pytest.raises(RpcFailure, match="no open websocket named 'a'"):
        await broker.send(SCOPE, "a", "x")
    events_before = len(inbox.events)
    assert await broker.close_scope(SCOPE, "plugin uninstalled") == 1
    assert broker.sockets() == [] and len(inbox.events) == events_before  # the host's close sends no event
    await asyncio.sleep(0.3)
    assert upstream.sockets == []  # the server saw both go


async def test_a_plugin_that_takes_no_more_frames_closes_its_socket(make_broker, upstream):
    broker, inbox = await make_broker(), Inbox()
    await open_socket(broker, upstream, inbox)
    inbox.wanted = False
    await upstream.push("one")
    await inbox.wait(lambda: broker.sockets() == [])
    await asyncio.sleep(0.2)
    assert [e for e, _ in inbox.events] == ["ws_open", "ws_message"]


def test_url_and_subscribe_checks():
    assert str(socket_url("wss://a.example.com/x#frag", allow_plain=False)) == "wss://a.example.com/x"
    with pytest.raises(InvalidArgument, match="plain ws:// is turned off"):
        socket_url("ws://a.example.com/x", allow_plain=False)
    with pytest.raises(InvalidArgument, match="wss://"):
        socket_url("https://a.example.com/x", allow_plain=False)
    with pytest.raises(InvalidArgument, match="without user info"):
        socket_url("wss://u:p@a.example.com/x", allow_plain=False)
    assert subscribe_frames(["a", {"b": 1}], limit=5, max_bytes=100) == ("a", '{"b":1}')
    with pytest.raises(InvalidArgument, match="at most 1 messages"):
        subscribe_frames(["a", "b"], limit=1, max_bytes=100)


async def test_an_idle_socket_stays_open_past_the_handshake_timeout(make_broker, upstream):
    broker, inbox = await make_broker(connect_timeout_seconds=0.5), Inbox()
    await open_socket(broker, upstream, inbox)
    await asyncio.sleep(1.0)
    await upstream.push("still here")
    await inbox.wait(lambda: len(inbox.messages()) == 1)
    assert [e for e, _ in inbox.events] == ["ws_open", "ws_message"] and broker.sockets()[0].connects == 1


async def test_broker_frames_and_send_rate_refusals_are_counted_in_the_metrics(make_broker, upstream):
    from maidcore import metrics

    def count(metric, *labels) -> float:
        return metric.labels(*labels)._value.get()

    before = (
        count(metrics.BROKER_MESSAGES, "in"),
        count(metrics.BROKER_MESSAGES, "out"),
        count(metrics.RATE_LIMIT_DENIALS, "websocket frames"),
    )
    broker, inbox = await make_broker(send_frames_per_second=2), Inbox()
    await open_socket(broker, upstream, inbox, subscribe=["hello"])
    await broker.send(SCOPE, "feed", "ping")
    with pytest.raises(RateLimited):
        for _ in range(3):
            await broker.send(SCOPE, "feed", "more")
    await inbox.wait(lambda: any(m["data"] == "echo:ping" for m in inbox.messages()))
    received = len(inbox.messages())
    after = (
        count(metrics.BROKER_MESSAGES, "in"),
        count(metrics.BROKER_MESSAGES, "out"),
        count(metrics.RATE_LIMIT_DENIALS, "websocket frames"),
    )
    sent = len(upstream.received)  # the subscribe frame and the sends that passed
    assert (after[1] - before[1], after[2] - before[2]) == (sent, 1)
    assert after[0] - before[0] >= received >= 2
