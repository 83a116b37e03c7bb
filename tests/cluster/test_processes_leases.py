"""``maidcore serve --processes 2`` in a cluster: each child holds shards by lease, a killed child's shards move.

One node, two children (``a/0``, ``a/1``), 2 shards, a plugin that answers and
then stays busy before it acks. A burst is recorded in the shard's log, the child
holding shard 0 is SIGKILLed mid-burst; its sibling (or the child the supervisor
restarts) takes shard 0, delivers what the dead child left unacked, and every
ping is answered — redeliveries with the same delivery id. A sampler watches the
emulator's sessions the whole time: never two on one shard.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from .test_multinode import cluster, connected_sessions, holder, install, pongs  # noqa: F401 - fixture by name

pytestmark = pytest.mark.slow


class SessionSampler:
    """The most identified sessions ever seen connected on each shard, sampled every 0.1 s in a thread."""

    def __init__(self, local, shards: int) -> None:
        self.local = local
        self.most = dict.fromkeys(range(shards), 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sessions = self.local.api("sessions")
            except OSError:
                continue
            for shard in self.most:
                # a session the new holder resumes only to replay the gap is the old one, not a second server
                seen = sum(
                    1 for s in sessions if s["shard"][0] == shard and s["connected"] and s.get("via") != "resume"
                )
                self.most[shard] = max(self.most[shard], seen)
            time.sleep(0.1)

    def stop(self) -> dict[int, int]:
        self._stop.set()
        self._thread.join(5)
        return self.most


def test_a_killed_child_s_shards_are_served_again_with_its_unacked_events(cluster, tmp_path):  # noqa: F811
    local, client, prefix = cluster
    channels = local.guild_channels()
    shard_guild = {(int(g) >> 22) % 2: g for g in channels}
    install(local, tmp_path, list(channels), {}, delay=0.15)
    local.start_node("a", "--processes", "2")
    children = {"a/0", "a/1"}
    balanced = lambda: {holder(client, prefix, 0), holder(client, prefix, 1)} == children  # noqa: E731
    local.wait(balanced, 90, "one shard leased by each child")
    local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "both shards connected")
    sampler = SessionSampler(local, 2)
    try:
        victim = holder(client, prefix, 0)
        index = int(victim.rpartition("/")[2])

        def child_pid() -> int | None:
            status = json.loads((local.base_dir / "a" / "status.json").read_text())
            return status["processes"][index]["pid"]

        pid = local.wait(child_pid, 30, "the victim's pid in status.json")
        channel = channels[shard_guild[0]]
        stream = f"{prefix}:events:0"
        local.post(channel, "ping 0")
        local.wait(lambda: 0 in pongs(local, channel), 60, "the warm-up ping answered")

        burst = range(1, 41)
        for n in burst:
            local.post(channel, f"ping {n}")

        def recorded() -> bool:
            answered = sum(len(ids) for ids in pongs(local, channel).values())
            return int(client.xinfo_stream(stream)["entries-added"]) - answered - 1 >= len(burst)

        local.wait(recorded, 30, "every burst ping recorded in shard 0's log")
        local.wait(lambda: len(pongs(local, channel)) > 3, 30, "the burst being answered")
        answered_before = len(pongs(local, channel)) - 1
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        assert answered_before < len(burst), "the child answered everything before the kill: slow the plugin"

        try:
            local.wait(lambda: set(burst) <= set(pongs(local, channel)), 60, "every burst ping answered")
        except TimeoutError:
            print((local.base_dir / "a.log").read_text()[-6000:])
            raise
        print(f"shard 0 served again, burst done {time.monotonic() - killed_at:.1f} s after SIGKILL of {victim}")
        answers = pongs(local, channel)
        for n in burst:
            assert len(set(answers[n])) == 1, f"ping {n} answered with different delivery ids: {answers[n]}"
        redelivered = [n for n in burst if len(answers[n]) > 1]
        print(f"{len(burst)} pings, {answered_before} answered before the kill, {len(redelivered)} answered twice")
        local.wait(lambda: client.xpending(stream, "maidcore")["pending"] == 0, 30, "shard 0's log fully acked")

        # the supervisor restarted the child under the same name: the shards are shared out again
        local.wait(lambda: child_pid() not in (None, pid), 30, "the killed child restarted")
        local.wait(balanced, 60, "one shard leased by each child again")
        local.wait(lambda: all(connected_sessions(local, s) == 1 for s in (0, 1)), 60, "one session per shard")

        def leased() -> list:
            status = json.loads((local.base_dir / "a" / "status.json").read_text())
            return sorted(p["shards"] for p in status["processes"])

        local.wait(lambda: leased() == [[0], [1]], 30, "maidcore status showing each child's leased shard")
        local.post(channel, "ping 99")
        local.wait(lambda: 99 in pongs(local, channel), 30, "shard 0 answering after the hand-back")
    finally:
        most = sampler.stop()
    assert most == {0: 1, 1: 1}, f"two sessions on one shard at once: {most}"
