"""A cluster on one machine: the standalone emulator and N ``maidcore serve`` nodes, each its own process.

Used by ``maidcore cluster-demo``, the multi-node tests and the failover
benchmark. Nodes share only the PostgreSQL database and Redis they are given;
each has its own data directory. With ``coordinator_url`` set to a PostgreSQL
database (and no ``redis_url``) the nodes share nothing but PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_database(database_url: str) -> str | None:
    """Create the PostgreSQL database ``database_url`` names when its server lacks it; its name if it was created.

    The demo's database is its own: ``cluster-demo --database-url …/maidcore_demo`` works on a server that only
    has ``postgres``. The role needs ``CREATEDB`` for that; otherwise the error says so.
    """
    import psycopg
    from psycopg import sql

    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = psycopg.conninfo.conninfo_to_dict(url).get("dbname")
    try:
        psycopg.connect(url, connect_timeout=10).close()
        return None
    except psycopg.OperationalError as exc:
        if not name or "does not exist" not in str(exc) or f'"{name}"' not in str(exc):
            raise
    with psycopg.connect(psycopg.conninfo.make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


@dataclass
class LocalCluster:
    """``start_emulator()``, then ``start_node(i)`` for each node; ``close()`` stops everything it started."""

    base_dir: Path
    redis_url: str | None  # the coordinator and the shared rate limit; None: coordinator_url alone
    database_url: str
    guilds: int = 4
    shards: int = 2
    key_prefix: str = "maidcore-demo"
    env: dict[str, str] = field(default_factory=dict)  # extra MAIDCORE_* settings for every node
    emulator_port: int = 0
    coordinator_url: str | None = None  # e.g. the PostgreSQL database (a cluster without Redis); None: redis_url
    emulator: subprocess.Popen[str] | None = None
    nodes: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    _logs: list[IO[str]] = field(default_factory=list)

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def start_emulator(self, *, demo: bool = True) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.emulator_port = self.emulator_port or free_port()
        args = [sys.executable, "-m", "maidcore_discord.emulator", "127.0.0.1", str(self.emulator_port)]
        args += ["--guilds", str(self.guilds), "--shards", str(self.shards)]
        if not demo:
            args.append("--no-demo")
        log = open(self.base_dir / "emulator.log", "w")  # noqa: SIM115 - kept open for the process's life
        self._logs.append(log)
        self.emulator = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True)
        self.wait(lambda: self._answers(self.emulator_url + "/_emulator/api/state"), 30, "the emulator to answer")

    def node_env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
        env.update(
            MAIDCORE_DATA_DIR=str(self.base_dir / name),
            MAIDCORE_STORAGE__DATABASE_URL=self.database_url,
            MAIDCORE_DISCORD__EMULATOR_URL=self.emulator_url,
            MAIDCORE_CLUSTER__KEY_PREFIX=self.key_prefix,
            MAIDCORE_CLUSTER__NODE_ID=name,
        )
        if self.coordinator_url:
            env["MAIDCORE_CLUSTER__COORDINATOR_URL"] = self.coordinator_url
        elif self.redis_url:
            env["MAIDCORE_CLUSTER__REDIS_URL"] = self.redis_url
        # one rate limit across the nodes: in Redis, else in the PostgreSQL coordinator's database
        shared_limits = self.redis_url or self.coordinator_url
        if shared_limits:
            env["MAIDCORE_LIMITS__STORAGE_URI"] = shared_limits
        env.update(self.env)
        return env

    def start_node(self, name: str, *args: str) -> subprocess.Popen[str]:
        """``maidcore serve --no-web --sandbox process`` as node ``name`` (its data directory is ``base_dir/name``)."""
        log = open(self.base_dir / f"{name}.log", "a")  # noqa: SIM115 - kept open for the process's life
        self._logs.append(log)
        maidcore = Path(sys.executable).with_name("maidcore")
        proc = subprocess.Popen(
            [str(maidcore), "serve", "--no-web", "--sandbox", "process", *args],
            env=self.node_env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.nodes[name] = proc
        return proc

    def cli(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """A ``maidcore`` command with node ``name``'s settings (e.g. ``install``)."""
        maidcore = Path(sys.executable).with_name("maidcore")
        return subprocess.run(
            [str(maidcore), *args], env=self.node_env(name), capture_output=True, text=True, timeout=120
        )

    def kill(self, name: str) -> None:
        """SIGKILL node ``name``, as a crash would."""
        proc = self.nodes.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self, name: str, timeout: float = 30) -> None:
        proc = self.nodes.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def close(self) -> None:
        for name in list(self.nodes):
            self.stop(name)
        if self.emulator is not None:
            self.emulator.terminate()
            try:
                self.emulator.wait(10)
            except subprocess.TimeoutExpired:
                self.emulator.kill()
            self.emulator = None
        for log in self._logs:
            log.close()
        self._logs.clear()

    # --- talking to the emulator as a person would ---------------------------------------------

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.emulator_url + "/_emulator/api/" + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method="POST" if body is not None else "GET",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def guild_channels(self) -> dict[str, str]:
        """Guild id -> its ``general`` channel id."""
        found = {}
        for guild in self.api("state")["guilds"]:
            general = next((c for c in guild["channels"] if c["name"] == "general"), None)
            if general is not None:
                found[guild["id"]] = general["id"]
        return found

    def post(self, channel_id: str, content: str, user_id: str = "900000000000000202") -> dict[str, Any]:
        return self.api("messages", {"channel_id": channel_id, "user_id": user_id, "content": content})

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        return self.api(f"channels/{channel_id}/messages")

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            return False

    @staticmethod
    def wait(predicate: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
