"""``/metrics`` of ``maidcore serve --processes N`` sums every child (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest
from maidcore_discord.emulator import BOT_USER_ID
from prometheus_client.parser import text_string_to_metric_families

from maidcore import metrics
from tests.core.test_serve import MAIDCORE, ROOT, wait_for
from tests.core.test_serve_processes import USER, two_shard_node


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def total(found: dict, name: str, **labels: str) -> float:
    """Sum of every series of ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls))


CHILD = textwrap.dedent(
    """
    import sys
    from maidcore import metrics

    class Runner:  # what RunnerCollector reads of a runner
        class settings:
            queue_size = 7
        def stats(self):
            return {"workers": [
                {"plugin_id": "p", "in_flight": 1, "waiting": 2, "state": "running", "parked_reason": None},
            ]}

    runner = Runner()
    metrics.RUNNER.bind(runner)
    metrics.HOST_CALLS.labels("discord.send_message", "ok").inc(int(sys.argv[1]))
    metrics.RUNNER.publish(sys.argv[2])
    """
)


def run_child(env: dict[str, str], calls: int, index: int) -> int:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(calls), str(index)], env=env, cwd=ROOT)
    assert proc.wait(60) == 0
    return proc.pid


def scrape_in_process(env: dict[str, str]) -> dict:
    code = "import sys; from maidcore import metrics; sys.stdout.write(metrics.exposition().decode())"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return samples(done.stdout)


def test_multiprocess_exposition_sums_children_and_drops_a_dead_childs_live_gauges(tmp_path):
    directory = metrics.fresh_multiprocess_dir(tmp_path)
    env = {**os.environ, metrics.MULTIPROCESS_ENV: str(directory)}
    first = run_child({**env, metrics.CHILD_ENV: "0"}, 3, 0)
    second = run_child({**env, metrics.CHILD_ENV: "1"}, 4, 1)
    found = scrape_in_process(env)  # a scraper that is no child: only the files
    assert value(found, "maidcore_host_calls_total", method="discord.send_message", outcome="ok") == 7
    # both children exited but were not marked dead: their live gauges still count
    assert value(found, "maidcore_queue_depth", plugin_id="p", state="waiting") == 4  # livesum
    assert value(found, "maidcore_queue_capacity", plugin_id="p") == 7  # livemax: a setting, not summed
    assert value(found, "maidcore_workers", state="running") == 2
    assert value(found, "maidcore_process_resident_memory_bytes", child="0") > 0
    assert value(found, "maidcore_process_resident_memory_bytes", child="1") > 0

    metrics.process_dead(directory, second)
    found = scrape_in_process(env)
    assert value(found, "maidcore_host_calls_total", method="discord.send_message", outcome="ok") == 7  # kept
    assert value(found, "maidcore_workers", state="running") == 1
    assert value(found, "maidcore_queue_depth", plugin_id="p", state="waiting") == 2
    assert value(found, "maidcore_process_resident_memory_bytes", child="1") == 0
    assert value(found, "maidcore_process_cpu_seconds_total", child="1") > 0  # a counter: it stays
    metrics.process_dead(directory, first)

    # the next run starts from an empty directory and leaves nothing of this one
    again = metrics.fresh_multiprocess_dir(tmp_path)
    assert not directory.exists() and list(again.iterdir()) == []


def test_single_process_keeps_the_default_registry(monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROCESS_ENV, raising=False)
    text = metrics.exposition().decode()
    assert "process_cpu_seconds_total" in text or "python_info" in text  # prometheus_client's own collectors
    assert "maidcore_workers_parked" in text


def web_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5):
            return True
    except OSError:
        return False


