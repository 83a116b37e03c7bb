from __future__ import annotations

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
    """Real storage: a fresh database on the session's PostgreSQL server, or (``indirect`` param "sqlite") SQLite."""
    backend = getattr(request, "param", "postgres")
    url = "sqlite://" if backend == "sqlite" else request.getfixturevalue("pg_fresh_url")
    p = await open_platform(tmp_path / "data", storage={"database_url": url})
    yield p
    await p.close()


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
