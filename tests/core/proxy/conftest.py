from __future__ import annotations

import pytest

from maidcore.proxy import HttpProxy, StaticResolver
from maidcore.settings import ProxySettings
from tests.core.proxy.upstream import Upstream

# Names the tests resolve without DNS; 127.0.0.1 is the only non-public address let through by default.
NAMES = {
    "api.example.com": ["127.0.0.1"],
    "sub.api.example.com": ["127.0.0.1"],
    "other.example.com": ["127.0.0.1"],
    "second.example.com": ["127.0.0.1"],
    "internal.example.com": ["10.0.0.7"],
    "meta.example.com": ["169.254.169.254"],
    "meta6.example.com": ["fd00:ec2::254"],
    "mapped.example.com": ["::ffff:10.0.0.7"],
    "loop2.example.com": ["127.0.0.2"],
    "cgnat.example.com": ["100.64.1.1"],
    "mixed.example.com": ["127.0.0.1", "10.0.0.7"],
}


@pytest.fixture
async def upstream():
    server = Upstream()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def make_proxy():
    """Build a started proxy: http allowed, only 127.0.0.1 among private addresses, names from NAMES."""
    made: list[HttpProxy] = []

    async def make(resolver=None, **overrides) -> HttpProxy:
        options = {"allow_http": True, "allowed_private_networks": ["127.0.0.1/32"], **overrides}
        proxy = HttpProxy(ProxySettings(**options), resolver=resolver or StaticResolver(NAMES))
        await proxy.start()
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        await proxy.close()


@pytest.fixture
async def proxy(make_proxy):
    return await make_proxy()