def scrape(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        return samples(response.read().decode())


@pytest.mark.slow
def test_metrics_of_two_processes_sum_both_children_and_survive_a_kill(tmp_path, pg_fresh_url):
    emulator, channels, env = two_shard_node(tmp_path, pg_fresh_url)
    data_dir = tmp_path / "data"
    url = f"http://127.0.0.1:{env['MAIDCORE_WEB__PORT']}"
    server = subprocess.Popen(
        [str(MAIDCORE), "serve", "--processes", "2", "--sandbox", "process", "--unsafe-no-isolation"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )

    def pongs() -> int:
        def count():
            return sum(
                1
                for channel in channels
                for m in emulator.emu.state.messages.get(channel, {}).values()
                if m["author"]["id"] == BOT_USER_ID and m["content"] == "Pong!"
            )

        return emulator.call(count)

    def ping_answered(channel: str) -> None:
        before = pongs()

        def answered() -> bool:
            emulator.call(emulator.emu.post_message, channel, USER, "!ping")
            return pongs() > before

        wait_for(answered, 60, f"a Pong! in channel {channel}")

    def children() -> list[dict]:
        return json.loads((data_dir / "status.json").read_text())["processes"]

    def sends(found: dict) -> float:
        return value(found, "maidcore_host_calls_total", method="discord.send_message", outcome="ok")

    def settled() -> dict:
        """The scrape once every Pong! in the emulator is counted, twice in a row (late pings may still land)."""
        seen: list[tuple[float, int]] = []
        found: dict = {}

        def counted() -> bool:
            nonlocal found
            found = scrape(url)
            seen.append((sends(found), pongs()))
            return len(seen) >= 2 and seen[-1] == seen[-2] and seen[-1][0] == seen[-1][1]

        try:
            wait_for(counted, 60, "every Pong! counted in /metrics as a send")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last (sends, pongs): {seen[-3:]}") from None
        return found

    try:
        wait_for(lambda: emulator.shards() == {(0, 2), (1, 2)}, 90, "one gateway session per shard")
        wait_for(lambda: web_up(url), 60, "the web API of child 0")
        for channel in channels * 2:
            ping_answered(channel)
        found = settled()  # both children's sends: child 0 alone would show channel 0's only
        wait_for(
            lambda: total(scrape(url), "maidcore_events_delivered_total", outcome="acked") >= pongs(),
            30,
            "every ping's delivery acked in /metrics",
        )
        for index in ("0", "1"):
            assert value(found, "maidcore_process_resident_memory_bytes", child=index) > 0
        wait_for(lambda: value(scrape(url), "maidcore_workers", state="running") == 2, 60, "a worker in each child")

        victim = children()[1]["pid"]
        before = scrape(url)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: children()[1]["pid"] not in (None, victim), 60, "the killed child restarted")
        after = scrape(url)
        for (name, labels), previous in before.items():
            if name.endswith(("_total", "_count", "_sum", "_bucket")):
                assert after.get((name, labels), 0.0) >= previous, f"{name}{dict(labels)} went backwards"
        assert value(after, "maidcore_workers", state="running") <= 2  # the dead child's gauges are gone
        assert list((data_dir / "prometheus").rglob(f"counter_{victim}.db"))  # its counters stay in the totals
        assert not list((data_dir / "prometheus").rglob(f"gauge_live*_{victim}.db"))
        ping_answered(channels[1])  # the restarted child serves shard 1 again
        found = settled()
        assert sends(found) >= sends(before) + 1  # the restarted child's send, on top of the dead one's
        # the restarted child's running worker is published within a second; the dead one's is not counted
        wait_for(lambda: value(scrape(url), "maidcore_workers", state="running") == 2, 60, "two running workers")
        time.sleep(3 * metrics.LIVE_PUBLISH_SECONDS)  # the dead child's worker would be counted again by now
        assert value(scrape(url), "maidcore_workers", state="running") <= 2
        assert value(scrape(url), "maidcore_process_cpu_seconds_total", child="1") >= value(
            before, "maidcore_process_cpu_seconds_total", child="1"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=90)
        print(stderr[-5000:])  # shown when the test fails
        emulator.close()
    assert server.returncode == 0, stderr[-3000:]
    assert list((data_dir / "prometheus").iterdir()) == []  # the run's files are removed at exit
