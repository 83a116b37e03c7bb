"""``maidcore serve --processes N``: N serving processes on one machine, one shard range each.

One event loop tops out at one core, so a node runs N children, each a plain
``maidcore serve`` limited to a static slice of the node's shards (round robin), each
with its own event loop, all sharing the node's database (the embedded PostgreSQL
server is built for several processes; SQLite is not, so N > 1 refuses it). The parent
holds the data directory's lock for them (a child started with ``--supervised-by``
checks that its parent holds it instead of taking it), restarts a child that dies,
stops all of them on SIGINT/SIGTERM, and folds their status files into the one
``maidcore status`` reads.

Without a cluster the split is static (``shard_plan``). With ``cluster.coordinator_url``
each child is a cluster node of its own, ``<node id>/<index>``, taking part in the
shard leases: a dead child's shards go to its siblings (or other nodes) once its
leases expire, and it gets its share back when it returns (``lease_plan``).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maidcore import datadir_lock, metrics

log = logging.getLogger("maidcore.supervisor")

RESTART_BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)  # after the 1st, 2nd, ... crash in a row
STEADY_SECONDS = 60.0  # a child that lived this long starts its crash count over
STOP_GRACE_SECONDS = 30.0  # SIGTERM to SIGKILL for a child that does not stop (at least)
CHILD_CLOSE_MARGIN = 25.0  # a child's close past runner.shutdown_grace_seconds: kills, container removal, storage


def stop_grace(shutdown_grace_seconds: float) -> float:
    """How long a child gets from SIGTERM to SIGKILL: its workers' grace plus its own close, so a longer
    ``runner.shutdown_grace_seconds`` is never cut short by the parent."""
    return max(STOP_GRACE_SECONDS, shutdown_grace_seconds + CHILD_CLOSE_MARGIN)


class SupervisorError(RuntimeError):
    """``--processes`` cannot run with these settings; the message says what to change."""


def shard_plan(shard_ids: list[int] | None, shard_count: int | None, processes: int) -> tuple[int, list[list[int]]]:
    """``(shard_count, shards of each child)``: the node's shards dealt round robin over ``processes``.

    With no ``shard_count`` the node runs ``processes`` shards (one each).
    """
    if processes < 1:
        raise SupervisorError(f"--processes must be 1 or more, not {processes}")
    count = shard_count if shard_count is not None else processes
    ids = sorted(shard_ids) if shard_ids is not None else list(range(count))
    if len(ids) < processes:
        raise SupervisorError(
            f"--processes {processes} needs at least {processes} shards, but this node runs {len(ids)} "
            f"(discord.shard_ids={shard_ids}, discord.shard_count={shard_count}); raise discord.shard_count "
            "or lower --processes"
        )
    return count, [ids[i::processes] for i in range(processes)]


def lease_plan(processes: int) -> list[None]:
    """In a cluster no child is given shards: each takes its share by lease (``None`` = by lease)."""
    if processes < 1:
        raise SupervisorError(f"--processes must be 1 or more, not {processes}")
    return [None] * processes


def child_node_id(node_id: str, index: int) -> str:
    """Child ``index``'s name in the cluster: the node's, with its index, so a restarted child is the same one."""
    return f"{node_id}/{index}"


def refuse_sqlite(database_url: str | None) -> None:
    """Several writers cannot share one SQLite file: ask for PostgreSQL (embedded or external)."""
    if database_url and database_url.split(":", 1)[0].split("+", 1)[0] == "sqlite":
        raise SupervisorError(
            f"--processes > 1 needs a database several processes can write at once, and storage.database_url "
            f"is SQLite ({database_url}); unset it to use the embedded PostgreSQL server, or set a "
            "postgresql:// URL"
        )


def refuse_local_mode(token: object, emulator_url: str | None = None) -> None:
    """Local mode starts an emulator inside the server: N children would start N emulators.

    ``discord.emulator_url`` (an emulator another process runs) is fine: the children share it.
    """
    secret = getattr(token, "get_secret_value", lambda: token or "")()
    if not str(secret).strip() and not emulator_url:
        raise SupervisorError(
            "--processes > 1 needs discord.token: local mode runs an emulator inside each server process; "
            "run one with `python -m maidcore_discord.emulator` and set discord.emulator_url to it, "
            "or use a real bot token"
        )


def child_status_file(data_dir: Path, index: int) -> Path:
    return Path(data_dir) / f"status.{index}.json"


@dataclass
class Child:
    index: int
    shards: list[int] | None  # None: taken by lease (a cluster)
    proc: subprocess.Popen | None = None
    started: float = 0.0
    crashes: int = 0  # in a row
    restarts: int = 0
    due: float = 0.0  # when a crashed child starts again
    history: list[int] = field(default_factory=list)  # exit codes


class Supervisor:
    """Runs the children until ``stop()``; ``run()`` blocks (the parent has nothing else to do)."""

    def __init__(
        self,
        data_dir: Path,
        plan: list[list[int]] | list[None],
        shard_count: int | None,
        serve_args: list[str],
        env: dict[str, str] | None = None,
        web_port: int | None = None,
        node_id: str | None = None,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.stop_grace_seconds = stop_grace_seconds
        self.shard_count = shard_count
        self.node_id = node_id  # a cluster node: each child leases shards as ``<node_id>/<index>``
        self.children = [Child(i, shards) for i, shards in enumerate(plan)]
        self.serve_args = serve_args
        self.env = dict(os.environ if env is None else env)
        self.web_port = web_port
        self.metrics_dir: Path | None = None  # prometheus_client's multiprocess files of this run (see run())
        self._stopping = False

    def command(self, child: Child) -> list[str]:
        args = [sys.executable, "-m", "maidcore", "--data-dir", str(self.data_dir), "serve"]
        args += ["--supervised-by", str(os.getpid()), "--child-index", str(child.index), *self.serve_args]
        if child.index > 0 and "--no-web" not in args:
            args.append("--no-web")  # one web API per node: the first child serves it
        return args

    def child_env(self, child: Child) -> dict[str, str]:
        env = dict(self.env)
        if child.shards is not None:
            env["MAIDCORE_DISCORD__SHARD_IDS"] = json.dumps(child.shards)
        if self.shard_count is not None:
            env["MAIDCORE_DISCORD__SHARD_COUNT"] = str(self.shard_count)
        if self.node_id is not None:
            env["MAIDCORE_CLUSTER__NODE_ID"] = child_node_id(self.node_id, child.index)
        if self.metrics_dir is not None:  # /metrics of the web child sums every child's counters
            env[metrics.MULTIPROCESS_ENV] = str(self.metrics_dir)
            env[metrics.CHILD_ENV] = str(child.index)
        return env

    def spawn(self, child: Child) -> None:
        child.proc = subprocess.Popen(self.command(child), env=self.child_env(child))
        child.started = time.monotonic()
        log.info("child started", extra={"child": child.index, "pid": child.proc.pid, "shards": child.shards})

    def poll(self) -> None:
        """Restart children that died (with backoff when they keep dying), refresh the status files."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                code = child.proc.returncode
                child.history.append(code)
                child.crashes = 1 if now - child.started >= STEADY_SECONDS else child.crashes + 1
                delay = RESTART_BACKOFF_SECONDS[min(child.crashes, len(RESTART_BACKOFF_SECONDS)) - 1]
                log.warning(
                    "child exited; restarting",
                    extra={"child": child.index, "pid": child.proc.pid, "code": code, "in_seconds": delay},
                )
                if self.metrics_dir is not None:  # its live gauges go; its counters stay in the totals
                    metrics.process_dead(self.metrics_dir, child.proc.pid)
                child.proc, child.due = None, now + delay
            if child.proc is None and not self._stopping and now >= child.due:
                child.restarts += 1 if child.history else 0
                self.spawn(child)
        self.write_status()

    def write_status(self) -> None:
        """``status.json``: the children's statistics summed, and each child's own."""
        merged: dict[str, Any] = {"updated_at": datetime.now(UTC).isoformat(), "processes": []}
        for child in self.children:
            try:
                stats = json.loads(child_status_file(self.data_dir, child.index).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                stats = {}
            for key, value in stats.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    merged[key] = merged.get(key, 0) + value
            merged["processes"].append(
                {
                    **{k: v for k, v in stats.items() if k != "updated_at"},
                    "index": child.index,
                    "pid": child.proc.pid if child.proc is not None else None,
                    "shards": child.shards if child.shards is not None else stats.get("cluster", {}).get("shards", []),
                    "process_restarts": child.restarts,  # the runner's own "restarts" counts worker restarts
                }
            )
        path = self.data_dir / "status.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(merged, default=str), encoding="utf-8")
        tmp.replace(path)

    def write_runtime(self) -> Path:
        info: dict[str, Any] = {
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(),
            "processes": [
                {"index": c.index, "shards": c.shards if c.shards is not None else "leased"} for c in self.children
            ],
        }
        if self.web_port is not None:
            info["web"] = f"http://{self.env.get('MAIDCORE_WEB__HOST', '127.0.0.1')}:{self.web_port}"
        path = self.data_dir / "serve.json"
        path.write_text(json.dumps(info), encoding="utf-8")
        return path

    def stop(self, *_: object) -> None:
        self._stopping = True

    def run(self, interval: float = 0.5) -> None:
        """Serve until SIGINT/SIGTERM, then stop every child (SIGTERM, SIGKILL after a grace period)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.stop)
        runtime = self.write_runtime()
        self.metrics_dir = metrics.fresh_multiprocess_dir(self.data_dir)
        try:
            while not self._stopping:
                self.poll()
                time.sleep(interval)
        finally:
            self.terminate()
            for path in (runtime, self.data_dir / "status.json"):
                path.unlink(missing_ok=True)
            for child in self.children:
                child_status_file(self.data_dir, child.index).unlink(missing_ok=True)
            shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def terminate(self) -> None:
        self._stopping = True
        live = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace_seconds
        for proc in live:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("child did not stop in time; killing it", extra={"pid": proc.pid})
                proc.kill()
                proc.wait()


PR_SET_PDEATHSIG = 1  # prctl(2)


def end_with_parent() -> None:
    """A ``--processes`` child gets SIGTERM when its parent dies, even by SIGKILL, so it never serves orphaned.

    Linux only (``prctl``); elsewhere the child still checks the parent's lock at start.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")


def check_parent(data_dir: Path, parent_pid: int) -> None:
    """A supervised child serves only while its parent holds the data directory's lock."""
    holder = datadir_lock.holder(data_dir)
    if holder != parent_pid:
        raise datadir_lock.DataDirBusy(
            f"--supervised-by {parent_pid}: that process does not hold the lock of {data_dir} "
            f"(holder: {holder or 'nobody'}); --supervised-by is for the children of maidcore serve --processes"
        )
