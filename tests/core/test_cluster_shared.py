"""Two `maidcore serve` nodes sharing nothing but PostgreSQL: an install made through one serves on the other.

Each node has its own data directory (no shared disk) and its own emulator;
polling of installs is off, so the second node can only learn of the install
by the push feed, and can only run the plugin from the bundle in the database.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from maidcore_discord.emulator import BOT_USER_ID, DEMO_GUILD_ID
from maidcore_sqlmodel.feeds import APPLICATION_NAME

from tests.core.plugins import write_plugin
from tests.core.test_serve import MAIDCORE, ROOT, cli, environment, processes_under, wait_for

SHARED_MAIN = """from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if not event["author_bot"] and event["content"] == "!whoserves":
        ctx.discord.send_message(channel_id=event["channel_id"], content="served from the shared bundle")


if __name__ == "__main__":
    plugin.run()
"""


_logs: dict[subprocess.Popen, Path] = {}  # node -> its data dir (its log sits beside it)


def start_node(env: dict[str, str], data_dir: Path) -> tuple[subprocess.Popen, dict]:
    # its log goes to a file, readable while it runs (a pipe read only at the end could also fill up)
    with stderr_path(data_dir).open("w") as stderr:
        proc = subprocess.Popen(
            [str(MAIDCORE), "serve", "--sandbox", "process", "--log-format", "json"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    _logs[proc] = data_dir
    info = wait_for(
        lambda: (data_dir / "serve.json").is_file() and json.loads((data_dir / "serve.json").read_text()),
        90,
        f"serve.json of {data_dir.name}",
    )
    return proc, info


def stderr_path(data_dir: Path) -> Path:
    return data_dir.parent / f"{data_dir.name}-stderr.log"


def log_lines(data_dir: Path) -> list[dict]:
    """The node's JSON log lines written so far (a line still being written is left out)."""
    text = stderr_path(data_dir).read_text()
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and line.endswith("}")]


def shared_changes(data_dir: Path) -> list[dict]:
    """The install changes to the ``shared`` plugin the node heard from elsewhere, so far."""
    return [
        line
        for line in log_lines(data_dir)
        if line["msg"] == "install changed elsewhere" and line.get("plugin_id") == "shared"
    ]


def stop_node(proc: subprocess.Popen) -> str:
    """SIGTERM the node, wait for it, and return its log."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return stderr_path(_logs.pop(proc)).read_text()


def emulator(page: str, action: str | None = None, **body) -> dict:
    base = page.rstrip("/")
    if action is None:
        with urllib.request.urlopen(f"{base}/_emulator/api/state", timeout=10) as response:
            return json.loads(response.read())
    request = urllib.request.Request(
        f"{base}/_emulator/api/{action}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def feed_connections(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.slow
@pytest.mark.postgres
def test_an_install_through_one_node_serves_on_another_with_no_shared_disk(tmp_path, pg_fresh_url):
    dirs = {name: tmp_path / name for name in ("a", "b")}
    envs = {name: environment(path, MAIDCORE_STORAGE__DATABASE_URL=pg_fresh_url) for name, path in dirs.items()}
    for env in envs.values():
        env["MAIDCORE_INSTALL_POLL_SECONDS"] = "0"  # no polling: only the push feed can tell a node
    node_a, _info_a = start_node(envs["a"], dirs["a"])
    node_b = None
    stderr_b = ""
    try:
        node_b, info_b = start_node(envs["b"], dirs["b"])
        wait_for(lambda: len(feed_connections(pg_fresh_url)) == 2, 30, "both nodes listening for install changes")

        source = write_plugin(tmp_path / "src", plugin_id="shared", description="Says which bundle serves it")
        (source / "__main__.py").write_text(SHARED_MAIN)
        result = cli(envs["a"], "install", str(source), "--server", DEMO_GUILD_ID, "--grant-all")
        assert result.returncode == 0, result.stderr
        installed = time.monotonic()
        shutil.rmtree(source)

        # node B learns of it by push (polling is off) and runs it from its own copy of the bundle
        wait_for(lambda: processes_under(dirs["b"] / "bundles" / "shared"), 30, "node B's worker of the install")
        seen_after = time.monotonic() - installed
        assert (dirs["b"] / "bundles" / "shared" / "1.0.0" / "__main__.py").read_text() == SHARED_MAIN

        # ...and serves it: a message on node B's emulator gets the plugin's answer
        guild = next(g for g in emulator(info_b["emulator"])["guilds"] if g["id"] == DEMO_GUILD_ID)
        general = next(c["id"] for c in guild["channels"] if c["name"] == "general")
        emulator(info_b["emulator"], "messages", channel_id=general, user_id="900000000000000202", content="!whoserves")

        def answered():
            messages = emulator(info_b["emulator"])["messages"].get(general, [])
            return any(
                m["author"]["id"] == BOT_USER_ID and m["content"] == "served from the shared bundle" for m in messages
            )

        wait_for(answered, 30, "node B's answer from the shared plugin")

        # both nodes lose their feed connection; a change made meanwhile reaches them by the resync
        before = set(feed_connections(pg_fresh_url))
        with psycopg.connect(pg_fresh_url, autocommit=True) as conn:
            for pid in before:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.execute(
                "UPDATE installs SET granted = '[]' WHERE server_id = %s AND plugin_id = 'shared'", (DEMO_GUILD_ID,)
            )
        wait_for(lambda: len(set(feed_connections(pg_fresh_url)) - before) == 2, 30, "both feeds connected again")
        # the resync after reconnecting is one read of every install: B hears the change it missed
        wait_for(lambda: len(shared_changes(dirs["b"])) >= 2, 30, "node B's resync after reconnecting")
    finally:
        if node_b is not None:
            stderr_b = stop_node(node_b)
        stderr_a = stop_node(node_a)
    lines = [json.loads(line) for line in stderr_b.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "install feed reconnected; re-reading every install once" in messages
    changed = [
        (line.get("server_id"), line.get("plugin_id")) for line in lines if line["msg"] == "install changed elsewhere"
    ]
    assert changed.count((DEMO_GUILD_ID, "shared")) == 2, changed  # the install, then the change it missed
    assert node_a.returncode == 0 and node_b.returncode == 0, (stderr_a[-2000:], stderr_b[-2000:])
    print(f"node B saw the install {seen_after:.2f}s after the CLI returned (push; polling off)")
