"""What prometheus_client's multiprocess mode (``serve --processes N``) costs against one process's registry.

Three figures, each against its single-process baseline measured in the same run:
the cost of one counter increment and one histogram observation on the event path
(in multiprocess mode each writes a memory-mapped file under a lock), and the time
``/metrics`` takes to build its answer (multiprocess: reading every child's files;
here ``--children`` processes that each counted a busy node's label sets).

    .venv/bin/python benchmarks/metrics_multiprocess.py [--children 4] [--increments 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys, time
from maidcore import metrics
n = int(sys.argv[1])
counter = metrics.EVENTS_RECEIVED.labels("message_create")
histogram = metrics.DELIVERY_LATENCY.labels("message_create")
t = time.perf_counter()
for _ in range(n):
    counter.inc()
inc = (time.perf_counter() - t) / n
t = time.perf_counter()
for _ in range(n):
    histogram.observe(0.012)
observe = (time.perf_counter() - t) / n
for plugin in range(int(sys.argv[2])):  # a busy node's label sets: per plugin, per method, per event type
    metrics.WORKER_STARTS.labels(f"plugin-{plugin}").inc()
    metrics.BACKPRESSURE_WAITS.labels(f"plugin-{plugin}").inc()
    for method in ("discord.send_message", "kv.get", "kv.set", "sql.query"):
        metrics.HOST_CALLS.labels(method, "ok").inc()
        metrics.HOST_CALL_LATENCY.labels(method).observe(0.002)
repeats = 20
t = time.perf_counter()
for _ in range(repeats):
    size = len(metrics.exposition())
scrape = (time.perf_counter() - t) / repeats
print(json.dumps({"inc": inc, "observe": observe, "scrape": scrape, "bytes": size}))
"""


def probe(env: dict[str, str], increments: int, plugins: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(increments), str(plugins)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=4)
    parser.add_argument("--increments", type=int, default=200_000)
    parser.add_argument("--plugins", type=int, default=200, help="plugins whose label sets each child holds")
    args = parser.parse_args()
    from maidcore import metrics

    base_env = {k: v for k, v in os.environ.items() if k != metrics.MULTIPROCESS_ENV}
    single = probe(base_env, args.increments, args.plugins)
    with tempfile.TemporaryDirectory() as data_dir:
        directory = metrics.fresh_multiprocess_dir(Path(data_dir))
        env = {**base_env, metrics.MULTIPROCESS_ENV: str(directory)}
        for child in range(args.children - 1):  # the others' files, as children that ran and counted
            probe({**env, metrics.CHILD_ENV: str(child + 1)}, 1000, args.plugins)
        multi = probe({**env, metrics.CHILD_ENV: "0"}, args.increments, args.plugins)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'':32} {'single process':>16} {'multiprocess':>14} {'ratio':>7}")
    for key, label, unit, scale in (
        ("inc", "counter increment", "µs", 1e6),
        ("observe", "histogram observation", "µs", 1e6),
        ("scrape", f"/metrics body ({args.children} children)", "ms", 1e3),
    ):
        a, b = single[key] * scale, multi[key] * scale
        print(f"{label:32} {a:>13.2f} {unit} {b:>11.2f} {unit} {b / a:>6.2f}×")
    print(f"/metrics size: single {single['bytes']} bytes, multiprocess {multi['bytes']} bytes")


if __name__ == "__main__":
    main()
