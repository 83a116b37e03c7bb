"""ctx.kv (contract §4.4) on SQLite and PostgreSQL: semantics, limits, isolation, TTLs, atomic counters."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from maidcore_sqlmodel.kv import MAX_KEYS, prefix_upper_bound

from maidcore.errors import InvalidArgument, KvQuotaExceeded
from maidcore.scope import Scope


async def fill(storage, scope: Scope, n: int, *, prefix: str = "fill-", expires_at: float | None = None) -> None:
    """Insert ``n`` keys straight into the table (the quota tests need thousands quickly)."""
    rows = [(scope.server_id, scope.plugin_id, f"{prefix}{i:05d}", "1", expires_at) for i in range(n)]
    sql = storage.db.sql("INSERT INTO kv_entries (server_id, plugin_id, key, value, expires_at) VALUES (?, ?, ?, ?, ?)")

    def insert(conn):
        with storage.db.write(conn):
            if storage.db.dialect == "sqlite":
                conn.executemany(sql, rows)
            else:
                with conn.cursor() as cur:
                    cur.executemany(sql, rows)

    await storage.db.run(insert)


@pytest.mark.parametrize(
    "value", [1, -2.5, "text", "ünïcødé ☃", True, False, [1, [2, {"a": None}]], {"nested": {"list": [1, 2]}}, 0, ""]
)
async def test_put_then_get_returns_the_same_json(storage, scope, value):
    await storage.kv.put(scope, "k", value)
    assert await storage.kv.get(scope, "k") == value


async def test_missing_key_reads_none_and_delete_of_missing_is_a_noop(storage, scope):
    assert await storage.kv.get(scope, "nope") is None
    await storage.kv.delete(scope, "nope")


async def test_put_none_deletes_and_delete_removes(storage, scope):
    await storage.kv.put(scope, "a", 1)
    await storage.kv.put(scope, "a", None)
    assert await storage.kv.get(scope, "a") is None
    await storage.kv.put(scope, "b", 2)
    await storage.kv.delete(scope, "b")
    assert await storage.kv.get(scope, "b") is None
    assert await storage.kv.count(scope, "") == 0


async def test_keys_are_private_to_their_server_and_plugin(storage, scope, other_scope):
    other_plugin = Scope(scope.server_id, scope.plugin_id + "x")
    await storage.kv.put(scope, "shared-name", "mine")
    for stranger in (other_scope, other_plugin):
        assert await storage.kv.get(stranger, "shared-name") is None
        assert await storage.kv.list_keys(stranger, "", 100) == []
        assert await storage.kv.count(stranger, "") == 0
        assert await storage.kv.get_many(stranger, ["shared-name"]) == {}
        await storage.kv.delete(stranger, "shared-name")
        assert await storage.kv.increment(stranger, "shared-name", 1) == 1
    assert await storage.kv.get(scope, "shared-name") == "mine"


async def test_ttl_expires_and_ttl_zero_clears_it(storage, scope):
    await storage.kv.put(scope, "short", "x", ttl_seconds=1)
    await storage.kv.put(scope, "cleared", "y", ttl_seconds=1)
    await storage.kv.put(scope, "cleared", "y2", ttl_seconds=0)
    assert await storage.kv.get(scope, "short") == "x"
    await asyncio.sleep(1.1)
    assert await storage.kv.get(scope, "short") is None
    assert await storage.kv.list_keys(scope, "", 100) == ["cleared"]
    assert await storage.kv.count(scope, "") == 1
    assert await storage.kv.get_many(scope, ["short", "cleared"]) == {"cleared": "y2"}
    assert await storage.kv.sweep() >= 1
    # an expired key is gone for counters too: it starts again at 0, without the old TTL
    assert await storage.kv.increment(scope, "short", 5) == 5


async def test_ttl_must_be_a_non_negative_integer(storage, scope):
    for bad in (-1, 1.5, "10", True):
        with pytest.raises(InvalidArgument, match="ttl_seconds"):
            await storage.kv.put(scope, "k", 1, ttl_seconds=bad)


async def test_increment_semantics(storage, scope):
    kv = storage.kv
    assert await kv.increment(scope, "n", 1) == 1
    assert await kv.increment(scope, "n", 41) == 42
    result = await kv.increment(scope, "n", 0.5)
    assert result == 42.5 and isinstance(result, float)
    ints = await kv.increment(scope, "i", 3)
    assert ints == 3 and isinstance(ints, int)
    assert await kv.decrement(scope, "d", 4) == -4
    assert await kv.decrement(scope, "d") == -5
    assert await kv.increment(scope, "neg", -2) == -2


async def test_increment_inside_a_json_object_creates_missing_objects(storage, scope):
    kv = storage.kv
    await kv.put(scope, "stats", {"name": "bob", "games": {"won": 2}})
    assert await kv.increment(scope, "stats", 1, path="games.won") == 3
    assert await kv.increment(scope, "stats", 2, path="games.lost") == 2
    assert await kv.increment(scope, "stats", 1, path="streak.best.days") == 1
    assert await kv.get(scope, "stats") == {
        "name": "bob",
        "games": {"won": 3, "lost": 2},
        "streak": {"best": {"days": 1}},
    }
    assert await kv.increment(scope, "fresh", 7, path="a.b") == 7
    assert await kv.get(scope, "fresh") == {"a": {"b": 7}}


@pytest.mark.parametrize(
    ("stored", "path", "field"),
    [
        ("text", "", "value"),
        ({"a": 1}, "", "value"),
        ([1], "", "value"),
        (True, "", "value"),
        ({"a": "x"}, "a", "value"),
        ({"a": 5}, "a.b", "path"),
        (3, "a", "value"),
        ({"a": 1}, "a..b", "path"),
    ],
)
async def test_increment_of_a_non_number_is_refused_and_changes_nothing(storage, scope, stored, path, field):
    await storage.kv.put(scope, "k", stored)
    with pytest.raises(InvalidArgument, match=f"invalid {field}"):
        await storage.kv.increment(scope, "k", 1, path=path)
    assert await storage.kv.get(scope, "k") == stored


async def test_increment_amount_must_be_a_finite_number(storage, scope):
    for bad in ("1", None, True, float("nan"), float("inf")):
        with pytest.raises(InvalidArgument, match="amount"):
            await storage.kv.increment(scope, "k", bad)


async def test_increment_keeps_the_ttl(storage, scope):
    await storage.kv.put(scope, "c", 1, ttl_seconds=1)
    assert await storage.kv.increment(scope, "c", 1) == 2
    await asyncio.sleep(1.1)
    assert await storage.kv.get(scope, "c") is None


async def test_concurrent_increments_lose_nothing(storage, scope):
    async def bump(n: int) -> None:
        for _ in range(n):
            await storage.kv.increment(scope, "hits", 1)
            await storage.kv.increment(scope, "obj", 2, path="a.b")

    await asyncio.gather(*(bump(40) for _ in range(6)))
    assert await storage.kv.get(scope, "hits") == 240
    assert await storage.kv.get(scope, "obj") == {"a": {"b": 480}}


async def test_list_is_in_code_point_order_with_prefix_cap_and_paging(storage, scope):
    keys = ["a", "B", "aa", "a/b", "é", "z", "Z", "\U0001f600", "a\u00ff", "ab", "a\U0001f600"]
    for k in keys:
        await storage.kv.put(scope, k, k)
    assert await storage.kv.list_keys(scope, "", 100) == sorted(keys)
    assert await storage.kv.list_keys(scope, "a", 100) == sorted(k for k in keys if k.startswith("a"))
    assert await storage.kv.list_keys(scope, "a", 2) == ["a", "a/b"]
    assert await storage.kv.list_keys(scope, "a", 100, start_after="ab") == ["a\u00ff", "a\U0001f600"]
    assert await storage.kv.list_values(scope, "a", 2, start_after="a") == {"a/b": "a/b", "aa": "aa"}
    assert list(await storage.kv.list_values(scope, "", 100)) == sorted(keys)
    assert await storage.kv.count(scope, "a") == 6


async def test_list_caps_at_100_and_pages_through_everything(storage, scope):
    await fill(storage, scope, 250, prefix="item-")
    await storage.kv.put(scope, "other", 1)
    assert len(await storage.kv.list_keys(scope, "item-", 1000)) == 100
    assert await storage.kv.list_keys(scope, "item-", 0) == ["item-00000"]  # clamped up to 1
    seen, after = [], None
    while True:
        page = await storage.kv.list_keys(scope, "item-", 100, start_after=after)
        if not page:
            break
        seen += page
        after = page[-1]
    assert seen == [f"item-{i:05d}" for i in range(250)]
    assert await storage.kv.count(scope, "item-") == 250  # uncapped
    assert await storage.kv.count(scope, "") == 251


async def test_get_many_and_put_many_limits(storage, scope):
    await storage.kv.put_many(scope, {f"k{i}": i for i in range(25)})
    got = await storage.kv.get_many(scope, [f"k{i}" for i in range(20)] + ["missing"])
    assert got == {f"k{i}": i for i in range(20)}
    with pytest.raises(InvalidArgument, match="keys"):
        await storage.kv.get_many(scope, [f"k{i}" for i in range(51)])
    assert len(await storage.kv.get_many(scope, [f"k{i}" for i in range(50)])) == 25
    with pytest.raises(InvalidArgument, match="entries"):
        await storage.kv.put_many(scope, {f"x{i}": i for i in range(26)})
    assert await storage.kv.count(scope, "x") == 0


async def test_put_many_is_all_or_nothing(storage, scope):
    await storage.kv.put(scope, "keep", "old", ttl_seconds=100)
    with pytest.raises(KvQuotaExceeded):
        await storage.kv.put_many(scope, {"keep": "new", "big": "x" * (70 * 1024)})
    with pytest.raises(InvalidArgument):
        await storage.kv.put_many(scope, {"keep": "new", "": 1})
    assert await storage.kv.get(scope, "keep") == "old"
    assert await storage.kv.get(scope, "big") is None
    # within the quota check: 9,990 stored + 25 new would pass 10,000 -> nothing is written
    await fill(storage, scope, MAX_KEYS - 10)
    with pytest.raises(KvQuotaExceeded):
        await storage.kv.put_many(scope, {**{f"new{i}": i for i in range(24)}, "keep": "new"})
    assert await storage.kv.count(scope, "new") == 0
    assert await storage.kv.get(scope, "keep") == "old"
    await storage.kv.put_many(scope, {"keep": "new", "n1": 1})  # set_many has no TTL: it clears one
    assert await storage.kv.get(scope, "keep") == "new"


async def test_value_size_limit_is_64_kb_of_compact_json(storage, scope):
    exact = "x" * (64 * 1024 - 2)  # the quotes make it exactly 65,536 bytes
    await storage.kv.put(scope, "exact", exact)
    assert await storage.kv.get(scope, "exact") == exact
    with pytest.raises(KvQuotaExceeded) as err:
        await storage.kv.put(scope, "over", exact + "x")
    message = err.value.message.lower()
    assert "kv quota" in message and "quota exceeded" not in message and "65537" in message
    assert err.value.to_rpc()["data"]["code"] == "KV_QUOTA_EXCEEDED"
    multibyte = "é" * (32 * 1024)  # 2 bytes each in UTF-8: over the limit although only 32K characters
    with pytest.raises(KvQuotaExceeded):
        await storage.kv.put(scope, "wide", multibyte)
    await storage.kv.put(scope, "counter", {"pad": "x" * (64 * 1024 - 20)})
    with pytest.raises(KvQuotaExceeded):  # an increment that makes the value too big is refused too
        await storage.kv.increment(scope, "counter", 1, path="new.deeply.nested.count")
    assert await storage.kv.get(scope, "over") is None


async def test_ten_thousand_keys_quota_ignores_expired_keys(storage, scope):
    await fill(storage, scope, MAX_KEYS - 1)
    await fill(storage, scope, 50, prefix="dead-", expires_at=time.time() - 1)
    await storage.kv.put(scope, "last", 1)  # key 10,000: the 50 expired keys do not count
    with pytest.raises(KvQuotaExceeded) as err:
        await storage.kv.put(scope, "one-more", 1)
    assert "10000" in err.value.message
    with pytest.raises(KvQuotaExceeded):
        await storage.kv.increment(scope, "new-counter", 1)
    await storage.kv.put(scope, "last", 2)  # overwriting an existing key is always allowed
    assert await storage.kv.increment(scope, "fill-00001", 1) == 2
    await storage.kv.delete(scope, "last")
    await storage.kv.put(scope, "one-more", 1)
    assert await storage.kv.count(scope, "") == MAX_KEYS


@pytest.mark.parametrize("key", ["", "x" * 257, "nul\x00byte", None, 5])
async def test_bad_keys_are_refused(storage, scope, key):
    with pytest.raises(InvalidArgument, match="invalid key: key is required and must be"):
        await storage.kv.put(scope, key, 1)
    with pytest.raises(InvalidArgument):
        await storage.kv.get(scope, key)
    with pytest.raises(InvalidArgument):
        await storage.kv.increment(scope, key, 1)


async def test_longest_key_is_accepted(storage, scope):
    key = "ü" * 256
    await storage.kv.put(scope, key, 1)
    assert await storage.kv.list_keys(scope, "ü", 10) == [key]


def test_prefix_upper_bound_is_exact():
    assert prefix_upper_bound("ab") == "ac"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\ud7ff") == "\ue000"
    assert prefix_upper_bound("\U0010ffff") is None


async def test_a_failing_write_does_not_undo_the_writes_committed_with_it(storage, scope):
    """On SQLite concurrent writes share one transaction (group commit); each still succeeds or fails alone."""
    await storage.kv.put(scope, "text", "not a number")
    results = await asyncio.gather(
        storage.kv.put(scope, "a", 1),
        storage.kv.increment(scope, "text", 1),  # fails: not a number
        storage.kv.increment(scope, "n", 5),
        storage.kv.put_many(scope, {"b": 2, "c": "x" * (65 * 1024)}),  # fails whole: one value too big
        storage.kv.put(scope, "d", 4, ttl_seconds=60),
        storage.kv.delete(scope, "a-missing"),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] == 5 and results[4] is None and results[5] is None
    assert isinstance(results[1], InvalidArgument) and isinstance(results[3], KvQuotaExceeded)
    assert await storage.kv.get_many(scope, ["a", "b", "c", "d", "n", "text"]) == {
        "a": 1,
        "d": 4,
        "n": 5,
        "text": "not a number",
    }


async def test_calls_after_close_fail_instead_of_hanging(request, backend, tmp_path, scope):
    from maidcore_sqlmodel.storage import SqlModelStorage

    from .conftest import storage_settings

    store = SqlModelStorage(storage_settings(request, backend), tmp_path / "closed")
    await store.start()
    await store.close()
    for call in (store.kv.get(scope, "k"), store.kv.put(scope, "k", 1), store.kv.increment(scope, "k", 1)):
        with pytest.raises(RuntimeError, match="storage layer"):
            await asyncio.wait_for(call, 5)


async def test_integer_counters_keep_python_arithmetic_past_64_bits(storage, scope):
    """Small integer sums are written as plain text; larger ones, floats and bools take the JSON path."""
    kv = storage.kv
    await kv.put(scope, "big", 2**63 - 2)
    assert await kv.increment(scope, "big", 1) == 2**63 - 1
    assert await kv.increment(scope, "big", 1) == 2**63
    assert await kv.increment(scope, "big", 2**70) == 2**63 + 2**70
    assert await kv.get(scope, "big") == 2**63 + 2**70
    assert await kv.decrement(scope, "big", 2**70 + 2**63 + 2**63) == -(2**63)
    await kv.put(scope, "f", 1.5)
    assert await kv.increment(scope, "f", 1) == 2.5
    await kv.put(scope, "whole", 2.0)
    result = await kv.increment(scope, "whole", 1)
    assert result == 3.0 and isinstance(result, float)
    assert isinstance(await kv.get(scope, "whole"), float)


async def test_counters_at_the_edges_of_the_one_statement_sum(storage, scope):
    """PostgreSQL adds integers in SQL up to 18 stored digits and amounts within ±2**62; past that, in Python."""
    kv = storage.kv
    for start, amount in [
        (10**18 - 1, 2**62),
        (-(10**18 - 1), -(2**62)),
        (10**18, 2**62),
        (0, 2**62 + 1),
        (-(2**62), -(2**62)),
        (5, -5),
        (-7, 7),
    ]:
        await kv.put(scope, "n", start, ttl_seconds=3600)
        assert await kv.increment(scope, "n", amount) == start + amount
        assert await kv.get(scope, "n") == start + amount
        assert await kv.increment(scope, "n", 1) == start + amount + 1
    await kv.put(scope, "t", True)
    with pytest.raises(InvalidArgument):
        await kv.increment(scope, "t", 1)
    await kv.put(scope, "s", "12")
    with pytest.raises(InvalidArgument):
        await kv.increment(scope, "s", 1)
    assert await kv.get_many(scope, ["t", "s"]) == {"t": True, "s": "12"}


async def test_concurrent_counters_on_many_keys_in_one_group_commit(storage, scope, backend):
    """Writes queued together (one group commit on SQLite) each count once, failing ones change nothing."""
    kv = storage.kv
    await kv.put(scope, "text", "x")
    calls = []
    for i in range(200):
        calls.append(kv.increment(scope, f"c{i % 7}", 1))
        calls.append(kv.put(scope, f"p{i % 5}", i, ttl_seconds=60 if i % 2 else 0))
        if i % 50 == 0:
            calls.append(kv.increment(scope, "text", 1))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(r, InvalidArgument) for r in results) == 4
    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, InvalidArgument)]
    values = await kv.get_many(scope, [f"c{i}" for i in range(7)] + [f"p{i}" for i in range(5)] + ["text"])
    assert [values[f"c{i}"] for i in range(7)] == [len(range(i, 200, 7)) for i in range(7)]
    if backend == "sqlite":  # one writer, in call order: the last put wins
        assert [values[f"p{i}"] for i in range(5)] == [195 + i for i in range(5)]
    else:  # parallel connections: one of them wins
        assert [values[f"p{i}"] % 5 for i in range(5)] == list(range(5))
    assert values["text"] == "x"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # group commit is SQLite's write path
async def test_a_write_that_ends_the_group_transaction_fails_the_whole_group(storage, scope, backend):
    """If SQLite rolls the shared transaction back (disk full, I/O error), no write of the group is acknowledged."""
    db = storage.db

    def lose_transaction(conn):
        conn.execute("ROLLBACK")  # what SQLite does on its own after SQLITE_FULL or SQLITE_IOERR
        raise OSError("disk full")

    # Hold the writer thread in a turn of its own so that the three writes below, queued
    # meanwhile (possibly over several loop iterations), are all taken into its next turn.
    gate = threading.Event()
    held = db.batched(lambda conn: gate.wait(10), write=True)
    await asyncio.sleep(0.05)
    group = asyncio.gather(
        storage.kv.put(scope, "a", 1),
        db.batched(lose_transaction, write=True),
        storage.kv.increment(scope, "b", 1),
        return_exceptions=True,
    )
    await asyncio.sleep(0.3)
    gate.set()
    assert await held is True
    results = await group
    assert all(isinstance(r, OSError) for r in results), results
    assert await storage.kv.get_many(scope, ["a", "b"]) == {}
    assert await storage.kv.increment(scope, "b", 1) == 1  # the writer lives on
