"""The embedded PostgreSQL server: what it costs `maidcore serve` to start, and what it holds in memory when idle.

    .venv/bin/python benchmarks/embedded_server.py [--runs 3] [--idle 5]

Measured side by side in one run, on this machine:

- ``maidcore serve`` (emulator, process backend, no demo plugins) from spawn until it
  writes ``serve.json`` (serving): on a new data directory (cold: initdb) and again on
  the same one (warm), with the embedded server and with SQLite (``database_url =
  "sqlite://"``). What the embedded server adds = warm embedded - warm SQLite.
- The storage layer alone (``SqlModelStorage.start()`` in this process): the same
  four cases without the CLI's imports and the other layers.
- The idle embedded server's memory: the proportional set size (PSS: shared pages
  split between the processes that map them) and the RSS of all its processes after
  ``--idle`` seconds of a running, idle ``serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extensions"))

ROOT = Path(__file__).resolve().parents[1]
MAIDCORE = Path(sys.executable).with_name("maidcore")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir: Path, sqlite: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    env.update(
        MAIDCORE_DATA_DIR=str(data_dir),
        MAIDCORE_DISCORD__EMULATOR_PORT=str(free_port()),
        MAIDCORE_DISCORD__DEMO="false",
        MAIDCORE_INSTALL_POLL_SECONDS="0",
    )
    if sqlite:
        env["MAIDCORE_STORAGE__DATABASE_URL"] = "sqlite://"
    return env


def serve_once(data_dir: Path, sqlite: bool, idle: float = 0.0) -> tuple[float, float, dict[str, int]]:
    """Seconds until serving, seconds to stop, and (with ``idle``) the embedded server's memory meanwhile."""
    marker = data_dir / "serve.json"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(MAIDCORE), "serve", "--sandbox", "process", "--no-web"],
        env=environment(data_dir, sqlite),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    memory: dict[str, int] = {}
    try:
        while not marker.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.005)
        ready = time.perf_counter() - started
        if idle:
            time.sleep(idle)
            memory = postgres_memory(data_dir / "postgres")
            memory["serve_rss"] = rss(proc.pid)
    finally:
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    return ready, time.perf_counter() - stopping, memory


def postgres_memory(pgdata: Path) -> dict[str, int]:
    pss = rss_total = count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if not os.readlink(proc / "cwd").startswith(str(pgdata)):
                continue
            rollup = (proc / "smaps_rollup").read_text()
        except OSError:
            continue
        fields = {line.split(":")[0]: int(line.split()[1]) for line in rollup.splitlines()[1:] if line.endswith("kB")}
        pss += fields.get("Pss", 0) * 1024
        rss_total += fields.get("Rss", 0) * 1024
        count += 1
    return {"processes": count, "pss": pss, "rss": rss_total}


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def storage_start(data_dir: Path, sqlite: bool) -> float:
    from maidcore_sqlmodel.settings import StorageSettings
    from maidcore_sqlmodel.storage import SqlModelStorage

    storage = SqlModelStorage(StorageSettings(database_url="sqlite://" if sqlite else None), data_dir)
    started = time.perf_counter()
    await storage.start()
    took = time.perf_counter() - started
    await storage.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each case (the median is shown)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle serve before measuring memory")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    serve: dict[str, list[float]] = {k: [] for k in ("embedded cold", "embedded warm", "sqlite cold", "sqlite warm")}
    stops: dict[str, list[float]] = {"embedded": [], "sqlite": []}
    layer: dict[str, list[float]] = {k: [] for k in serve}
    memory: dict[str, int] = {}
    for _ in range(args.runs):
        for kind in ("embedded", "sqlite"):
            sqlite = kind == "sqlite"
            with tempfile.TemporaryDirectory() as tmp:
                ready, stop, _ = serve_once(Path(tmp) / "data", sqlite)
                serve[f"{kind} cold"].append(ready)
                ready, stop, _ = serve_once(Path(tmp) / "data", sqlite)
                serve[f"{kind} warm"].append(ready)
                stops[kind].append(stop)
            with tempfile.TemporaryDirectory() as tmp:
                layer[f"{kind} cold"].append(asyncio.run(storage_start(Path(tmp), sqlite)))
                layer[f"{kind} warm"].append(asyncio.run(storage_start(Path(tmp), sqlite)))
    with tempfile.TemporaryDirectory() as tmp:
        serve_once(Path(tmp) / "data", False)
        _, _, memory = serve_once(Path(tmp) / "data", False, idle=args.idle)

    median = {k: statistics.median(v) for k, v in serve.items()}
    layer_median = {k: statistics.median(v) for k, v in layer.items()}
    print(f"maidcore serve start (spawn until serving), median of {args.runs} runs, {os.cpu_count()} CPUs")
    print(f"{'case':<16} {'serve':>8} {'storage.start()':>16}")
    for key in serve:
        print(f"{key:<16} {median[key]:>7.2f}s {layer_median[key]:>15.3f}s")
    added = median["embedded warm"] - median["sqlite warm"]
    print(f"warm start: the embedded server adds {added:+.2f} s to serve (goal: under 1.5 s)")
    print(f"first start (initdb) adds {median['embedded cold'] - median['embedded warm']:+.2f} s once")
    print(
        f"stop (SIGTERM until exit): embedded {statistics.median(stops['embedded']):.2f} s, "
        f"sqlite {statistics.median(stops['sqlite']):.2f} s"
    )
    mib = 1024 * 1024
    print(
        f"idle embedded server after {args.idle:g} s: {memory.get('processes', 0)} processes, "
        f"PSS {memory.get('pss', 0) / mib:.1f} MiB, RSS {memory.get('rss', 0) / mib:.1f} MiB "
        f"(maidcore serve itself: RSS {memory.get('serve_rss', 0) / mib:.1f} MiB)"
    )
    if args.json:
        print(json.dumps({"serve": serve, "storage_start": layer, "stop": stops, "memory": memory}))


if __name__ == "__main__":
    main()
