"""Hostile HTTP bodies: every route that takes a body answers 400/413 with a reason, never 500, and
the API keeps serving the well-behaved caller beside the attacker (checked after every attack)."""

from __future__ import annotations

import json

import pytest

from tests.core.web.conftest import SERVER, client, platform, tokens  # noqa: F401 (fixtures)
from tests.core.web.test_api import SHOWN, world  # noqa: F401 (fixture)

JSON = {"Content-Type": "application/json"}
# (path, caller) of every route that reads a JSON body; each names something real, so a good body works
BODY_ROUTES = [
    ("/api/plugins/dice_roller/versions/1.0.0/approve", "reviewer"),
    ("/api/plugins/dice_roller/versions/1.0.0/reject", "reviewer"),
    (f"/api/servers/{SERVER}/installs", "server_admin"),
    (f"/api/servers/{SERVER}/installs/dice_roller/grant", "server_admin"),
]

DEEP = 100_000
ATTACKS = [
    ("arrays nested 100,000 deep", b"[" * DEEP + b"]" * DEEP, 413, "over 65536 bytes"),
    ("arrays nested 30,000 deep (under the size cap)", b"[" * 30_000 + b"]" * 30_000, 400, "deeper than 32 levels"),
    ("objects nested 10,000 deep", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400, "deeper than 32 levels"),
    ("objects nested 33 deep", b'{"a":' * 33 + b"1" + b"}" * 33, 400, "deeper than 32 levels"),
    ("a 200 KB body", b'{"note": "' + b"x" * 200_000 + b'"}', 413, "over 65536 bytes"),
    ("truncated JSON", b'{"plugin_id": "dice_roller", "approve": [', 400, "not valid JSON"),
    ("not UTF-8", b'{"note": "\xff\xfe"}', 400, "not UTF-8"),
    ("NaN", b'{"note": NaN}', 400, "NaN is not JSON"),
    ("an array", b"[1, 2, 3]", 400, "must be a JSON object, not list"),
    ("a string", b'"note"', 400, "must be a JSON object, not str"),
    ("a lone surrogate", b'{"note": "\\ud800"}', None, None),  # valid JSON: the route answers as it does
]


async def neighbour_is_served(client, tokens):  # noqa: F811
    """The well-behaved caller: the marketplace answers, the install is still there."""
    r = await client.get("/api/marketplace", headers=tokens["jane"])
    assert r.status == 200 and [p["plugin_id"] for p in await r.json()] == ["dice_roller"]
    r = await client.get(f"/api/servers/{SERVER}/installs", headers=tokens["server_admin"])
    assert r.status == 200 and [i["plugin_id"] for i in await r.json()] == ["dice_roller"]


@pytest.mark.parametrize(("path", "caller"), BODY_ROUTES, ids=[p for p, _ in BODY_ROUTES])
async def test_hostile_json_bodies_are_refused_with_a_reason(client, tokens, world, path, caller):  # noqa: F811
    for name, body, status, reason in ATTACKS:
        r = await client.post(path, data=body, headers={**tokens[caller], **JSON})
        answer = await r.json()
        assert r.status != 500, (name, answer)
        assert "error" in answer or r.status < 400, (name, answer)
        if status is not None:
            assert r.status == status, (name, r.status, answer)
            assert reason in answer["error"], (name, answer)
        await neighbour_is_served(client, tokens)


async def test_an_oversized_body_without_a_length_is_cut_off_while_streaming(client, tokens, world):  # noqa: F811
    async def chunks():
        yield b'{"note": "'
        for _ in range(100):
            yield b"x" * 4096  # 400 KB in all, never declared
        yield b'"}'

    r = await client.post(
        "/api/plugins/dice_roller/versions/1.0.0/reject", data=chunks(), headers={**tokens["reviewer"], **JSON}
    )
    assert r.status == 413
    assert "over 65536 bytes" in (await r.json())["error"]
    await neighbour_is_served(client, tokens)


async def test_a_good_body_still_works_and_a_body_where_none_is_read_is_harmless(client, tokens, world):  # noqa: F811
    r = await client.post(
        f"/api/servers/{SERVER}/installs/dice_roller/grant",
        data=json.dumps({"capabilities": SHOWN}),
        headers={**tokens["server_admin"], **JSON},
    )
    assert r.status == 200, await r.text()
    nested = b"[" * DEEP + b"]" * DEEP
    r = await client.post(
        f"/api/servers/{SERVER}/installs/dice_roller/decline", data=nested, headers={**tokens["server_admin"], **JSON}
    )
    assert r.status in (200, 404, 409), await r.text()  # decline reads no body: there is no pending upgrade
    r = await client.post("/api/plugins", data=b"PK\x03\x04 not a zip", headers={**tokens["jane"], **JSON})
    assert 400 <= r.status < 500 and "error" in await r.json()
    await neighbour_is_served(client, tokens)
