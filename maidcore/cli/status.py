"""``maidcore status``: runner statistics from the running server, or what the records say when none runs.

A running ``maidcore serve`` writes ``<data_dir>/serve.json`` (pid and web
address) and keeps ``<data_dir>/status.json`` current; ``status`` asks that
server's ``GET /api/status`` and falls back to the file.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from maidcore import datadir_lock
from maidcore.cli.state import CliState, pass_state, run, storage_platform

RUNTIME_FILE = "serve.json"
STATUS_FILE = "status.json"


def runtime_file(data_dir: Path) -> Path:
    return Path(data_dir) / RUNTIME_FILE


def status_file(data_dir: Path) -> Path:
    """Runner statistics a running server rewrites every 2 s."""
    return Path(data_dir) / STATUS_FILE


def running_server(data_dir: Path) -> dict[str, Any] | None:
    """The runtime file of a live ``maidcore serve`` on ``data_dir``, or ``None``.

    Live means it holds the data directory's lock: a runtime file left by a killed
    server (or a pid the system reused since) does not count.
    """
    holder = datadir_lock.holder(data_dir)
    if holder is None:
        return None
    path = runtime_file(data_dir)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        if int(info["pid"]) != holder:
            return {"pid": holder}  # still starting: no runtime file of its own yet
    except (OSError, ValueError, KeyError, TypeError):
        return {"pid": holder}
    return info


def fetch_status(web_url: str, token: str, timeout: float = 3.0) -> dict[str, Any]:
    """The runner statistics from ``GET /api/status`` (an admin token is required)."""
    request = urllib.request.Request(web_url.rstrip("/") + "/api/status", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.loads(response.read())
    return body.get("runner") or {}


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--token",
    envvar="MAIDCORE_API_TOKEN",
    metavar="TOKEN",
    help="admin API token: ask the running server's GET /api/status (else its status.json is read)",
)
@pass_state
def status_command(state: CliState, as_json: bool, token: str | None) -> None:
    """Workers, in-flight events, restarts, parked plugins and rate-limit drops of the running server."""
    settings = state.settings()
    info = running_server(settings.data_dir)
    data: dict[str, Any] = {}
    if info and info.get("web") and token:
        try:
            data = {"source": info["web"] + "/api/status", "running": True, **fetch_status(info["web"], token)}
        except (urllib.error.URLError, OSError, ValueError) as exc:
            click.echo(f"GET {info['web']}/api/status failed ({exc}); reading {STATUS_FILE}", err=True)
    if info and not data:
        try:
            stats = json.loads(status_file(settings.data_dir).read_text(encoding="utf-8"))
            data = {"source": str(status_file(settings.data_dir)), "running": True, **stats}
        except (OSError, ValueError):
            data = {}
    if not data:
        data = run(lambda: _from_records(state))
        data["running"] = bool(info)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(render(data))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Left-aligned columns as wide as their widest cell; ``None`` shows as ``-``."""
    cells = [[str(h) for h in headers], *[["-" if c is None or c == "" else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def _pairs(mapping: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v}" for k, v in sorted(mapping.items())) or "-"


def render(data: dict[str, Any]) -> str:
    """``maidcore status`` for people: a summary, then one table row per worker (or per install)."""
    running = "running" if data.get("running") else "not running"
    lines = [f"server:      {running}", f"source:      {data.get('source')}"]
    if "updated_at" in data:
        lines.append(f"updated at:  {data['updated_at']}")
    database = data.get("database")
    if isinstance(database, dict):
        lines.append(f"database:    {_pairs(database)}")
    processes = data.get("processes")
    if isinstance(processes, list):  # `serve --processes N`: the parent's status.json sums its children's figures
        data = {**data, **_merged_processes(processes)}
        lines.append("")
        lines += table(
            ("PROCESS", "PID", "SHARDS", "PROCESS RESTARTS"),
            [
                (p.get("index"), p.get("pid"), ",".join(map(str, p.get("shards") or [])), p.get("process_restarts"))
                for p in processes
            ],
        )
        lines.append("")
    if "workers" in data:
        lines.append(
            f"mode:        {data.get('mode')}   in flight: {data.get('in_flight', 0)}"
            f"   waiting: {data.get('waiting', 0)}   restarts: {data.get('restarts', 0)}"
        )
        lines.append(f"host calls:  {data.get('host_calls', 0)} ({data.get('host_call_errors', 0)} refused or failed)")
        lines.append(f"counters:    {_pairs(data.get('counters') or {})}")
        lines.append("")
        workers = data["workers"]
        if workers:
            rows = [
                (
                    w.get("process", "-"),
                    w.get("plugin_id"),
                    w.get("version"),
                    w.get("server_id"),
                    w.get("state"),
                    w.get("in_flight"),
                    w.get("waiting"),
                    w.get("restarts"),
                    w.get("parked_reason"),
                )
                for w in workers
            ]
            headers = ("PROCESS", "PLUGIN", "VERSION", "SERVER", "STATE", "IN FLIGHT", "WAITING", "RESTARTS", "PARKED")
            if processes is None:  # one process: no PROCESS column
                headers, rows = headers[1:], [row[1:] for row in rows]
            lines += table(headers, rows)
        else:
            lines.append("no workers (no plugin installed)")
        limited = data.get("rate_limited") or {}
        if limited:
            lines.append("")
            lines += table(
                ("RATE LIMITED (SERVER/PLUGIN)", "DROPPED", "DELAYED"),
                [(scope, v.get("dropped"), v.get("delayed")) for scope, v in sorted(limited.items())],
            )
        return "\n".join(lines)
    lines.append(
        f"installs:    {data.get('installs', 0)} ({data.get('disabled_installs', 0)} disabled)"
        f"   dead letters: {data.get('dead_letters', 0)}"
    )
    by_plugin = data.get("installs_by_plugin") or {}
    letters = data.get("dead_letters_by_plugin") or {}
    if by_plugin:
        lines.append("")
        rows = []
        for key, count in sorted(by_plugin.items()):
            plugin_id, _, version = key.partition(" ")
            rows.append((plugin_id, version, count, letters.get(plugin_id, 0)))
        lines += table(("PLUGIN", "VERSION", "INSTALLS", "DEAD LETTERS"), rows)
    return "\n".join(lines)


def _merged_processes(processes: list[dict[str, Any]]) -> dict[str, Any]:
    """What the children report that is not summed: their workers (tagged with the process) and the mode."""
    workers = [{**w, "process": p.get("index")} for p in processes for w in p.get("workers") or []]
    first = processes[0] if processes else {}
    counters: Counter[str] = Counter()
    for p in processes:
        counters.update(p.get("counters") or {})
    merged: dict[str, Any] = {"workers": workers, "mode": first.get("mode"), "counters": dict(counters)}
    if "database" in first:
        merged["database"] = first["database"]
    return merged


async def describe_storage(storage: Any) -> dict[str, Any] | None:
    """The storage layer's ``describe()`` (its database: kind, engine, version, size), if it has one."""
    describe = getattr(storage, "describe", None)
    if describe is None:
        return None
    try:
        return await describe()
    except Exception as exc:  # status must show what it can
        return {"error": f"{type(exc).__name__}: {exc}"}


async def _from_records(state: CliState) -> dict[str, Any]:
    async with storage_platform(state) as platform:
        installs = await platform.records.list_installs()
        letters = await platform.records.list_dead_letters()
        database = await describe_storage(platform.storage)
    return {
        "source": "records (no server running on this data directory)",
        **({"database": database} if database else {}),
        "installs": len(installs),
        "installs_by_plugin": dict(Counter(f"{i.plugin_id} {i.version}" for i in installs)),
        "disabled_installs": sum(1 for i in installs if not i.enabled),
        "dead_letters": len(letters),
        "dead_letters_by_plugin": dict(Counter(letter.plugin_id for letter in letters)),
    }


COMMANDS = (status_command,)
