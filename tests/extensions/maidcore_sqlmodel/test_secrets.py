"""ctx.secrets (§4.9): encrypted at rest, per-server value over the developer default, master key handling."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from maidcore_sqlmodel.secrets import load_master_key
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.errors import InvalidArgument, RpcFailure
from maidcore.scope import Scope

from .conftest import storage_settings


async def raw_rows(storage, scope: Scope) -> list[tuple]:
    sql = storage.db.sql("SELECT server_id, key, nonce, ciphertext FROM secrets WHERE plugin_id = ?")
    return await storage.db.run(lambda conn: conn.execute(sql, (scope.plugin_id,)).fetchall())


async def test_per_server_value_over_the_developer_default(storage, scope, other_scope):
    s = storage.secrets
    assert await s.get(scope, "api_token") is None
    await s.set_default(scope.plugin_id, "api_token", "developer-default")
    assert await s.get(scope, "api_token") == "developer-default"
    await s.set(scope, "api_token", "server-override")
    assert await s.get(scope, "api_token") == "server-override"
    assert await s.get(other_scope, "api_token") == "developer-default"
    await s.delete(scope, "api_token")  # removes only the override
    assert await s.get(scope, "api_token") == "developer-default"
    await s.delete(scope, "api_token")  # no-op
    assert await s.get(Scope(scope.server_id, scope.plugin_id + "x"), "api_token") is None


async def test_values_are_encrypted_at_rest_and_never_in_kv(storage, scope):
    value = "hunter2-" + "é" * 100
    await storage.secrets.set(scope, "password", value)
    rows = await raw_rows(storage, scope)
    assert len(rows) == 1
    assert value.encode() not in bytes(rows[0][3]) and b"hunter2" not in bytes(rows[0][3])
    assert await storage.kv.count(scope, "") == 0
    assert "hunter2" not in repr(storage.secrets)
    db_file = storage.db.url.sqlite_path
    if db_file is not None:
        for path in db_file.parent.glob("maidcore.db*"):
            assert b"hunter2" not in path.read_bytes()


async def test_a_ciphertext_moved_to_another_scope_does_not_decrypt(storage, scope, other_scope):
    await storage.secrets.set(scope, "k", "for scope only")
    await storage.secrets.set(other_scope, "k", "other")
    sql = storage.db.sql(
        "UPDATE secrets SET nonce = ?, ciphertext = ? WHERE plugin_id = ? AND server_id = ? AND key = ?"
    )
    (_server, _key, nonce, ct) = next(r for r in await raw_rows(storage, scope) if r[0] == scope.server_id)

    def move(conn):
        with storage.db.write(conn):
            conn.execute(sql, (bytes(nonce), bytes(ct), other_scope.plugin_id, other_scope.server_id, "k"))

    await storage.db.run(move)
    with pytest.raises(RpcFailure, match="decrypted"):
        await storage.secrets.get(other_scope, "k")


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "slash/no", None])
async def test_bad_keys(storage, scope, key):
    with pytest.raises(InvalidArgument, match="invalid key"):
        await storage.secrets.set(scope, key, "v")


@pytest.mark.parametrize("value", ["", "x" * 4097, 5, None])
async def test_bad_values(storage, scope, value):
    with pytest.raises(InvalidArgument, match="invalid value"):
        await storage.secrets.set(scope, "k", value)
    await storage.secrets.set(scope, "k", "x" * 4096)


def test_master_key_is_generated_once_with_mode_0600(tmp_path):
    key = load_master_key(None, tmp_path)
    path = tmp_path / "secrets.key"
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(None, tmp_path) == key
    configured = base64.b64encode(os.urandom(32)).decode()
    assert load_master_key(configured, tmp_path) == base64.b64decode(configured)
    with pytest.raises(ValueError, match="32 random bytes"):
        load_master_key("c2hvcnQ=", tmp_path)


async def test_configured_key_and_wrong_key(request, backend, scope, tmp_path):
    key = base64.b64encode(os.urandom(32)).decode()
    store = SqlModelStorage(storage_settings(request, backend, secrets_key=key), tmp_path)
    await store.start()
    await store.secrets.set(scope, "k", "v")
    await store.close()
    assert not (tmp_path / "secrets.key").exists()
    other_key = base64.b64encode(os.urandom(32)).decode()
    store = SqlModelStorage(storage_settings(request, backend, secrets_key=other_key), tmp_path)
    await store.start()
    try:
        with pytest.raises(RpcFailure, match="master key"):
            await store.secrets.get(scope, "k")
    finally:
        await store.close()


async def test_auth_secrets_are_domain_bound_and_apart_from_ctx_secrets(storage, scope, other_scope):
    s = storage.secrets
    assert await s.get_auth(scope, "API") is None
    await s.set_auth(scope.plugin_id, "", "API", "developer-token", ["API.example.com", "api.example.com"])
    await s.set_auth(scope.plugin_id, scope.server_id, "API", "server-token", ["api.example.com", "b.example.com"])
    assert await s.get_auth(scope, "API") == ("server-token", ("api.example.com", "b.example.com"))
    assert await s.get_auth(other_scope, "API") == ("developer-token", ("api.example.com",))
    assert await s.get(scope, "API") is None  # ctx.secrets.get never reads an auth secret
    listed = await s.list_auth(scope.plugin_id)
    assert [(i.server_id, i.name, i.hosts) for i in listed] == [
        ("", "API", ("api.example.com",)),
        (scope.server_id, "API", ("api.example.com", "b.example.com")),
    ]
    assert all("token" not in repr(i) for i in listed)
    assert [i.server_id for i in await s.list_auth(scope.plugin_id, scope.server_id)] == [scope.server_id]
    assert await s.delete_auth(scope.plugin_id, scope.server_id, "API") is True
    assert await s.delete_auth(scope.plugin_id, scope.server_id, "API") is False
    assert (await s.get_auth(scope, "API"))[0] == "developer-token"


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ([], "1-20 host names"),
        ("api.example.com", "1-20 host names"),
        (["https://api.example.com"], "has a scheme"),
        (["*.example.com"], "wildcards"),
        (["10.0.0.1"], "IP address"),
        (["localhost"], "two labels"),
    ],
)
async def test_auth_secret_hosts_must_be_bare_host_names(storage, scope, hosts, message):
    with pytest.raises(InvalidArgument, match=message):
        await storage.secrets.set_auth(scope.plugin_id, "", "API", "v", hosts)


async def test_an_auth_secret_whose_hosts_were_edited_in_the_database_does_not_decrypt(storage, scope):
    await storage.secrets.set_auth(scope.plugin_id, scope.server_id, "API", "token", ["api.example.com"])
    sql = storage.db.sql("UPDATE auth_secrets SET hosts = ? WHERE plugin_id = ?")

    def widen(conn):
        with storage.db.write(conn):
            conn.execute(sql, ('["api.example.com", "evil.example.com"]', scope.plugin_id))

    await storage.db.run(widen)
    with pytest.raises(RpcFailure, match="cannot be decrypted"):
        await storage.secrets.get_auth(scope, "API")


async def test_developer_defaults_are_listed_by_key_and_deleted(storage, scope):
    await storage.secrets.set_default(scope.plugin_id, "b_key", "x")
    await storage.secrets.set_default(scope.plugin_id, "a_key", "y")
    await storage.secrets.set(scope, "server_only", "z")
    assert await storage.secrets.list_defaults(scope.plugin_id) == ["a_key", "b_key"]
    await storage.secrets.delete_default(scope.plugin_id, "b_key")
    assert await storage.secrets.list_defaults(scope.plugin_id) == ["a_key"]
    assert await storage.secrets.get(scope, "b_key") is None
