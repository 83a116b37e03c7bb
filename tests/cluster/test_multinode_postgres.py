"""A cluster on PostgreSQL alone: two ``maidcore serve`` nodes, no Redis anywhere.

The nodes share one PostgreSQL database for storage and coordination
(``cluster.coordinator_url`` = the database's URL; the coordinator's tables live
beside storage's), each has its own data directory. Node a or b holding shard 0
is SIGKILLed mid-burst: the other takes the shard over by lease, delivers what
the dead node left unacked (same delivery ids), and every ping is answered; the
restarted node gets a shard back. ``--processes 2`` on PostgreSQL: a killed
child's shard moves to its sibling with its unacked events. A node cut off from
PostgreSQL (its only service) stops serving and the other takes its shard, never
two sessions on one shard.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

import psycopg
import pytest

from maidcore.cluster.local import LocalCluster

from .test_multinode import FAST_CLUSTER_ENV, TcpProxy, connected_sessions, install, pongs, proxy_target, via_proxy
from .test_processes_leases import SessionSampler

pytestmark = pytest.mark.slow


class Coordination:
    """What the test reads from the coordinator's tables (the nodes' view, through SQL)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.prefix = prefix

    def _one(self, query: str, shard: int) -> tuple | None:
        try:
            return self.conn.execute(query, (self.prefix, shard)).fetchone()
        except psycopg.errors.UndefinedTable:  # no node has started yet: the nodes create the tables
            return None

    def holder(self, shard: int) -> str | None:
        row = self._one(
            "SELECT node FROM coord_leases WHERE cluster = %s AND shard = %s AND node IS NOT NULL "
            "AND expires_at > statement_timestamp()",
            shard,
        )
        return row[0] if row else None

    def recorded(self, shard: int) -> int:
        """Gateway events appended to ``shard``'s log: their source keys (far fewer than the 10,000 kept)."""
        row = self._one("SELECT count(*) FROM coord_seen WHERE cluster = %s AND shard = %s", shard)
        return int(row[0]) if row else 0

    def unacked(self, shard: int) -> int:
        row = self._one("SELECT count(*) FROM coord_events WHERE cluster = %s AND shard = %s", shard)
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def pg_cluster(tmp_path, pg_fresh_url):
    prefix = f"maidcore-test-{uuid.uuid4().hex[:8]}"
    local = LocalCluster(
        tmp_path,
        redis_url=None,
        database_url=pg_fresh_url,
        coordinator_url=pg_fresh_url,
        guilds=2,  # guild 1 on shard 1, guild 2 on shard 0
        shards=2,
        key_prefix=prefix,
        env=FAST_CLUSTER_ENV,
    )
    local.start_emulator(demo=False)
    coordination = None
    try:
        env = local.node_env("a")
        assert env["MAIDCORE_CLUSTER__COORDINATOR_URL"] == pg_fresh_url
        assert env["MAIDCORE_LIMITS__STORAGE_URI"] == pg_fresh_url  # rate limits shared in the database too
        assert not any("REDIS" in key for key in env)  # no Redis at all
        coordination = Coordination(pg_fresh_url, prefix)
        yield local, coordination
    finally:
        local.close()
        if coordination is not None:
            coordination.close()


def test_kill_9_mid_burst_on_a_postgres_only_cluster_loses_no_event(pg_cluster, tmp_path):
    local, coord = pg_cluster
    channels = local.guild_channels()
    shard_guild = {(int(g) >> 22) % 2: g for g in channels}
    install(local, tmp_path, list(channels), {}, delay=0.15)
    local.start_node("a")
    local.start_node("b")
    local.wait(lambda: coord.holder(0) and coord.holder(1), 60, "both shards held")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "both shards connected")
    sampler = SessionSampler(local, 2)
    try:
        victim = coord.holder(0)
        survivor = "b" if victim == "a" else "a"
        channel = channels[shard_guild[0]]
        local.post(channel, "ping 0")
        local.wait(lambda: 0 in pongs(local, channel), 60, "the warm-up ping answered")
        before = coord.recorded(0)

        burst = range(1, 61)
        for n in burst:
            local.post(channel, f"ping {n}")

        def recorded_pings() -> int:  # every pong is recorded too, after it was sent
            return coord.recorded(0) - before - sum(len(ids) for n, ids in pongs(local, channel).items() if n)

        local.wait(lambda: recorded_pings() >= len(burst), 30, "every burst ping recorded in shard 0's log")
        local.wait(lambda: len(pongs(local, channel)) > 5, 30, "the burst being answered")
        answered_before = len(pongs(local, channel)) - 1
        killed_at = time.monotonic()
        local.kill(victim)
        assert answered_before < len(burst), "the victim answered everything before the kill: make the plugin slower"

        local.wait(lambda: set(burst) <= set(pongs(local, channel)), 60, "every burst ping answered after failover")
        took = time.monotonic() - killed_at
        assert coord.holder(0) == survivor
        answers = pongs(local, channel)
        for n in burst:
            assert len(set(answers[n])) == 1, f"ping {n} answered with different delivery ids: {answers[n]}"
        redelivered = [n for n in burst if len(answers[n]) > 1]
        print(f"{len(burst)} pings, {answered_before} answered before the kill, {len(redelivered)} answered twice, ")
        print(f"burst done {took:.1f} s after SIGKILL")
        assert redelivered, "no event in flight at the kill was delivered again"
        local.wait(lambda: coord.unacked(0) == 0, 30, "shard 0's log fully acked")
        seen = local.cli(survivor, "cluster", "status", "--json")  # what an operator sees, from the coordinator
        assert seen.returncode == 0, seen.stderr
        status = json.loads(seen.stdout)
        assert status["nodes"] == [survivor] and status["free"] == []
        assert [(s["shard"], s["node"], s["unacked"]) for s in status["shards"]] == [(0, survivor, 0), (1, survivor, 0)]

        # the victim comes back: it gets a shard back, and no shard is ever served twice
        local.start_node(victim)
        local.wait(lambda: victim in (coord.holder(0), coord.holder(1)), 60, "hand-back")
        local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "one session per shard")
        local.post(channels[shard_guild[1]], "ping 500")
        local.post(channel, "ping 501")
        local.wait(
            lambda: {500, 501} <= set(pongs(local, channel)) | set(pongs(local, channels[shard_guild[1]])),
            30,
            "both shards answering",
        )
    finally:
        most = sampler.stop()
    assert most == {0: 1, 1: 1}, f"two sessions on one shard at once: {most}"


