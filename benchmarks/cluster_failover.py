"""Cluster failover: time from SIGKILL of a node to the first event served on its orphaned shard, and events lost.

Two ``maidcore serve`` nodes (separate processes and data directories, one
PostgreSQL database, one Redis, the standalone emulator with 2 shards). Each
round kills the holder of shard 0 with SIGKILL, then posts a ``ping`` to a
guild of shard 0 every 0.2 s until one is answered (and 5 s more); the victim
is restarted and gets its shard back before the next round. Pings posted while
no node held shard 0 (before the survivor's lease) are "the gap": the report
says how many of them were never answered.

Rounds alternate two modes: ``resume`` (the survivor RESUMEs the dead node's
gateway session from the sequence it recorded and replays the gap) and
``identify only`` (the dead node's resume record is deleted right after the
kill, so the survivor starts a fresh session as before resuming existed).
Baseline in the same run: a cold start, from launching a lone node to its first
answered ping (what an operator restarting a crashed single node waits).

``--coordinator postgresql`` runs the same on PostgreSQL alone (no Redis: the nodes'
coordinator is the database, ``cluster.coordinator_url``).

Usage: ``.venv/bin/python benchmarks/cluster_failover.py [--rounds 4] [--lease-seconds 6] [--coordinator redis]``
(PostgreSQL from ``MAIDCORE_TEST_POSTGRES_URL``, Redis from ``MAIDCORE_TEST_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from maidcore.cluster.local import LocalCluster

PLUGIN = """from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    content = event.get("content") or ""
    if not event.get("author_bot") and content.startswith("ping "):
        ctx.discord.send_message(channel_id=event["channel_id"], content="pong " + content[5:])


if __name__ == "__main__":
    plugin.run()
"""


def first_answer(local: LocalCluster, channel: str, started: float, timeout: float = 90) -> float:
    """Post ``ping <n>`` every 0.2 s until one is answered; seconds from ``started`` to that answer."""
    sent: set[str] = set()
    n = 0
    while time.monotonic() - started < timeout:
        tag = uuid.uuid4().hex[:8]
        local.post(channel, f"ping {tag}")
        sent.add(tag)
        n += 1
        time.sleep(0.2)
        answered = {m["content"][5:] for m in local.messages(channel) if m["content"].startswith("pong ")}
        if answered & sent:
            return time.monotonic() - started
    raise TimeoutError(f"no ping answered within {timeout}s")


def answered_tags(local: LocalCluster, channel: str) -> set[str]:
    return {m["content"][5:] for m in local.messages(channel) if m["content"].startswith("pong ")}


class Coordination:
    """The coordinator's view the benchmark reads (who holds a shard) and edits (the resume record)."""

    def __init__(self, engine: str, url: str, prefix: str) -> None:
        self.engine, self.prefix = engine, prefix
        if engine == "redis":
            self.client = redis.Redis.from_url(url, decode_responses=True)
        else:
            self.conn = psycopg.connect(url, autocommit=True)

    def holder(self, shard: int) -> str | None:
        if self.engine == "redis":
            value = self.client.get(f"{self.prefix}:lease:{shard}")
            return value.rpartition(" ")[0] if value else None
        try:
            row = self.conn.execute(
                "SELECT node FROM coord_leases WHERE cluster = %s AND shard = %s AND node IS NOT NULL"
                " AND expires_at > statement_timestamp()",
                (self.prefix, shard),
            ).fetchone()
        except psycopg.errors.UndefinedTable:  # before the first node created the tables
            return None
        return row[0] if row else None

    def forget_resume(self, shard: int) -> None:
        key = f"event_source.discord:resume:{shard}"
        if self.engine == "redis":
            self.client.delete(f"{self.prefix}:state:{key}")
        else:
            self.conn.execute("DELETE FROM coord_state WHERE cluster = %s AND key = %s", (self.prefix, key))

    def close(self) -> None:
        if self.engine == "redis":
            for key in self.client.scan_iter(f"{self.prefix}:*"):
                self.client.delete(key)
            self.client.close()
        else:
            self.conn.close()


