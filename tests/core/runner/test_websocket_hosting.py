"""The broker under the runner, with a plugin on the official 0.10.1 wheel: sockets follow the install.

An upgrade keeps the sockets the new manifest still allows (their frames now reach the new
version) and drops the others; disabling and uninstalling close them all.
"""

from __future__ import annotations

import asyncio

import pytest

from maidcore import installs
from maidcore.proxy import StaticResolver
from maidcore.proxy.websocket import WebSocketBroker
from maidcore.records import InstallRecord
from maidcore.settings import ProxySettings
from tests.core.proxy.ws_upstream import WsUpstream
from tests.core.runner.conftest import write_plugin
from tests.official_sdks import official_site_or_skip, store_on_site

SERVER = "4242"
PLUGIN = """
from yourbot_sdk import Plugin

VERSION = "{version}"
plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event["content"] == "open":
        ctx.kv.set("ensured", ctx.ws.ensure("feed", "ws://feed.test:{port}/feed"))


@plugin.on_ws_message("feed")
def on_frame(ctx, msg):
    ctx.kv.set("handled_by", VERSION)
    ctx.kv.set("last", msg["data"])


plugin.run()
"""


@pytest.fixture
async def feed():
    server = WsUpstream()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def hosting(make_stack, feed):
    """A runner stack whose broker reaches feed.test (loopback) through the test's allow rule only."""
    site = official_site_or_skip("yourbot-sdk", "0.10.1")
    async with make_stack() as stack:
        platform = stack.platform
        await platform.websocket.close()
        platform.websocket = WebSocketBroker(
            platform.settings.websocket.model_copy(update={"reconnect_initial_seconds": 0.05}),
            ProxySettings(allow_http=True, allowed_private_networks=["127.0.0.1/32"]),
            resolver=StaticResolver({"feed.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}),
        )
        try:
            yield stack, site
        finally:
            await platform.websocket.close()


async def install_version(stack, site, feed, version: str, domains: list[str]):
    bundle = write_plugin(
        stack.root / "versions" / version,
        "ticker",
        PLUGIN.format(version=version, port=feed.port),
        capabilities=["storage:kv", "proxy:websocket"],
        proxy_domains_requested=domains,
        version=version,
    )
    await store_on_site(stack.platform, bundle, site)
    record = await installs.install(stack.platform, bundle, SERVER, installs.ALL)
    await stack.wait_for(
        lambda: any(s.plugin_id == "ticker" and s.version == version and s.ready for s in stack.runner.slots.values()),
        what=f"ticker {version} ready",
    )
    return record


async def kv(stack, key):
    return await stack.platform.storage.kv.get(stack.runner.tenant(SERVER, "ticker").scope, key)


async def open_feed(stack, feed):
    await stack.publish("message_create", SERVER, content="open")
    await stack.wait_for(lambda: feed.sockets, what="the upstream socket")
    await stack.idle()
    assert (await kv(stack, "ensured"))["state"] == "open"
    return stack.platform.websocket.sockets()[0]


async def frame_reaches(stack, feed, text: str, version: str) -> None:
    await feed.push(text)
    for _ in range(200):
        if await kv(stack, "last") == text:
            break
        await asyncio.sleep(0.02)
    assert await kv(stack, "last") == text and await kv(stack, "handled_by") == version


async def test_an_upgrade_keeps_the_sockets_its_manifest_allows_and_drops_the_rest(hosting, feed):
    stack, site = hosting
    await install_version(stack, site, feed, "1.0.0", ["feed.test"])
    socket = await open_feed(stack, feed)
    await frame_reaches(stack, feed, "one", "1.0.0")
    await install_version(stack, site, feed, "1.1.0", ["feed.test", "other.test"])  # still allows feed.test
    assert stack.platform.websocket.sockets() == [socket] and socket.connects == 1  # the same connection
    await frame_reaches(stack, feed, "two", "1.1.0")  # now handled by the new version
    await install_version(stack, site, feed, "1.2.0", ["other.test"])  # no longer allows it
    await stack.wait_for(lambda: not stack.platform.websocket.sockets(), what="the socket closed")
    await stack.wait_for(lambda: not feed.sockets, what="the upstream saw it go")


async def test_disabling_and_uninstalling_close_the_sockets(hosting, feed):
    stack, site = hosting
    await install_version(stack, site, feed, "1.0.0", ["feed.test"])
    await open_feed(stack, feed)
    records = stack.platform.storage.records
    install = await records.get_install(SERVER, "ticker")
    await records.put_install(InstallRecord(SERVER, "ticker", install.version, install.granted, enabled=False))
    await stack.runner.install_changed(SERVER, "ticker")
    await stack.wait_for(lambda: not stack.platform.websocket.sockets(), what="closed on disable")
    await records.put_install(InstallRecord(SERVER, "ticker", install.version, install.granted, enabled=True))
    await stack.runner.install_changed(SERVER, "ticker")
    await open_feed(stack, feed)  # the plugin opens it again itself
    await installs.uninstall(stack.platform, SERVER, "ticker")
    await stack.wait_for(lambda: not stack.platform.websocket.sockets(), what="closed on uninstall")
    await stack.wait_for(lambda: not feed.sockets, what="the upstream saw it go")


async def test_a_withdrawn_grant_closes_the_socket(hosting, feed):
    stack, site = hosting
    await install_version(stack, site, feed, "1.0.0", ["feed.test"])
    await open_feed(stack, feed)
    await stack.grant(SERVER, "ticker", ["storage:kv"])
    await stack.wait_for(lambda: not stack.platform.websocket.sockets(), what="closed without proxy:websocket")