def test_processes_2_on_postgres_moves_a_killed_child_s_shard_with_its_events(pg_cluster, tmp_path):
    local, coord = pg_cluster
    channels = local.guild_channels()
    shard_guild = {(int(g) >> 22) % 2: g for g in channels}
    install(local, tmp_path, list(channels), {}, delay=0.15)
    local.start_node("a", "--processes", "2")
    children = {"a/0", "a/1"}
    local.wait(lambda: {coord.holder(0), coord.holder(1)} == children, 90, "one shard leased by each child")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "both shards connected")
    victim = coord.holder(0)
    index = int(victim.rpartition("/")[2])

    def child_pid() -> int | None:
        status = json.loads((local.base_dir / "a" / "status.json").read_text())
        return status["processes"][index]["pid"]

    pid = local.wait(child_pid, 30, "the victim's pid in status.json")
    channel = channels[shard_guild[0]]
    local.post(channel, "ping 0")
    local.wait(lambda: 0 in pongs(local, channel), 60, "the warm-up ping answered")
    before = coord.recorded(0)
    burst = range(1, 41)
    for n in burst:
        local.post(channel, f"ping {n}")

    def recorded_pings() -> int:
        return coord.recorded(0) - before - sum(len(ids) for n, ids in pongs(local, channel).items() if n)

    local.wait(lambda: recorded_pings() >= len(burst), 30, "every burst ping recorded in shard 0's log")
    local.wait(lambda: len(pongs(local, channel)) > 3, 30, "the burst being answered")
    answered_before = len(pongs(local, channel)) - 1
    os.kill(pid, signal.SIGKILL)
    assert answered_before < len(burst), "the child answered everything before the kill: slow the plugin"
    local.wait(lambda: set(burst) <= set(pongs(local, channel)), 60, "every burst ping answered")
    answers = pongs(local, channel)
    for n in burst:
        assert len(set(answers[n])) == 1, f"ping {n} answered with different delivery ids: {answers[n]}"
    assert [n for n in burst if len(answers[n]) > 1], "no event in flight at the kill was delivered again"
    local.wait(lambda: coord.unacked(0) == 0, 30, "shard 0's log fully acked")
    local.wait(lambda: child_pid() not in (None, pid), 30, "the killed child restarted")
    local.wait(lambda: {coord.holder(0), coord.holder(1)} == children, 60, "one shard leased by each child again")


def test_a_node_cut_off_from_postgres_stops_serving_and_the_other_takes_over(pg_cluster, tmp_path):
    local, coord = pg_cluster
    channels = local.guild_channels()
    install(local, tmp_path, list(channels), {}, delay=0)
    url = local.database_url
    proxy = TcpProxy(proxy_target(url, 5432))
    try:
        # node a reaches its one service, storage and coordinator alike, through the proxy
        local.env["MAIDCORE_STORAGE__DATABASE_URL"] = via_proxy(url, proxy.port)
        local.env["MAIDCORE_CLUSTER__COORDINATOR_URL"] = via_proxy(url, proxy.port)
        local.env["MAIDCORE_CLUSTER__STORAGE_CHECK_SECONDS"] = "2"
        local.start_node("a")  # first: it takes both shards
        local.wait(lambda: coord.holder(0) == "a" and coord.holder(1) == "a", 60, "a holds all")
        local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "a connected both shards")
        del local.env["MAIDCORE_STORAGE__DATABASE_URL"], local.env["MAIDCORE_CLUSTER__COORDINATOR_URL"]
        local.start_node("b")
        local.wait(lambda: "b" in (coord.holder(0), coord.holder(1)), 60, "b got a shard back")
        a_shard = 0 if coord.holder(0) == "a" else 1
        cut_at = time.monotonic()
        proxy.partition()
        worst = 0
        while time.monotonic() - cut_at < 25:
            worst = max(worst, connected_sessions(local, a_shard, identified_only=True))
            if coord.holder(a_shard) == "b" and connected_sessions(local, a_shard) == 1:
                break
            time.sleep(0.1)
        assert coord.holder(a_shard) == "b", "b did not take the partitioned node's shard"
        assert worst <= 1, "two nodes served one shard at once"
        print(f"PostgreSQL cut off: the node's shard served by the other node {time.monotonic() - cut_at:.1f} s later")
        guild = next(g for g in channels if (int(g) >> 22) % 2 == a_shard)
        local.post(channels[guild], "ping 7")
        local.wait(lambda: 7 in pongs(local, channels[guild]), 30, "the shard answering on b")
        time.sleep(1)
        assert len(pongs(local, channels[guild])[7]) == 1
    finally:
        proxy.close()
