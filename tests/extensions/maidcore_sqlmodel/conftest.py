"""Fixtures: every storage test runs on SQLite and on PostgreSQL (the embedded server, or the one in
``MAIDCORE_TEST_POSTGRES_URL``), in a database of the session's own (dropped afterwards)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest
from maidcore_sqlmodel.ephemeral import MemoryEphemeral, RedisEphemeral
from maidcore_sqlmodel.pg_ephemeral import PostgresEphemeral
from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.errors import QuotaExceeded
from maidcore.scope import Scope
from tests.services import PostgresForTests


def admin_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


@pytest.fixture(scope="session")
def pg_database(postgres_server: PostgresForTests):
    """A PostgreSQL database of our own for this test session: ``(admin_url, database_url)``."""
    url = postgres_server.create_database(migrated=False)
    yield postgres_server.admin_url, url
    postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def ephemeral_database(postgres_server: PostgresForTests):
    """A database of its own for ``PostgresEphemeral``'s tables (the storage database's schema must match the
    models exactly: ``test_migrated_schema_matches_the_models``)."""
    url = postgres_server.create_database(migrated=False)
    yield url
    postgres_server.drop_database(url)


def storage_settings(request: pytest.FixtureRequest, backend: str, **overrides) -> StorageSettings:
    if backend == "postgres":
        _admin, url = request.getfixturevalue("pg_database")
        return StorageSettings(database_url=url, **overrides)
    return StorageSettings(database_url="sqlite://", **overrides)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def storage(request: pytest.FixtureRequest, backend: str, tmp_path: Path):
    store = SqlModelStorage(storage_settings(request, backend), tmp_path / "data")
    await store.start()
    yield store
    await store.close()


@pytest.fixture
def scope() -> Scope:
    """A scope no other test uses (the PostgreSQL database is shared by the session)."""
    return Scope(server_id=str(uuid.uuid4().int)[:18], plugin_id=f"plugin-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def other_scope(scope: Scope) -> Scope:
    return Scope(server_id=str(uuid.uuid4().int)[:18], plugin_id=scope.plugin_id)


async def outcomes(calls) -> tuple[int, int]:
    """``(admitted, refused with QUOTA_EXCEEDED)`` of concurrent calls; any other error fails the test."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, QuotaExceeded):
            raise r
    refused = sum(isinstance(r, QuotaExceeded) for r in results)
    return len(results) - refused, refused


@contextlib.asynccontextmanager
async def redis_ephemeral_pair(url: str, **options):
    """Two nodes' ``RedisEphemeral`` on one Redis under a fresh prefix, removed afterwards."""
    prefix = f"maidcore-test:{uuid.uuid4().hex}:"
    nodes = [RedisEphemeral(url, prefix=prefix, **options) for _ in range(2)]
    for node in nodes:
        await node.start()
    try:
        yield nodes
    finally:
        keys = [k async for k in nodes[0]._redis.scan_iter(match=prefix + "*")]
        if keys:
            await nodes[0]._redis.delete(*keys)
        for node in nodes:
            await node.close()


@contextlib.asynccontextmanager
async def postgres_ephemeral_pair(url: str, **options):
    """Two nodes' ``PostgresEphemeral`` on one database under a fresh prefix, their rows removed afterwards."""
    prefix = f"maidcore-test:{uuid.uuid4().hex}:"
    nodes = [PostgresEphemeral(url, prefix=prefix, **options) for _ in range(2)]
    for node in nodes:
        await node.start()
    try:
        yield nodes
    finally:
        async with nodes[0]._pool.connection() as conn:
            await conn.execute("DELETE FROM eph_keys WHERE prefix = %s", (prefix,))
            await conn.execute("DELETE FROM eph_tenants WHERE prefix = %s", (prefix,))
        for node in nodes:
            await node.close()


# the engines of ctx.ephemeral that share state between nodes, as fixture parameters
SHARED_EPHEMERAL = [
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("postgres", marks=pytest.mark.postgres),
]
EPHEMERAL_ENGINES = ["memory", *SHARED_EPHEMERAL]


@contextlib.asynccontextmanager
async def ephemeral_pair(request: pytest.FixtureRequest, engine: str, **options):
    """Two nodes' stores on one engine; "memory" is one process's store used twice (it serves one node)."""
    if engine == "memory":
        store = MemoryEphemeral(**options)
        try:
            yield [store, store]
        finally:
            await store.close()
    elif engine == "redis":
        async with redis_ephemeral_pair(request.getfixturevalue("redis_url"), **options) as nodes:
            yield nodes
    else:
        async with postgres_ephemeral_pair(request.getfixturevalue("ephemeral_database"), **options) as nodes:
            yield nodes


async def pg_query(store: PostgresEphemeral, query: str, params) -> list[tuple]:
    async with store._pool.connection() as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()
