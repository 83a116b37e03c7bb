"""``maidcore logs``: plugin log lines from the records, oldest first, optionally followed like ``tail -f``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from datetime import datetime
from typing import Any

import click

from maidcore.cli.state import CliState, pass_state, storage_platform
from maidcore.records import PluginLog

#: Levels in order of severity; ``--level warning`` shows warning and error.
LEVELS = ("debug", "info", "warning", "error")


def severity(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else LEVELS.index("info")


def _key(entry: PluginLog) -> tuple[Any, ...]:
    return (entry.created_at, entry.server_id, entry.plugin_id, entry.level, entry.message)


def line(entry: PluginLog) -> str:
    when = entry.created_at.isoformat(timespec="milliseconds") if isinstance(entry.created_at, datetime) else ""
    server = entry.server_id or "-"
    return f"{when}  {entry.plugin_id}  server={server}  {entry.level.upper():7} {entry.message}"


def as_json(entry: PluginLog) -> str:
    return json.dumps(
        {
            "created_at": entry.created_at.isoformat() if isinstance(entry.created_at, datetime) else None,
            "plugin_id": entry.plugin_id,
            "server_id": entry.server_id,
            "level": entry.level,
            "message": entry.message,
            "extra": entry.extra,
        }
    )


async def _show(
    state: CliState, plugin_id: str | None, server_id: str | None, level: str, limit: int, follow: bool, fmt: Any
) -> None:
    floor = severity(level)
    stop = asyncio.Event()
    if follow:  # Ctrl-C / SIGTERM end --follow between two reads, so storage closes the ordinary way
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    async with storage_platform(state) as platform:
        records = platform.records
        # read past lines below --level so that `--limit` counts the lines shown
        fetch = limit if floor == 0 else min(limit * 20, 10_000)
        shown: set[tuple[Any, ...]] = set()
        newest = None
        first = True
        while True:
            rows = await records.list_logs(plugin_id=plugin_id, server_id=server_id, limit=fetch)
            fresh = [e for e in reversed(rows) if _key(e) not in shown and (newest is None or e.created_at >= newest)]
            visible = [e for e in fresh if severity(e.level) >= floor]
            if first:
                visible = visible[-limit:]
                first = False
            for entry in visible:
                click.echo(fmt(entry))
            for entry in fresh:
                shown.add(_key(entry))
                newest = entry.created_at if newest is None or entry.created_at > newest else newest
            if newest is not None:  # keep only what can still collide with a new line
                shown = {k for k in shown if k[0] >= newest}
            if not follow:
                if not visible:
                    click.echo("no log lines" + (f" for {plugin_id}" if plugin_id else ""), err=True)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            if stop.is_set():
                return


@click.command("logs")
@click.argument("plugin_id", required=False, metavar="[PLUGIN]")
@click.option("--server", "server_id", metavar="ID", help="only lines of this server (guild id)")
@click.option("--level", type=click.Choice(LEVELS), default="debug", show_default=True, help="lowest level shown")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="lines shown at first")
@click.option("--follow", "-f", is_flag=True, help="keep printing new lines as plugins log them (Ctrl-C stops)")
@click.option("--json", "json_lines", is_flag=True, help="one JSON object per line")
@pass_state
def logs_command(
    state: CliState,
    plugin_id: str | None,
    server_id: str | None,
    level: str,
    limit: int,
    follow: bool,
    json_lines: bool,
) -> None:
    """Plugin log lines (every plugin, or PLUGIN's), oldest first; what plugins send with ctx.log and worker crashes."""
    fmt = as_json if json_lines else line
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow: no traceback
        asyncio.run(_show(state, plugin_id, server_id, level, limit, follow, fmt))


COMMANDS = (logs_command,)
