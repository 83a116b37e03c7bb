"""Several ``maidcore serve`` nodes as separate processes sharing one PostgreSQL and one Redis.

Each node has its own data directory; they share the emulator (2 shards), the
database and Redis. The plugin bundle path is shared too (the install is made
through node a's data directory): published bundles in the database are
another lane's work.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import redis

from maidcore.cluster.local import LocalCluster

pytestmark = pytest.mark.slow

PLUGIN = """import time

from yourbot_sdk import Plugin

plugin = Plugin()
TICK_CHANNELS = {tick_channels!r}


@plugin.on_event("message_create")
def on_message(ctx, event):
    content = event.get("content") or ""
    if not event.get("author_bot") and content.startswith("ping "):
        answer = f"pong {{content[5:]}} {{event.get('delivery_id')}}"
        ctx.discord.send_message(channel_id=event["channel_id"], content=answer)
        time.sleep({delay})  # answered, not yet acked: a kill now makes a redelivery


@plugin.schedule(1)
def tick(ctx):
    channel = TICK_CHANNELS.get(ctx.server_id)
    if channel:
        ctx.discord.send_message(channel_id=channel, content="tick")


if __name__ == "__main__":
    plugin.run()
"""


def write_plugin(root: Path, tick_channels: dict[str, str], delay: float) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "id": "clusterping",
        "name": "Cluster ping",
        "version": "1.0.0",
        "description": "Answers ping N with pong N <delivery id>; ticks every second",
        "capabilities_required": ["discord:send_message"],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "__main__.py").write_text(PLUGIN.format(tick_channels=tick_channels, delay=delay))
    return root


class TcpProxy:
    """A TCP relay to Redis the test can cut, as a network partition would."""

    def __init__(self, target: tuple[str, int] | str) -> None:
        self.target = target  # (host, port), or the path of a Unix socket (the embedded PostgreSQL server)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.cut = False
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut:
                client.close()
                continue
            if isinstance(self.target, str):
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(self.target)
            else:
                upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.cut:
                    return  # swallow: a partition drops packets, it does not close connections politely
                dst.sendall(data)
        except OSError:
            return

    def partition(self) -> None:
        self.cut = True

    def close(self) -> None:
        self.cut = True
        self.listener.close()
        for sock in self.sockets:
            sock.close()


# Settings of every test cluster: leases expire in seconds, limits out of the way, no demo install.
FAST_CLUSTER_ENV = {
    "MAIDCORE_CLUSTER__LEASE_SECONDS": "3",
    "MAIDCORE_CLUSTER__RENEW_SECONDS": "0.5",
    "MAIDCORE_CLUSTER__TAKEOVER_GRACE_SECONDS": "1",
    "MAIDCORE_CLUSTER__IDENTIFY_INTERVAL_SECONDS": "0.5",
    "MAIDCORE_RUNNER__MIN_SCHEDULE_INTERVAL_SECONDS": "1",
    "MAIDCORE_LIMITS__DISCORD_ACTIONS_PER_MINUTE": "100000",
    "MAIDCORE_LIMITS__EVENTS_PER_SECOND": "10000",
    "MAIDCORE_DISCORD__DEMO": "false",
    "MAIDCORE_INSTALL_POLL_SECONDS": "0.5",
}


@pytest.fixture
def cluster(tmp_path, pg_fresh_url, redis_url):
    prefix = f"maidcore-test-{uuid.uuid4().hex[:8]}"
    local = LocalCluster(
        tmp_path,
        redis_url=redis_url,
        database_url=pg_fresh_url,
        guilds=2,  # guild 1 on shard 1, guild 2 on shard 0
        shards=2,
        key_prefix=prefix,
        env=FAST_CLUSTER_ENV,
    )
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        local.start_emulator(demo=False)
        yield local, client, prefix
    finally:
        local.close()
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


def proxy_target(url: str, default_port: int) -> tuple[str, int] | str:
    """Where ``url`` connects: (host, port), or the Unix socket a ``?host=/dir`` URL (the embedded server) names."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if query.get("host", "").startswith("/"):
        return f"{query['host']}/.s.PGSQL.{query.get('port', 5432)}"
    return (parts.hostname or "127.0.0.1", parts.port or default_port)


