"""Docker sandbox performance, all measured in one run against the real engine.

    .venv/bin/python benchmarks/docker_sandbox.py [--events 2000] [--starts 15]

Prints: a plain ``docker run --rm`` of the runtime image (the baseline); the first cold
start of a version in a process (it also copies the version's code into its volume);
cold start to first event handled; warm-pool start to first event handled; event
round trip through Docker vs the process backend (p50/p99); memory of an idle worker.
Goals: warm start < 50 ms p50; Docker round-trip overhead < 1 ms p50 over
process; idle worker < 20 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from maidcore_docker.backend import DockerBackend, docker_client
from maidcore_docker.image import ensure_image
from maidcore_docker.settings import DockerSettings
from maidcore_process.backend import ProcessBackend
from maidcore_process.settings import ProcessSettings

from maidcore.layers.sandbox import WorkerSpec

PLUGIN = """
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def handle(ctx, event):
    pass


if __name__ == "__main__":
    plugin.run()
"""

BOOT = {
    "jsonrpc": "2.0",
    "method": "host.boot",
    "params": {
        "mode": "pool",
        "discord_srv_id": "",
        "plugin_id": "bench",
        "version": "1.0.0",
        "capabilities": [],
        "host_scheduler": True,
    },
}


def event(n: int) -> bytes:
    message = {
        "jsonrpc": "2.0",
        "method": "event.message_create",
        "params": {
            "event_id": n,
            "attempt": 1,
            "event": {"type": "message_create", "guild_id": "1", "message_id": str(n), "content": "hi"},
            "discord_srv_id": "1",
            "plugin_id": "bench",
            "version": "1.0.0",
            "capabilities": [],
        },
    }
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


async def until_ack(worker, event_id: int) -> None:
    while True:
        line = await worker.readline()
        if not line:
            raise RuntimeError(f"worker ended before acking event {event_id}")
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("method") == "event.ack":
            params = message.get("params", {})
            if params.get("event_id") == event_id or event_id in params.get("event_ids", []):
                return


async def boot_and_first_event(backend, spec: WorkerSpec) -> tuple[float, object]:
    started = time.perf_counter()
    worker = await backend.spawn(spec)
    await worker.write(json.dumps(BOOT).encode() + b"\n")
    await worker.write(event(0))
    await until_ack(worker, 0)
    return time.perf_counter() - started, worker


async def round_trips(worker, count: int) -> list[float]:
    times = []
    for n in range(1, count + 1):
        started = time.perf_counter()
        await worker.write(event(n))
        await until_ack(worker, n)
        times.append(time.perf_counter() - started)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


async def main(events: int, starts: int) -> None:
    client = docker_client()
    settings = DockerSettings()
    print(f"image: {ensure_image(client, settings)}")
    with tempfile.TemporaryDirectory(prefix="maidcore-bench-") as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        (bundle / "__main__.py").write_text(PLUGIN)
        bundle.chmod(0o755)

        # 1. baseline: docker run --rm of the runtime image (the plugin starts, reads EOF, exits)
        baseline = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run(
                ["docker", "run", "--rm", "-i", "--network", "none", "-v", f"{bundle}:/plugin:ro", settings.image],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                check=True,
            )
            baseline.append(time.perf_counter() - started)

        docker = DockerBackend(settings.model_copy(update={"warm_pool_size": 0}), data_dir=Path(tmp) / "data")
        await docker.start()
        cold = []
        for n in range(starts + 1):
            elapsed, worker = await boot_and_first_event(
                docker, WorkerSpec("bench", "1.0.0", bundle, f"bench-cold-{n}")
            )
            cold.append(elapsed)
            await worker.stop()
        await docker.close()
        first_cold, cold = cold[0], cold[1:]

        docker = DockerBackend(settings.model_copy(update={"warm_pool_size": 1}), data_dir=Path(tmp) / "data")
        await docker.start()
        spec = WorkerSpec("bench", "1.0.0", bundle, "bench-warm")
        warm = []
        for n in range(starts):
            await docker.prewarm(spec)
            await asyncio.sleep(0.3)  # the spare's interpreter has loaded the plugin and waits for host.boot
            elapsed, worker = await boot_and_first_event(docker, WorkerSpec("bench", "1.0.0", bundle, f"bench-w{n}"))
            warm.append(elapsed)
            await worker.stop()
        hits = docker.pool.hits

        _, worker = await boot_and_first_event(docker, WorkerSpec("bench", "1.0.0", bundle, "bench-rt"))
        docker_rt = await round_trips(worker, events)
        await asyncio.sleep(1.0)
        stats = await asyncio.to_thread(client.api.stats, worker.container_id, stream=False)
        memory = stats["memory_stats"]
        detail = memory.get("stats", {})
        usage = memory.get("usage", 0)
        rss = detail.get("total_rss", detail.get("rss", detail.get("anon", 0)))
        working_set = usage - detail.get("total_inactive_file", detail.get("inactive_file", 0))
        await worker.stop()
        await docker.close()

        process = ProcessBackend(ProcessSettings())
        await process.start()
        _, pworker = await boot_and_first_event(process, WorkerSpec("bench", "1.0.0", bundle, "bench-proc"))
        process_rt = await round_trips(pworker, events)
        await pworker.stop()
        await process.close()
    client.close()

    print()
    print(f"{'measurement':44} {'p50':>11} {'p99 / max':>11}")
    print(f"{'docker run --rm (baseline, 5 runs)':44} {ms(statistics.median(baseline))} {ms(max(baseline))}")
    print(f"{'first cold start of a version (fills volume)':44} {ms(first_cold)}")
    print(f"{'cold start to first event handled':44} {ms(pct(cold, 0.5))} {ms(max(cold))}")
    print(
        f"{'warm-pool start to first event handled':44} {ms(pct(warm, 0.5))} {ms(max(warm))}"
        f"  (pool hits {hits}/{starts})"
    )
    print(f"{'event round trip, process backend':44} {ms(pct(process_rt, 0.5))} {ms(pct(process_rt, 0.99))}")
    print(f"{'event round trip, docker backend':44} {ms(pct(docker_rt, 0.5))} {ms(pct(docker_rt, 0.99))}")
    overhead = pct(docker_rt, 0.5) - pct(process_rt, 0.5)
    print()
    print(f"cold start vs docker run --rm:   {pct(cold, 0.5) / statistics.median(baseline):.2f}x")
    print(f"warm start vs docker run --rm:   {pct(warm, 0.5) / statistics.median(baseline):.3f}x   (goal < 50 ms)")
    print(f"docker round-trip overhead p50:  {overhead * 1000:+.3f} ms        (goal < 1 ms)")
    print(
        f"idle worker memory:              rss {rss / 2**20:.1f} MiB, working set {working_set / 2**20:.1f} MiB, "
        f"cgroup usage {usage / 2**20:.1f} MiB   (goal < 20 MB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000, help="round trips per backend")
    parser.add_argument("--starts", type=int, default=15, help="cold and warm starts each")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.starts))
