"""``maidcore cluster status`` against a real coordinator (once per engine): holders, tokens, backlog, free shards."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from maidcore.cli import make_cli
from maidcore.cluster.overview import survey
from maidcore.extensions import Extensions


@pytest.fixture(scope="module")
def cli():
    return make_cli(Extensions.load())


async def _invoke(cli, monkeypatch, tmp_path, coord, *args: str):
    monkeypatch.setenv("MAIDCORE_CLUSTER__COORDINATOR_URL", coord.url)
    monkeypatch.setenv("MAIDCORE_CLUSTER__KEY_PREFIX", coord.prefix)
    # the command runs its own event loop: off this test's loop, in a thread
    return await asyncio.to_thread(CliRunner().invoke, cli, ["--data-dir", str(tmp_path), "cluster", "status", *args])


async def test_status_names_holders_tokens_and_unacked_events(coordinators, cli, monkeypatch, tmp_path):
    a, b = coordinators
    await a.heartbeat("node-a", 30)
    await b.heartbeat("node-b", 30)
    first = await a.acquire(0, "node-a", 30)
    assert first is not None
    await a.release(first)
    lease0 = await a.acquire(0, "node-a", 30)  # token 2: the fence counts every holder
    lease1 = await b.acquire(1, "node-b", 10)
    gone = await b.acquire(2, "node-b", 30)  # taken once, then given up: shard 2 is known and free
    await b.release(gone)
    await a.append(lease0, {"t": "MESSAGE_CREATE", "n": 1})
    await a.append(lease0, {"t": "MESSAGE_CREATE", "n": 2})
    await a.read_new(lease0, "node-a", 1, 0.1)  # one handed out, one never read; both unacked
    entry = await b.append(lease1, {"t": "MESSAGE_CREATE", "n": 3})
    await b.ack(1, [entry])

    result = await _invoke(cli, monkeypatch, tmp_path, a, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["nodes"] == ["node-a", "node-b"]
    assert data["shard_count"] == 3
    got = {s["shard"]: (s["node"], s["token"], s["unacked"], s["handed_out"]) for s in data["shards"]}
    assert got == {0: ("node-a", 2, 2, 1), 1: ("node-b", lease1.token, 0, 0), 2: (None, None, 0, 0)}
    left = {s["shard"]: s["expires_in"] for s in data["shards"]}
    assert 20 < left[0] <= 30 and 0 < left[1] <= 10 and left[2] is None
    assert data["free"] == [2] and data["unacked"] == 2
    assert [s["holder_live"] for s in data["shards"]] == [True, True, None]

    table = await _invoke(cli, monkeypatch, tmp_path, a, "--shards", "4")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert "live nodes (2): node-a, node-b" in lines
    row0 = next(line.split() for line in lines if line.startswith("0 "))
    assert row0[:3] == ["0", "node-a", "2"] and row0[4:] == ["2", "1"]
    assert "free shards (2): 2, 3" in lines and "unacked events: 2" in lines

    # a holder whose heartbeat is gone (storage lost, or dying) while its lease still runs is marked
    await b.heartbeat("node-b", 0.05)
    await asyncio.sleep(0.2)
    stale = await _invoke(cli, monkeypatch, tmp_path, a, "--shards", "2")
    row1 = next(line for line in stale.output.splitlines() if line.startswith("1 "))
    assert "node-b (not live)" in row1 and "live nodes (1): node-a" in stale.output

    # a holder whose lease lapses shows up free, with its backlog still counted
    await a.release(lease0)
    later = await survey(b)
    assert later.free == [0, 2] and later.shards[0].unacked == 2


def test_status_without_a_coordinator_says_what_to_set(cli, monkeypatch, tmp_path):
    monkeypatch.delenv("MAIDCORE_CLUSTER__COORDINATOR_URL", raising=False)
    monkeypatch.delenv("MAIDCORE_CLUSTER__REDIS_URL", raising=False)
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "cluster", "status"])
    assert result.exit_code == 1
    assert "no cluster configured: set cluster.coordinator_url" in result.output


@pytest.mark.parametrize(
    ("url", "says"),
    [("redis://127.0.0.1:1/0", "redis://127.0.0.1:1/0 unreachable"), ("postgresql://u:hush@127.0.0.1:1/x", "refused")],
)
def test_status_with_an_unreachable_coordinator_is_one_line(cli, monkeypatch, tmp_path, url, says):
    monkeypatch.setenv("MAIDCORE_CLUSTER__COORDINATOR_URL", url)
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "cluster", "status"])
    assert result.exit_code == 1
    assert says in result.output and "hush" not in result.output
    assert result.output.startswith("Error: cluster coordinator") and len(result.output.strip().splitlines()) == 1


def test_cluster_demo_is_also_cluster_demo_subcommand(cli):
    assert CliRunner().invoke(cli, ["cluster", "demo", "--help"]).exit_code == 0
    assert CliRunner().invoke(cli, ["cluster-demo", "--help"]).exit_code == 0