def failover_round(
    local: LocalCluster, coord: Coordination, channel: str, victim: str, resume: bool
) -> tuple[float, int, int]:
    """Kill ``victim`` and ping shard 0 until served again: (seconds to the first answer, gap pings, gap lost)."""
    killed = time.monotonic()
    local.kill(victim)
    if not resume:  # as before resuming existed: the survivor finds no session to resume
        coord.forget_resume(0)
    gap: set[str] = set()
    sent: set[str] = set()
    first = None
    while time.monotonic() - killed < 90:
        tag = uuid.uuid4().hex[:8]
        orphaned = coord.holder(0) in (None, victim)
        local.post(channel, f"ping {tag}")
        sent.add(tag)
        if orphaned:
            gap.add(tag)
        time.sleep(0.2)
        if first is None and answered_tags(local, channel) & sent:
            first = time.monotonic() - killed
        if first is not None and time.monotonic() - killed > first + 5:
            break
    if first is None:
        raise TimeoutError("no ping answered within 90 s of the kill")
    return first, len(gap), len(gap - answered_tags(local, channel))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="kills; odd rounds resume, even ones identify only")
    parser.add_argument("--lease-seconds", type=float, default=6.0)
    parser.add_argument("--renew-seconds", type=float, default=1.5)
    parser.add_argument("--coordinator", choices=["redis", "postgresql"], default="redis")
    args = parser.parse_args()
    pg_url = os.environ.get("MAIDCORE_TEST_POSTGRES_URL", "postgresql://maidcore:maidcore@127.0.0.1:5432/maidcore")
    redis_url = os.environ.get("MAIDCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    db = f"maidcore_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    database_url = urlunsplit(urlsplit(pg_url)._replace(path="/" + db))
    prefix = f"maidcore-bench-{uuid.uuid4().hex[:8]}"
    coord = Coordination(args.coordinator, redis_url if args.coordinator == "redis" else database_url, prefix)
    with tempfile.TemporaryDirectory(prefix="maidcore-failover-") as tmp:
        base = Path(tmp)
        local = LocalCluster(
            base,
            redis_url=redis_url if args.coordinator == "redis" else None,
            database_url=database_url,
            coordinator_url=database_url if args.coordinator == "postgresql" else None,
            guilds=2,
            shards=2,
            key_prefix=prefix,
            env={
                "MAIDCORE_CLUSTER__LEASE_SECONDS": str(args.lease_seconds),
                "MAIDCORE_CLUSTER__RENEW_SECONDS": str(args.renew_seconds),
                "MAIDCORE_DISCORD__DEMO": "false",
                "MAIDCORE_LIMITS__DISCORD_ACTIONS_PER_MINUTE": "100000",
            },
        )
        try:
            local.start_emulator(demo=False)
            channels = local.guild_channels()
            channel0 = next(c for g, c in channels.items() if (int(g) >> 22) % 2 == 0)
            bundle = base / "pinger"
            bundle.mkdir()
            (bundle / "manifest.json").write_text(
                json.dumps(
                    {
                        "id": "pinger",
                        "name": "Pinger",
                        "version": "1.0.0",
                        "description": "answers ping",
                        "capabilities_required": ["discord:send_message"],
                    }
                )
            )
            (bundle / "__main__.py").write_text(PLUGIN)
            for guild in channels:
                result = local.cli("a", "install", str(bundle), "--server", guild, "--grant-all")
                assert result.returncode == 0, result.stderr

            started = time.monotonic()
            local.start_node("a")
            cold = first_answer(local, channel0, started)
            print(f"baseline: cold start of a lone node to its first answered ping: {cold:.2f} s")
            local.start_node("b")
            results: dict[bool, list[tuple[float, int, int]]] = {True: [], False: []}
            for round_no in range(1, args.rounds + 1):
                local.wait(
                    lambda: coord.holder(0) and coord.holder(1) and coord.holder(0) != coord.holder(1),
                    120,
                    "each node holding one shard",
                )
                first_answer(local, channel0, time.monotonic())  # shard 0 serves before the kill
                time.sleep(1)  # its holder recorded the session past that ping
                victim = coord.holder(0)
                assert victim is not None
                resume = round_no % 2 == 1
                took, gap, lost = failover_round(local, coord, channel0, victim, resume)
                results[resume].append((took, gap, lost))
                mode = "resume" if resume else "identify only"
                print(
                    f"round {round_no} ({mode}): SIGKILL of {victim} -> first event served on shard 0 after "
                    f"{took:.2f} s; {gap} pings posted in the gap, {lost} never answered"
                )
                local.start_node(victim)
            for resume in (False, True):
                rounds = results[resume]
                if not rounds:
                    continue
                times = [t for t, _, _ in rounds]
                gap = sum(g for _, g, _ in rounds)
                lost = sum(lost for _, _, lost in rounds)
                mode = "resume" if resume else "identify only (before)"
                print(
                    f"{mode}: failover median {statistics.median(times):.2f} s, max {max(times):.2f} s "
                    f"({statistics.median(times) / cold:.2f}x the cold start); gap events lost {lost}/{gap}"
                    f" over {len(rounds)} rounds (lease {args.lease_seconds:g} s, renew {args.renew_seconds:g} s,"
                    f" coordinator {args.coordinator}, load average {os.getloadavg()[0]:.2f})"
                )
        finally:
            local.close()
            coord.close()
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
