"""PostgreSQL group commit: single statements queued together share one pipeline and one transaction."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("backend", ["postgres"], indirect=True)]


async def test_a_failing_statement_costs_its_batch_a_rerun_and_nothing_twice(storage):
    db = storage.db

    def setup(conn):
        conn.execute("DROP TABLE IF EXISTS pipeline_probe")
        conn.execute("CREATE TABLE pipeline_probe (k int PRIMARY KEY, v int NOT NULL)")
        conn.execute("INSERT INTO pipeline_probe SELECT k, 0 FROM generate_series(1, 3) k")

    await db.run(setup)
    add = "UPDATE pipeline_probe SET v = v + %s WHERE k = %s RETURNING v"
    outcomes = await asyncio.gather(
        db.pipelined(add, (1, 1), 1),
        db.pipelined("UPDATE pipeline_probe SET v = v / 0 WHERE k = %s", (2,), 2),  # fails: aborts the batch
        db.pipelined(add, (10, 3), 3),
        db.pipelined(add, (1, 1), 1),  # the same row twice: in call order
        db.pipelined(add, (1, 99), 99),  # no such row
        return_exceptions=True,
    )
    assert outcomes[0] == (1, (1,)) and outcomes[3] == (1, (2,)) and outcomes[2] == (1, (10,))
    assert isinstance(outcomes[1], psycopg.errors.DivisionByZero)
    assert outcomes[4] == (0, None)
    rows = await db.run(lambda conn: conn.execute("SELECT k, v FROM pipeline_probe ORDER BY k").fetchall())
    assert rows == [(1, 2), (2, 0), (3, 10)]  # each applied exactly once, the failing one not at all
    await db.run(lambda conn: conn.execute("DROP TABLE pipeline_probe"))
