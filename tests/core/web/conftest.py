from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestClient, TestServer

from maidcore.marketplace.tokens import create_token
from maidcore.records import Role
from maidcore.web import create_app
from tests.core.marketplace.platforms import open_platform

SERVER = "111111111111111111"
OTHER = "222222222222222222"


@pytest.fixture
async def platform(request, tmp_path):
    """Real storage: SQLite in a temp dir, or (``indirect`` param "postgres") a fresh PostgreSQL database."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        p = await open_platform(tmp_path / "data")
        yield p
        await p.close()
        return
    import psycopg

    admin_url = request.getfixturevalue("postgres_url")
    name = f"maidcore_web_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        p = await open_platform(tmp_path / "data", storage={"database_url": admin_url.rsplit("/", 1)[0] + "/" + name})
        yield p
        await p.close()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def client(platform):
    client = TestClient(TestServer(create_app(platform)))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def tokens(platform):
    """One token per kind of caller."""
    out = {}
    for name, role, subject in [
        ("admin", Role.ADMIN, "root"),
        ("jane", Role.DEVELOPER, "jane"),
        ("mallory", Role.DEVELOPER, "mallory"),
        ("server_admin", Role.SERVER_ADMIN, SERVER),
        ("other_admin", Role.SERVER_ADMIN, OTHER),
        ("reviewer", Role.REVIEWER, "rita"),
    ]:
        token, _ = await create_token(platform.records, role, subject)
        out[name] = {"Authorization": f"Bearer {token}"}
    out["anonymous"] = {}
    return out
