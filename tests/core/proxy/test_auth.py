"""Secret-backed Authorization: which secret, which header, and the refusals (no capability, unknown, wrong host)."""

from __future__ import annotations

import base64

import pytest

from maidcore.errors import CapabilityDenied, InvalidArgument
from maidcore.proxy.auth import AuthRef, auth_ref, authorization, header_value
from maidcore.scope import Scope

SCOPE = Scope("1", "p")
CAPS = frozenset({"storage:secrets", "proxy:http"})


class Secrets:
    def __init__(self, table):
        self.table = table
        self.asked = []

    async def get_auth(self, scope, name):
        self.asked.append((scope, name))
        return self.table.get(name)


def test_auth_ref_from_the_two_spellings():
    assert auth_ref("TOKEN", None) == AuthRef("bearer", "TOKEN")
    assert auth_ref(None, {"scheme": "Basic", "secret": "PW"}) == AuthRef("basic", "PW")
    assert auth_ref(None, {"secret": "T"}) == AuthRef("bearer", "T")
    assert auth_ref(None, None) is None
    with pytest.raises(InvalidArgument, match="not both"):
        auth_ref("A", {"secret": "B"})
    with pytest.raises(InvalidArgument, match="bearer, token"):
        auth_ref(None, {"scheme": "digest", "secret": "B"})
    with pytest.raises(InvalidArgument, match="name of an auth secret"):
        auth_ref("has space", None)


def test_header_values():
    assert header_value("bearer", "abc") == "Bearer abc"
    assert header_value("token", "abc") == "Token abc"
    assert header_value("basic", "me:pw") == "Basic " + base64.b64encode(b"me:pw").decode()
    with pytest.raises(InvalidArgument, match="user:password"):
        header_value("basic", "no-colon")


async def test_authorization_checks_capability_secret_and_bound_host():
    secrets = Secrets({"API": ("s3cret", ("api.example.com",))})
    ref = AuthRef("bearer", "API")
    got = await authorization(secrets, SCOPE, ref, "API.example.com.", capabilities=CAPS, method="proxy.request")
    assert got == "Bearer s3cret"
    with pytest.raises(CapabilityDenied, match=r"capability storage:secrets is not granted for proxy\.request"):
        await authorization(secrets, SCOPE, ref, "api.example.com", capabilities=frozenset(), method="proxy.request")
    with pytest.raises(CapabilityDenied) as elsewhere:
        await authorization(secrets, SCOPE, ref, "evil.example.com", capabilities=CAPS, method="ws.ensure")
    assert "bound to api.example.com, not evil.example.com" in elsewhere.value.message
    assert "s3cret" not in elsewhere.value.message
    with pytest.raises(InvalidArgument, match="there is no 'NOPE'"):
        await authorization(secrets, SCOPE, AuthRef("bearer", "NOPE"), "api.example.com", capabilities=CAPS, method="m")
