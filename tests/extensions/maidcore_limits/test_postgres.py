"""postgresql://: one limit shared by several maidcore processes on a cluster without Redis (``pg_storage``)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from maidcore_limits import LimitsRateLimiter, pg_storage
from maidcore_limits.settings import RateLimitSettings

from maidcore.errors import RpcFailure
from maidcore.layers import Bucket
from maidcore.scope import Scope

ROOT = Path(__file__).resolve().parents[3]
A = Scope("100", "alpha")


@pytest.fixture
def prefix() -> str:
    return f"maidcore-test-{uuid.uuid4().hex[:12]}"


async def test_two_processes_sharing_postgres_enforce_one_limit(coordinator_database, prefix):
    start = time.time() + 2.0  # both processes are up and connected by then
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.extensions.maidcore_limits.hitter",
            coordinator_database,
            prefix,
            str(start),
            "25",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = []
    for proc in procs:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        outputs.append(json.loads(out))
    allowed = [o["allowed"] for o in outputs]
    # 50 attempts against 30 per minute: exactly 30 pass in total, and with at most 25 each, both took part
    assert sum(allowed) == 30, outputs
    assert all(0 < a <= 25 for a in allowed), outputs
    retry = [r for o in outputs for r in o["retry_after"]]
    assert len(retry) == 20 and all(50 < r <= 60.01 for r in retry)


async def test_a_window_is_one_row_with_an_entry_per_unit_and_is_swept_when_over(
    coordinator_database, prefix, monkeypatch
):
    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri=coordinator_database, key_prefix=prefix))
    try:
        await limiter.hit(Bucket.DISCORD, A, 3)
    finally:
        await limiter.close()
    with psycopg.connect(coordinator_database, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT key, cardinality(entries), expires_at - extract(epoch FROM now()) FROM limits_windows "
            "WHERE key LIKE %s",
            (prefix + ":%",),
        ).fetchall()
        assert len(rows) == 1 and "discord/100/alpha" in rows[0][0]
        assert rows[0][1] == 3 and 0 < rows[0][2] <= 60  # one entry per unit of cost, gone after the window
        conn.execute("UPDATE limits_windows SET expires_at = 0 WHERE key = %s", (rows[0][0],))
    monkeypatch.setattr(pg_storage, "SWEEP_SECONDS", 0.0)
    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri=coordinator_database, key_prefix=prefix))
    try:
        await limiter.hit(Bucket.EVENTS, A)  # any call sweeps (at most every SWEEP_SECONDS)
    finally:
        await limiter.close()
    with psycopg.connect(coordinator_database, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM limits_windows WHERE key = %s", (rows[0][0],)).fetchone()[0] == 0


async def test_unreachable_postgres_is_a_clear_error():
    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri="postgresql://u:hunter2@127.0.0.1:1/db"))
    try:
        with pytest.raises(RpcFailure) as info:
            await limiter.hit(Bucket.EVENTS, A)
    finally:
        await limiter.close()
    assert info.value.message.startswith("limiter storage postgresql://u:***@127.0.0.1:1/db is unreachable")
    assert "hunter2" not in info.value.message
