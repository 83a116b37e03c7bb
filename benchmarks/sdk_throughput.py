"""Benchmark: our SDK (sdk/) against the official yourbot-sdk 0.10.1, hosting the same plugin over pipes.

Both run the same trivial plugin (one KV call per message_create) under the same interpreter behind
the same minimal host, alternately, several rounds; medians are reported with ratios ours/reference.

    .venv/bin/python benchmarks/sdk_throughput.py [--events 10000] [--rounds 3]

Figures: pipelined events/s (at most --window events outstanding), event-to-ack latency p50/p99 with
events paced at --rate per second, idle RSS of the plugin process, and start-to-ready time (process
start until the first event is acknowledged). The official wheel comes from the cached venv of
``tests/official_sdks.py`` (created from PyPI on first use; set MAIDCORE_OFFICIAL_SDK_CACHE to share
one); both SDKs run under that venv's interpreter, ours put first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.official_sdks import NEWEST, official_python  # noqa: E402 - after the path

REF_DIST, REF_VERSION = NEWEST
_REQUEST_ID = re.compile(rb'"id":\s*(\d+)')

PLUGIN = """\
from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    ctx.kv.get("counter")


plugin.run()
"""


class Host:
    """A minimal host: boots the plugin, answers every kv.get at once, timestamps acks."""

    def __init__(self, python: Path, plugin: Path, env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(python), str(plugin)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=plugin.parent,
        )
        self.lock = threading.Lock()
        self.acked: dict[object, float] = {}
        self.ack_event = threading.Condition()
        self.window = threading.Semaphore(0)
        threading.Thread(target=self._read, daemon=True).start()
        self.send(
            {
                "jsonrpc": "2.0",
                "method": "host.boot",
                "params": {
                    "mode": "single",
                    "discord_srv_id": "5",
                    "plugin_id": "bench",
                    "version": "1.0.0",
                    "capabilities": ["storage:kv"],
                },
            }
        )

    def send(self, msg: dict) -> None:
        self.write((json.dumps(msg, separators=(",", ":")) + "\n").encode())

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self.lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def _read(self) -> None:
        """Kept cheap so the host is never what limits either SDK: kv.get is answered from its id alone."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if b'"kv.get"' in line:
                match = _REQUEST_ID.search(line)
                if match:
                    self.write(b'{"jsonrpc":"2.0","id":%s,"result":{"value":null}}\n' % match.group(1))
                    continue
            if b"event.ack" not in line:
                continue  # logs, plugin.register, stray output
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("method") != "event.ack":
                continue
            now = time.perf_counter()
            params = msg["params"]
            ids = params["event_ids"] if "event_ids" in params else [params["event_id"]]
            with self.ack_event:
                for event_id in ids:
                    self.acked[event_id] = now
                self.window.release(len(ids))
                self.ack_event.notify_all()

    @staticmethod
    def event_line(event_id: object) -> bytes:
        params = {"event_id": event_id, "event": {"type": "message_create", "content": "hi"}, "attempt": 1}
        return (json.dumps({"jsonrpc": "2.0", "method": "event.message_create", "params": params}) + "\n").encode()

    def wait_acked(self, ids: list[object], timeout: float = 120, stall: float = 3.0) -> int:
        """Wait until every id is acknowledged; returns how many never were (no progress for ``stall`` s)."""
        deadline = time.monotonic() + timeout
        last_progress, last_count = time.monotonic(), -1
        with self.ack_event:
            while True:
                missing = sum(i not in self.acked for i in ids)
                if not missing:
                    return 0
                now = time.monotonic()
                if missing != last_count:
                    last_progress, last_count = now, missing
                if now > deadline or now - last_progress > stall:
                    return missing
                self.ack_event.wait(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU time the plugin process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def close(self) -> None:
        try:
            self.send({"jsonrpc": "2.0", "method": "host.shutdown", "params": {}})
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def measure(python: Path, plugin: Path, env: dict[str, str], events: int, window: int, rate: float) -> dict:
    host = Host(python, plugin, env)
    try:
        # start-to-ready: first event sent right after boot; ready when it is acknowledged
        host.write(host.event_line("ready"))
        if host.wait_acked(["ready"], timeout=30, stall=30):
            raise RuntimeError("the plugin never acknowledged its first event")
        ready_ms = (host.acked["ready"] - host.started) * 1000
        warm = [f"w{i}" for i in range(500)]
        host.write(b"".join(host.event_line(i) for i in warm))
        host.wait_acked(warm)
        time.sleep(0.5)
        rss = host.rss_kib()

        # pipelined throughput, at most `window` events outstanding
        ids = list(range(events))
        lines = [host.event_line(i) for i in ids]
        host.window = threading.Semaphore(window)  # fresh: warm-up acks released the old one
        sent_at: dict[object, float] = {}
        cpu_start = host.cpu_seconds()
        start = time.perf_counter()
        i = 0
        while i < events:  # as many events as the window allows, up to 64 per write
            host.window.acquire()
            k = 1
            while k < 64 and i + k < events and host.window.acquire(blocking=False):
                k += 1
            now = time.perf_counter()
            for j in range(i, i + k):
                sent_at[ids[j]] = now
            host.write(b"".join(lines[i : i + k]))
            i += k
        lost = host.wait_acked(ids)
        done = [i for i in ids if i in host.acked]
        elapsed = max(host.acked[i] for i in done) - start
        cpu_us = (host.cpu_seconds() - cpu_start) / events * 1e6
        piped = sorted((host.acked[i] - sent_at[i]) * 1000 for i in done)

        # paced latency
        paced_ids = [f"p{i}" for i in range(int(rate * 3))]
        paced_sent: dict[object, float] = {}
        interval = 1.0 / rate
        next_at = time.perf_counter()
        for i in paced_ids:
            while time.perf_counter() < next_at:
                time.sleep(max(0.0, next_at - time.perf_counter()))
            paced_sent[i] = time.perf_counter()
            host.write(host.event_line(i))
            next_at += interval
        lost += host.wait_acked(paced_ids)
        lat = sorted((host.acked[i] - paced_sent[i]) * 1000 for i in paced_ids if i in host.acked)
        return {
            "paced": lat,
            "piped": piped,
            "events_per_s": len(done) / elapsed,
            "lost": lost,
            "cpu_us_per_event": cpu_us,
            "events_per_cpu_s": 1e6 / cpu_us if cpu_us else float("nan"),
            "p50_ms": statistics.median(lat),
            "p99_ms": lat[int(len(lat) * 0.99) - 1],
            "piped_p50_ms": statistics.median(piped),
            "piped_p99_ms": piped[int(len(piped) * 0.99) - 1],
            "idle_rss_kib": rss,
            "ready_ms": ready_ms,
        }
    finally:
        host.close()


ROWS = [
    ("events_per_s", "throughput, events/s (pipelined)", "{:,.0f}", True),
    ("cpu_us_per_event", "plugin CPU per event, µs (pipelined)", "{:.0f}", False),
    ("events_per_cpu_s", "events per plugin CPU-second", "{:,.0f}", True),
    ("p50_ms", "event-to-ack p50, ms (paced)", "{:.3f}", False),
    ("p99_ms", "event-to-ack p99, ms (paced)", "{:.3f}", False),
    ("piped_p50_ms", "event-to-ack p50, ms (pipelined)", "{:.1f}", False),
    ("piped_p99_ms", "event-to-ack p99, ms (pipelined)", "{:.1f}", False),
    ("idle_rss_kib", "idle RSS, KiB", "{:,.0f}", False),
    ("ready_ms", "start-to-ready, ms", "{:.1f}", False),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=1000, help="most events outstanding while pipelining")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s for the paced latency run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    print(f"using {REF_DIST}=={REF_VERSION} (building its venv on first use) ...", file=sys.stderr)
    python = official_python(REF_DIST, REF_VERSION)
    with tempfile.TemporaryDirectory(prefix="sdk-bench-") as tmp:
        plugin = Path(tmp) / "plugin.py"
        plugin.write_text(PLUGIN)
        ours_env = {"PYTHONPATH": str(ROOT / "sdk")}
        ref_env: dict[str, str] = {}
        show = "import yourbot_sdk; print(yourbot_sdk.__file__, yourbot_sdk.__version__)"
        check = subprocess.run([str(python), "-c", show], capture_output=True, text=True, env=ours_env, check=True)
        ref_check = subprocess.run([str(python), "-c", show], capture_output=True, text=True, env=ref_env, check=True)
        assert check.stdout.split()[0].startswith(str(ROOT)), f"ours must come from {ROOT / 'sdk'}: {check.stdout}"
        print(f"interpreter: {python} ({sys.version.split()[0]}), {os.cpu_count()} CPUs")
        print(f"ours:      {check.stdout.strip()}")
        print(f"reference: {ref_check.stdout.strip()}")
        results: dict[str, list[dict]] = {"ours": [], "reference": []}
        for r in range(args.rounds):
            for name, env in (("reference", ref_env), ("ours", ours_env)):
                results[name].append(measure(python, plugin, env, args.events, args.window, args.rate))
                print(f"round {r + 1} {name:9}: {results[name][-1]['events_per_s']:,.0f} events/s", file=sys.stderr)

    setup = f"window {args.window}, paced at {args.rate:g}/s"
    print(f"\n{args.events:,} events per round, {args.rounds} rounds; {setup}")
    print("throughput/CPU/RSS/ready: median of rounds; latencies: percentiles over all rounds' samples")
    from yourbot_sdk import __version__ as ours_version

    print(f"{'metric':36} {'official ' + REF_VERSION:>16} {'ours ' + ours_version:>12} {'ours/ref':>9}")
    for name in results:  # latency percentiles over the samples of all rounds together
        paced = sorted(x for r in results[name] for x in r["paced"])
        piped = sorted(x for r in results[name] for x in r["piped"])
        for r in results[name]:
            r.update(p50_ms=statistics.median(paced), p99_ms=paced[int(len(paced) * 0.99) - 1])
            r.update(piped_p50_ms=statistics.median(piped), piped_p99_ms=piped[int(len(piped) * 0.99) - 1])
    for key, label, fmt, _higher_is_better in ROWS:
        ref = statistics.median(r[key] for r in results["reference"])
        ours = statistics.median(r[key] for r in results["ours"])
        print(f"{label:36} {fmt.format(ref):>16} {fmt.format(ours):>12} {ours / ref:>8.2f}x")
    # Rounds alternate reference/ours, so each round is a pair measured under the same machine load.
    paired = statistics.median(
        o["events_per_s"] / r["events_per_s"] for o, r in zip(results["ours"], results["reference"], strict=True)
    )
    print(f"{'throughput ratio, median of per-round pairs':52} {paired:>8.2f}x")
    for name in ("reference", "ours"):
        lost = sum(r["lost"] for r in results[name])
        if lost:
            print(f"note: {name} never acknowledged {lost} event(s) over all rounds (throughput counts acked events)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