def via_proxy(url: str, port: int) -> str:
    """``url`` reaching its server through the proxy on ``port`` (credentials, path and other options kept)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "host" in query:  # a socket-directory URL: the host and port live in the query
        query.update(host="127.0.0.1", port=str(port))
        return urlunsplit(parts._replace(query=urlencode(query)))
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=(userinfo + "@" if userinfo else "") + f"127.0.0.1:{port}"))


def workers_under(path: Path) -> list[int]:
    """Live processes whose working directory is inside ``path`` (process-backend workers run in their bundle)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if os.readlink(proc / "cwd").startswith(str(path)):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def holder(client: redis.Redis, prefix: str, shard: int) -> str | None:
    value = client.get(f"{prefix}:lease:{shard}")
    return value.rpartition(" ")[0] if value else None


def connected_sessions(local: LocalCluster, shard: int, *, identified_only: bool = False) -> int:
    """Sessions of ``shard`` with a socket attached; ``identified_only`` leaves out one a node resumes to replay it."""
    return sum(
        1
        for s in local.api("sessions")
        if s["shard"][0] == shard and s["connected"] and not (identified_only and s.get("via") == "resume")
    )


def pongs(local: LocalCluster, channel: str) -> dict[int, list[str]]:
    """ping number -> the delivery ids of every answer to it."""
    found: dict[int, list[str]] = defaultdict(list)
    for message in local.messages(channel):
        parts = message["content"].split()
        if len(parts) == 3 and parts[0] == "pong":
            found[int(parts[1])].append(parts[2])
    return found


def install(local: LocalCluster, tmp_path: Path, guilds: list[str], tick_channels: dict[str, str], delay: float):
    bundle = write_plugin(tmp_path / "clusterping", tick_channels, delay)
    for guild in guilds:
        result = local.cli("a", "install", str(bundle), "--server", guild, "--grant-all")
        assert result.returncode == 0, result.stderr


def test_kill_9_mid_burst_loses_no_accepted_event_and_survivors_take_the_shard(cluster, tmp_path):
    local, client, prefix = cluster
    channels = local.guild_channels()
    shard_guild = {(int(g) >> 22) % 2: g for g in channels}
    install(local, tmp_path, list(channels), {}, delay=0.15)
    local.start_node("a")
    local.start_node("b")
    local.wait(lambda: holder(client, prefix, 0) and holder(client, prefix, 1), 60, "both shards held")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "both shards connected")

    victim = holder(client, prefix, 0)
    survivor = "b" if victim == "a" else "a"
    channel = channels[shard_guild[0]]
    stream = f"{prefix}:events:0"

    # a warm-up ping proves the shard serves end to end (the worker is up)
    local.post(channel, "ping 0")
    local.wait(lambda: 0 in pongs(local, channel), 60, "the warm-up ping answered")

    burst = range(1, 81)
    for n in burst:
        local.post(channel, f"ping {n}")

    def recorded_pings() -> int:
        added = int(client.xinfo_stream(stream)["entries-added"])
        answered = sum(len(ids) for ids in pongs(local, channel).values())
        return added - answered - 1  # every pong is recorded after it exists; the warm-up ping is 1

    local.wait(lambda: recorded_pings() >= len(burst), 30, "every burst ping recorded in shard 0's log")
    local.wait(lambda: len(pongs(local, channel)) > 5, 30, "the burst being answered")
    answered_before = len(pongs(local, channel)) - 1
    killed_at = time.monotonic()
    local.kill(victim)
    assert answered_before < len(burst), "the victim answered everything before the kill: make the plugin slower"

    # probes after the kill: the first answered one is when the orphaned shard serves again
    probe = 1000
    first_probe_answer = None
    while time.monotonic() - killed_at < 30 and first_probe_answer is None:
        local.post(channel, f"ping {probe}")
        probe += 1
        time.sleep(0.5)
        if any(n >= 1000 for n in pongs(local, channel)):
            first_probe_answer = time.monotonic() - killed_at
    assert first_probe_answer is not None, "no node served shard 0 within 30 s of the kill"
    assert holder(client, prefix, 0) == survivor
    # what an operator sees: `maidcore cluster status` with a node's settings names the survivor everywhere
    seen = local.cli(survivor, "cluster", "status", "--json")
    assert seen.returncode == 0, seen.stderr
    status = json.loads(seen.stdout)
    assert status["nodes"] == [survivor] and status["free"] == [] and status["shard_count"] == 2
    assert [(s["shard"], s["node"]) for s in status["shards"]] == [(0, survivor), (1, survivor)]
    print(f"failover: first event served on the orphaned shard {first_probe_answer:.1f} s after SIGKILL")
    assert first_probe_answer < 15

    local.wait(lambda: set(burst) <= set(pongs(local, channel)), 60, "every burst ping answered after failover")
    answers = pongs(local, channel)
    for n in burst:
        assert len(set(answers[n])) == 1, f"ping {n} answered with different delivery ids: {answers[n]}"
    redelivered = [n for n in burst if len(answers[n]) > 1]
    print(f"{len(burst)} pings, {answered_before} answered before the kill, {len(redelivered)} answered twice")
    # the victim had pings answered and not acked (the plugin sleeps after answering): delivered again, same id
    assert redelivered, "no event in flight at the kill was delivered again"
    local.wait(lambda: client.xpending(stream, "maidcore")["pending"] == 0, 30, "shard 0's log fully acked")

    # the victim comes back: it gets its shard back, and no shard is ever served twice
    local.start_node(victim)
    local.wait(lambda: holder(client, prefix, 0) == victim or holder(client, prefix, 1) == victim, 60, "hand-back")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "one session per shard")


