"""The HTTP API against the real app and real storage: who may call each route, and what each does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import pytest

from maidcore.marketplace.tokens import revoke
from maidcore.records import DeadLetter, DeniedCall, PluginLog
from maidcore.web.routes import OPENAPI
from tests.core.web.conftest import OTHER, SERVER
from tests.extensions.maidcore_review.bundles import BASE_MAIN, make_zip, manifest, write_plugin, zip_dir

ZIP = {"Content-Type": "application/zip"}
SHOWN = ["discord:send_message", "interaction:respond", "storage:kv"]
ROLES = ("anonymous", "admin", "jane", "mallory", "server_admin", "other_admin", "reviewer")
ANY = set(ROLES) - {"anonymous"}


def bundle_zip(tmp_path: Path, version: str, caps=("discord:send_message", "storage:kv"), main=BASE_MAIN) -> bytes:
    root = write_plugin(
        tmp_path / f"src-{version}",
        manifest_data=manifest(version=version, capabilities_required=list(caps)),
        files={"__main__.py": main},
    )
    return zip_dir(root, tmp_path / f"{version}.zip").read_bytes()


@pytest.fixture
async def world(client, tokens, tmp_path, platform):
    """dice_roller by jane: 1.0.0 published and installed on SERVER."""
    r = await client.post("/api/plugins", data=bundle_zip(tmp_path, "1.0.0"), headers={**tokens["jane"], **ZIP})
    assert r.status == 201, await r.text()
    r = await client.post("/api/plugins/dice_roller/versions/1.0.0/publish", headers=tokens["jane"])
    assert r.status == 200, await r.text()
    r = await client.post(
        f"/api/servers/{SERVER}/installs",
        json={"plugin_id": "dice_roller", "approve": SHOWN},
        headers=tokens["server_admin"],
    )
    assert r.status == 201, await r.text()
    return platform


# (method, path, json body, roles allowed). Requests name things that do not exist where the
# route would change state, so allowed callers get 404/409/400 and nothing changes.
MATRIX = [
    ("GET", "/api/openapi.yaml", None, set(ROLES)),
    ("GET", "/api/status", None, {"admin"}),
    ("POST", "/api/plugins", None, {"admin", "jane", "mallory"}),
    ("GET", "/api/plugins", None, {"admin", "jane", "mallory", "reviewer"}),
    ("GET", "/api/plugins/dice_roller/versions/9.9.9", None, {"admin", "jane", "reviewer"}),
    ("GET", "/api/reviews", None, {"admin", "reviewer"}),
    ("POST", "/api/plugins/dice_roller/versions/9.9.9/approve", {"note": ""}, {"admin", "reviewer"}),
    ("POST", "/api/plugins/dice_roller/versions/9.9.9/reject", {"note": "no"}, {"admin", "reviewer"}),
    ("POST", "/api/plugins/dice_roller/versions/9.9.9/publish", None, {"admin", "jane"}),
    ("GET", "/api/marketplace", None, ANY),
    ("GET", "/api/marketplace/dice_roller", None, ANY),
    ("GET", f"/api/servers/{SERVER}/installs", None, {"admin", "server_admin"}),
    ("POST", f"/api/servers/{SERVER}/installs", {"plugin_id": "nope", "approve": []}, {"admin", "server_admin"}),
    ("POST", f"/api/servers/{SERVER}/installs/nope/grant", {"capabilities": []}, {"admin", "server_admin"}),
    ("POST", f"/api/servers/{SERVER}/installs/nope/decline", None, {"admin", "server_admin"}),
    ("GET", f"/api/servers/{SERVER}/upgrades", None, {"admin", "server_admin"}),
    ("GET", f"/api/servers/{SERVER}/permission-requests", None, {"admin", "server_admin"}),
    ("POST", f"/api/servers/{SERVER}/installs/nope/dismiss", {"capability": "storage:kv"}, {"admin", "server_admin"}),
    ("DELETE", f"/api/servers/{SERVER}/installs/nope", None, {"admin", "server_admin"}),
    ("GET", f"/api/plugins/dice_roller/logs?server_id={SERVER}", None, {"admin", "jane", "server_admin"}),
    ("GET", f"/api/plugins/dice_roller/dead-letters?server_id={SERVER}", None, {"admin", "jane", "server_admin"}),
    ("GET", "/api/plugins/dice_roller/auth-secrets", None, {"admin", "jane"}),
    ("PUT", "/api/plugins/dice_roller/auth-secrets/API", {"value": 1}, {"admin", "jane"}),
    ("DELETE", "/api/plugins/dice_roller/auth-secrets/nope", None, {"admin", "jane"}),
    ("GET", f"/api/servers/{SERVER}/installs/dice_roller/auth-secrets", None, {"admin", "server_admin"}),
    ("PUT", f"/api/servers/{SERVER}/installs/dice_roller/auth-secrets/API", {"hosts": []}, {"admin", "server_admin"}),
    ("DELETE", f"/api/servers/{SERVER}/installs/dice_roller/auth-secrets/nope", None, {"admin", "server_admin"}),
    ("GET", f"/api/servers/{SERVER}/installs/dice_roller/hosts", None, {"admin", "server_admin"}),
    ("DELETE", f"/api/servers/{SERVER}/installs/dice_roller/hosts/ws/x.example.com", None, {"admin", "server_admin"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
async def test_who_may_call_each_route(client, tokens, world, method, path, body, allowed):
    for role in ROLES:
        r = await client.request(method, path, json=body, headers=tokens[role])
        text = await r.text()
        if role in allowed:
            assert r.status not in (401, 403), f"{role} was refused: {r.status} {text}"
        elif role == "anonymous":
            assert r.status == 401, f"anonymous got {r.status}"
            assert "Bearer" in json.loads(text)["error"]
        else:
            assert r.status == 403, f"{role} got {r.status} {text}"
            assert json.loads(text)["error"]
    # nothing the matrix did changed the installed world
    install = await world.records.get_install(SERVER, "dice_roller")
    assert install.version == "1.0.0"


def test_every_route_is_in_the_openapi_file(client):
    app = client.server.app
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None and route.resource.canonical.startswith("/api/")
    }
    text = OPENAPI.read_text()
    documented = set()
    path = None
    for line in text.splitlines():
        if m := re.match(r"^  (/api/\S+):$", line):
            path = m.group(1)
        elif path and (m := re.match(r"^    (get|post|delete|put|patch):$", line)):
            documented.add((m.group(1).upper(), path))
    assert served == documented
    # and every route is in the who-may-call matrix above
    for method, canonical in served:
        pattern = re.compile("^" + "[^/]+".join(re.escape(part) for part in re.split(r"\{\w+\}", canonical)) + "$")
        assert any(m == method and pattern.match(p.split("?")[0]) for m, p, _, _ in MATRIX), (method, canonical)


async def test_the_openapi_file_is_served_without_a_token(client):
    r = await client.get("/api/openapi.yaml")
    assert r.status == 200 and "openapi: 3.1.0" in await r.text()


@pytest.mark.parametrize("platform", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_the_whole_path_over_http(client, tokens, tmp_path, world):
    # marketplace listing shows the capabilities with tiers
    r = await client.get("/api/marketplace", headers=tokens["other_admin"])
    [listing] = await r.json()
    assert listing["plugin_id"] == "dice_roller" and listing["version"] == "1.0.0"
    assert [c["capability"] for c in listing["capabilities"]] == SHOWN
    assert {c["tier"] for c in listing["capabilities"]} == {"Safe"}

    # a version asking for more goes to a reviewer
    read_main = BASE_MAIN.replace("def daily_summary(ctx):\n", "def daily_summary(ctx):\n    ctx.discord.get_guild()\n")
    r = await client.post(
        "/api/plugins",
        data=bundle_zip(tmp_path, "1.1.0", caps=("discord:send_message", "storage:kv", "discord:read"), main=read_main),
        headers={**tokens["jane"], **ZIP},
    )
    body = await r.json()
    assert r.status == 201 and body["status"] == "needs_human_review"
    assert any("new capability discord:read (Safe)" in f["message"] for f in body["findings"])
    r = await client.get("/api/reviews", headers=tokens["reviewer"])
    assert [(v["plugin_id"], v["version"]) for v in await r.json()] == [("dice_roller", "1.1.0")]
    r = await client.post(
        "/api/plugins/dice_roller/versions/1.1.0/approve", json={"note": "fine"}, headers=tokens["reviewer"]
    )
    assert (await r.json())["review_note"] == "approved by rita: fine"
    r = await client.post("/api/plugins/dice_roller/versions/1.1.0/publish", headers=tokens["jane"])
    assert await r.json() == {
        "plugin_id": "dice_roller",
        "version": "1.1.0",
        "status": "published",
        "upgraded": [],
        "pending": [SERVER],
    }

    # the server keeps 1.0.0 and sees the request; granting upgrades it
    r = await client.get(f"/api/servers/{SERVER}/upgrades", headers=tokens["server_admin"])
    [request] = await r.json()
    assert request["pending_version"] == "1.1.0"
    assert request["new_capabilities"] == [{"capability": "discord:read", "tier": "Safe"}]
    r = await client.post(
        f"/api/servers/{SERVER}/installs/dice_roller/grant", json={"capabilities": []}, headers=tokens["server_admin"]
    )
    assert r.status == 400 and "discord:read" in (await r.json())["error"]
    r = await client.post(
        f"/api/servers/{SERVER}/installs/dice_roller/grant",
        json={"capabilities": ["discord:read"]},
        headers=tokens["server_admin"],
    )
    install = await r.json()
    assert install["version"] == "1.1.0" and install["pending_version"] is None and "discord:read" in install["granted"]

    # logs and dead letters
    await world.records.add_logs(
        [PluginLog(SERVER, "dice_roller", "info", "rolled a 4"), PluginLog(OTHER, "dice_roller", "info", "elsewhere")]
    )
    await world.records.add_dead_letter(
        DeadLetter(None, SERVER, "dice_roller", "1.1.0", "ev1", {"type": "message_create"}, 6, "boom")
    )
    r = await client.get("/api/plugins/dice_roller/logs", headers=tokens["server_admin"])
    assert [e["message"] for e in await r.json()] == ["rolled a 4"]  # only their guild
    r = await client.get("/api/plugins/dice_roller/logs", headers=tokens["jane"])
    assert sorted(e["message"] for e in await r.json()) == ["elsewhere", "rolled a 4"]
    r = await client.get("/api/plugins/dice_roller/dead-letters", headers=tokens["jane"])
    [letter] = await r.json()
    assert (letter["event_id"], letter["attempts"], letter["error"]) == ("ev1", 6, "boom")
    r = await client.get("/api/plugins/dice_roller/logs", headers=tokens["other_admin"])
    assert r.status == 404  # not installed on their guild

    # uninstall
    r = await client.delete(f"/api/servers/{SERVER}/installs/dice_roller", headers=tokens["server_admin"])
    assert r.status == 200
    r = await client.get(f"/api/servers/{SERVER}/installs", headers=tokens["server_admin"])
    assert await r.json() == []


async def test_a_developer_sees_and_publishes_only_their_own_plugins(client, tokens, world):
    r = await client.get("/api/plugins", headers=tokens["mallory"])
    assert await r.json() == []
    r = await client.get("/api/plugins", headers=tokens["jane"])
    assert [p["plugin_id"] for p in await r.json()] == ["dice_roller"]
    r = await client.post("/api/plugins/dice_roller/versions/1.0.0/publish", headers=tokens["mallory"])
    assert r.status == 403 and "another developer" in (await r.json())["error"]


async def test_a_server_admin_cannot_touch_another_guild(client, tokens, world):
    r = await client.delete(f"/api/servers/{SERVER}/installs/dice_roller", headers=tokens["other_admin"])
    assert r.status == 403 and SERVER in (await r.json())["error"]
    assert await world.records.get_install(SERVER, "dice_roller") is not None


async def test_an_upload_refused_at_intake_returns_its_findings(client, tokens, tmp_path):
    data = make_zip(tmp_path / "bad.zip", [("../../etc/x", b"x")]).read_bytes()
    r = await client.post("/api/plugins", data=data, headers={**tokens["jane"], **ZIP})
    body = await r.json()
    assert r.status == 422 and [f["code"] for f in body["findings"]] == ["unsafe_path"]


async def test_an_upload_over_10_mb_is_refused_while_streaming(client, tokens):
    r = await client.post("/api/plugins", data=b"\0" * (10 * 1024 * 1024 + 10), headers={**tokens["jane"], **ZIP})
    assert r.status == 413 and "10 MB" in (await r.json())["error"]


async def test_a_revoked_token_is_refused(client, tokens, platform):
    token = tokens["jane"]["Authorization"].split()[1]
    await revoke(platform.records, token)
    r = await client.get("/api/plugins", headers=tokens["jane"])
    assert r.status == 401
    r = await client.get("/api/plugins", headers={"Authorization": "Bearer mc_not-a-real-token"})
    assert r.status == 401


async def test_status_shows_runner_stats_to_admins(client, tokens, platform):
    r = await client.get("/api/status", headers=tokens["admin"])
    assert await r.json() == {"runner": platform.runner.stats()}


async def test_auth_secrets_are_set_listed_and_deleted_never_read_back(client, tokens, world):
    base = f"/api/servers/{SERVER}/installs/dice_roller/auth-secrets"
    r = await client.put(
        "/api/plugins/dice_roller/auth-secrets/API",
        json={"value": "dev-token", "hosts": ["API.example.com"]},
        headers=tokens["jane"],
    )
    assert r.status == 200 and await r.json() == {"name": "API", "server_id": None, "hosts": ["api.example.com"]}
    own = {"value": "own", "hosts": ["api.example.com"]}
    r = await client.put(f"{base}/API", json=own, headers=tokens["server_admin"])
    assert r.status == 200
    r = await client.put(f"{base}/BAD", json={"value": "x", "hosts": ["*.example.com"]}, headers=tokens["server_admin"])
    assert r.status == 400 and "wildcards" in (await r.json())["error"]
    listed = await (await client.get(base, headers=tokens["server_admin"])).json()
    assert [(s["name"], s["server_id"], s["hosts"]) for s in listed] == [
        ("API", SERVER, ["api.example.com"]),
        ("API", None, ["api.example.com"]),
    ]
    assert "own" not in json.dumps(listed) and "dev-token" not in json.dumps(listed)
    from maidcore.scope import Scope

    assert await world.storage.secrets.get_auth(Scope(SERVER, "dice_roller"), "API") == ("own", ("api.example.com",))
    assert (await client.delete(f"{base}/API", headers=tokens["server_admin"])).status == 200
    assert (await client.delete(f"{base}/API", headers=tokens["server_admin"])).status == 404
    assert (await world.storage.secrets.get_auth(Scope(SERVER, "dice_roller"), "API"))[0] == "dev-token"


async def test_approved_hosts_are_listed_and_withdrawn(client, tokens, world):
    from maidcore.records import HostApproval

    await world.records.add_host_approval(HostApproval(SERVER, "dice_roller", "ws", "feed.example.com", "42"))
    base = f"/api/servers/{SERVER}/installs/dice_roller/hosts"
    listed = await (await client.get(base, headers=tokens["server_admin"])).json()
    assert [(h["kind"], h["host"], h["approved_by"]) for h in listed] == [("ws", "feed.example.com", "42")]
    r = await client.delete(f"{base}/ws/feed.example.com", headers=tokens["server_admin"])
    assert r.status == 200 and await r.json() == {"revoked": "feed.example.com", "kind": "ws"}
    assert await world.records.list_host_approvals(server_id=SERVER, plugin_id="dice_roller") == []


async def test_a_bundle_uploads_as_multipart_form_data_too(client, tokens, tmp_path):
    form = aiohttp.FormData()
    form.add_field("note", "ignored")
    form.add_field("bundle", bundle_zip(tmp_path, "1.0.0"), filename="dice.zip", content_type="application/zip")
    r = await client.post("/api/plugins", data=form, headers=tokens["jane"])
    body = await r.json()
    assert r.status == 201 and (body["plugin_id"], body["status"]) == ("dice_roller", "approved")
    form = aiohttp.FormData()
    form.add_field("other", b"x", filename="x.zip")
    r = await client.post("/api/plugins", data=form, headers=tokens["jane"])
    assert r.status == 400 and '"bundle"' in (await r.json())["error"]


async def test_an_install_may_approve_a_subset_and_the_rest_shows_as_permission_requests(
    client, tokens, tmp_path, platform
):
    r = await client.post("/api/plugins", data=bundle_zip(tmp_path, "1.0.0"), headers={**tokens["jane"], **ZIP})
    assert r.status == 201
    await client.post("/api/plugins/dice_roller/versions/1.0.0/publish", headers=tokens["jane"])
    r = await client.post(
        f"/api/servers/{SERVER}/installs",
        json={"plugin_id": "dice_roller", "approve": ["discord:send_message"]},
        headers=tokens["server_admin"],
    )
    assert r.status == 201 and (await r.json())["granted"] == ["discord:send_message"]

    # the runner counted calls the guild did not grant (as the host API does)
    await platform.records.add_denied_calls([DeniedCall(SERVER, "dice_roller", "storage:kv", 4, "kv.get")])
    r = await client.get(f"/api/servers/{SERVER}/permission-requests", headers=tokens["server_admin"])
    [request] = await r.json()
    assert (request["capability"], request["count"], request["last_method"], request["dismissed"]) == (
        "storage:kv",
        4,
        "kv.get",
        False,
    )
    r = await client.get(f"/api/servers/{OTHER}/permission-requests", headers=tokens["server_admin"])
    assert r.status == 403
    dismiss = f"/api/servers/{SERVER}/installs/dice_roller/dismiss"
    r = await client.post(dismiss, json={"capability": "storage:sql"}, headers=tokens["admin"])
    assert r.status == 404
    dismiss = f"/api/servers/{SERVER}/installs/dice_roller/dismiss"
    r = await client.post(dismiss, json={"capability": "storage:kv"}, headers=tokens["admin"])
    assert r.status == 200
    r = await client.get(f"/api/servers/{SERVER}/permission-requests", headers=tokens["server_admin"])
    assert [d["dismissed"] for d in await r.json()] == [True]

    # granting the capability answers the request
    r = await client.post(
        f"/api/servers/{SERVER}/installs/dice_roller/grant",
        json={"capabilities": ["storage:kv"]},
        headers=tokens["server_admin"],
    )
    assert sorted((await r.json())["granted"]) == ["discord:send_message", "storage:kv"]
    r = await client.get(f"/api/servers/{SERVER}/permission-requests", headers=tokens["server_admin"])
    assert await r.json() == []


async def test_an_upload_whose_manifest_is_not_json_is_refused_with_one_finding(client, tokens, tmp_path):
    root = write_plugin(tmp_path / "bad", manifest_text='{"id": "dice_roller",, }')
    r = await client.post(
        "/api/plugins", data=zip_dir(root, tmp_path / "bad.zip").read_bytes(), headers={**tokens["jane"], **ZIP}
    )
    body = await r.json()
    errors = [f for f in body.get("findings", []) if f["severity"] == "error"]
    assert [f["code"] for f in errors] == ["manifest_invalid"], body
    assert "not valid JSON" in errors[0]["message"]
