"""Both coordination engines for the contract tests: open a pair under a fresh prefix, and look inside each.

A test written against ``Coordinator`` runs once per engine (the ``coordinators``
fixture is parametrized with ``ENGINES``); what a test checks inside the engine
(a key's time to live, the size of a shard's log) goes through the helpers here,
one spelling per engine.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from maidcore.cluster.pg_coordinator import PostgresCoordinator
from maidcore.cluster.redis_coordinator import RedisCoordinator

ENGINES = ("redis", "postgresql")
_TABLES = ("nodes", "leases", "seen", "events", "once", "identify", "state", "budget", "due")


@contextlib.asynccontextmanager
async def open_coordinators(request: pytest.FixtureRequest, engine: str, count: int = 2) -> AsyncIterator[list[Any]]:
    """``count`` nodes' coordinators of ``engine`` under one fresh prefix; their keys or rows removed afterwards.

    The engine's service is looked up only now, so a missing Redis skips only the Redis variant.
    """
    prefix = f"maidcore-test-{uuid.uuid4().hex[:8]}"
    if engine == "redis":
        url = request.getfixturevalue("redis_url")
        coords: list[Any] = [RedisCoordinator(url, prefix) for _ in range(count)]
    else:
        url = request.getfixturevalue("coordinator_database")
        coords = [PostgresCoordinator(url, prefix) for _ in range(count)]
    for coord in coords:
        await coord.start()
    try:
        yield coords
    finally:
        await forget(coords[0])
        for coord in coords:
            await coord.close()


async def forget(coord: Any) -> None:
    """Remove everything ``coord``'s cluster (its prefix) wrote."""
    if isinstance(coord, RedisCoordinator):
        keys = [k async for k in coord.r.scan_iter(f"{coord.prefix}:*")]
        if keys:
            await coord.r.delete(*keys)
        return
    async with coord.pool.connection() as conn:
        for table in _TABLES:
            await conn.execute(f"DELETE FROM coord_{table} WHERE cluster = %s", (coord.prefix,))


async def ttl(coord: Any, kind: str, key: str) -> float | None:
    """Seconds ``kind`` (state, budget, once) ``key`` has left; None when there is no such live key."""
    if isinstance(coord, RedisCoordinator):
        ms = await coord.r.pttl(coord.key(kind, key))
        return ms / 1000 if ms > 0 else None
    rows = await coord._rows(
        f"SELECT extract(epoch FROM expires_at - statement_timestamp()) FROM coord_{kind} "
        "WHERE cluster = %s AND key = %s AND expires_at > statement_timestamp()",
        (coord.prefix, key),
    )
    return float(rows[0][0]) if rows else None


async def budgets(coord: Any) -> dict[str, int]:
    """Every live spend counter of ``coord``'s cluster, by key."""
    if isinstance(coord, RedisCoordinator):
        start = len(coord.key("budget", ""))
        return {k[start:]: int(await coord.r.get(k)) async for k in coord.r.scan_iter(coord.key("budget", "*"))}
    rows = await coord._rows(
        "SELECT key, count FROM coord_budget WHERE cluster = %s AND expires_at > statement_timestamp()",
        (coord.prefix,),
    )
    return {key: int(count) for key, count in rows}


async def stored(coord: Any, kind: str) -> int:
    """How many ``kind`` (state, once, budget) keys or rows the engine holds, expired or not."""
    if isinstance(coord, RedisCoordinator):
        return len([k async for k in coord.r.scan_iter(coord.key(kind, "*"), count=1000)])
    rows = await coord._rows(f"SELECT count(*) FROM coord_{kind} WHERE cluster = %s", (coord.prefix,))
    return int(rows[0][0])


async def seen_keys(coord: Any, shard: int) -> int:
    """Source keys the engine remembers for ``shard``."""
    if isinstance(coord, RedisCoordinator):
        return int(await coord.r.zcard(coord.key("seen", shard)))
    rows = await coord._rows("SELECT count(*) FROM coord_seen WHERE cluster = %s AND shard = %s", (coord.prefix, shard))
    return int(rows[0][0])


async def log_length(coord: Any, shard: int) -> int:
    """Entries in ``shard``'s log, handed out or not."""
    if isinstance(coord, RedisCoordinator):
        return int(await coord.r.xlen(coord.key("events", shard)))
    return await coord.log_length(shard)


def set_seen_kept(monkeypatch: pytest.MonkeyPatch, coord: Any, kept: int) -> None:
    """Make ``coord``'s engine keep only the newest ``kept`` source keys per shard."""
    import maidcore.cluster.pg_coordinator as pg
    import maidcore.cluster.redis_coordinator as rc

    monkeypatch.setattr(rc if isinstance(coord, RedisCoordinator) else pg, "SEEN_KEPT", kept)
    monkeypatch.setattr(pg, "SEEN_TRIM", 1)  # PostgreSQL trims every append, as Redis always does


async def logged_records(coord: Any, shard: int) -> list[dict[str, Any]]:
    """The records in ``shard``'s log, oldest first (handed out or not)."""
    if isinstance(coord, RedisCoordinator):
        return [json.loads(fields["r"]) for _, fields in await coord.r.xrange(coord.key("events", shard))]
    rows = await coord._rows(
        "SELECT record FROM coord_events WHERE cluster = %s AND shard = %s ORDER BY id", (coord.prefix, shard)
    )
    return [json.loads(record) for (record,) in rows]