def test_schedules_fire_once_across_nodes(cluster, tmp_path):
    local, client, prefix = cluster
    channels = local.guild_channels()
    install(local, tmp_path, list(channels), channels, delay=0)
    local.start_node("a")
    local.start_node("b")
    local.wait(lambda: holder(client, prefix, 0) and holder(client, prefix, 1), 60, "both shards held")
    channel = next(iter(channels.values()))
    local.wait(lambda: any(m["content"] == "tick" for m in local.messages(channel)), 60, "the first tick")
    # both nodes run the plugin (so both could tick): a worker on each node, in that node's own copy of the bundle.
    # Workers start on demand (a node whose version registered before starts none until it has work), so a ping on
    # each shard wakes the plugin on both nodes
    for guild in {(int(g) >> 22) % 2: g for g in channels}.values():
        local.post(channels[guild], "ping wake")
    local.wait(lambda: all(workers_under(tmp_path / node) for node in "ab"), 30, "a worker on each node")
    start = len([m for m in local.messages(channel) if m["content"] == "tick"])
    window = 8
    time.sleep(window)
    ticks = len([m for m in local.messages(channel) if m["content"] == "tick"]) - start
    print(f"{ticks} ticks of a 1 s schedule in {window} s on two nodes")
    assert window // 2 <= ticks <= window + 1


@pytest.mark.parametrize("service", ["redis", "postgres"])
def test_a_node_cut_off_from_a_service_stops_serving_and_the_other_takes_over(cluster, tmp_path, redis_url, service):
    local, client, prefix = cluster
    channels = local.guild_channels()
    install(local, tmp_path, list(channels), {}, delay=0)
    setting, url = (
        ("MAIDCORE_CLUSTER__REDIS_URL", redis_url)
        if service == "redis"
        else ("MAIDCORE_STORAGE__DATABASE_URL", local.database_url)
    )
    proxy = TcpProxy(proxy_target(url, 6379 if service == "redis" else 5432))
    try:
        local.env[setting] = via_proxy(url, proxy.port)
        local.env["MAIDCORE_CLUSTER__STORAGE_CHECK_SECONDS"] = "2"
        local.start_node("a")  # the node behind the proxy starts first: it takes both shards
        local.wait(lambda: holder(client, prefix, 0) == "a" and holder(client, prefix, 1) == "a", 60, "a holds all")
        local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "a connected both shards")
        del local.env[setting]
        local.start_node("b")
        local.wait(lambda: "b" in (holder(client, prefix, 0), holder(client, prefix, 1)), 60, "b got a shard back")
        a_shard = 0 if holder(client, prefix, 0) == "a" else 1
        cut_at = time.monotonic()
        proxy.partition()
        worst = 0
        while time.monotonic() - cut_at < 20:
            # the taking node briefly resumes the old session to replay its gap: that is not a second server
            worst = max(worst, connected_sessions(local, a_shard, identified_only=True))
            if holder(client, prefix, a_shard) == "b" and connected_sessions(local, a_shard) == 1:
                break
            time.sleep(0.1)
        assert holder(client, prefix, a_shard) == "b", "b did not take the partitioned node's shard"
        assert worst <= 1, "two nodes served one shard at once"
        took = time.monotonic() - cut_at
        print(f"{service} cut off: the node's shard served by the other node {took:.1f} s after the cut")
        guild = next(g for g in channels if (int(g) >> 22) % 2 == a_shard)
        local.post(channels[guild], "ping 7")
        local.wait(lambda: 7 in pongs(local, channels[guild]), 30, "the shard answering on b")
        time.sleep(1)
        assert len(pongs(local, channels[guild])[7]) == 1
    finally:
        proxy.close()
