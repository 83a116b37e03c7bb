"""``maidcore replay``: run one plugin against a file of events and print every host call it made."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import click

from maidcore.cli.state import CliState, pass_state


@click.command("replay")
@click.argument("plugin", type=click.Path(exists=True, path_type=Path))
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", "server_id", default="999", show_default=True, help="guild id the events belong to")
@click.option("--sandbox", metavar="NAME", default="process", show_default=True, help="sandbox backend to run it in")
@click.option("--python", "python", metavar="PATH", help="interpreter for the process backend (e.g. another venv)")
@click.option("--grant", multiple=True, metavar="CAP", help="capability to grant (default: all it requests)")
@click.option("--data-dir", "replay_data_dir", type=click.Path(path_type=Path), help="keep state here (default: temp)")
@pass_state
def replay_command(state: CliState, plugin: Path, events: Path, server_id, sandbox, python, grant, replay_data_dir):
    """Feed EVENTS (JSON lines; `type` names the event, other keys override make_event defaults) to PLUGIN.

    Prints one JSON line per host call ({"method", "params", "server_id",
    "result"|"error"}) on stdout and the plugin's log lines on stderr. Exit
    code 0 only if every event was acked.
    """
    from maidcore.runner.replay import replay

    grants = [c for item in grant for c in item.split(",") if c.strip()] or None
    kwargs = {
        "plugin": plugin,
        "events": events,
        "server_id": server_id,
        "sandbox": sandbox,
        "python": python,
        "grants": grants,
        "data_dir": replay_data_dir,
        "extensions": state.get_extensions(),
    }
    accepted = inspect.signature(replay).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    result = replay(**kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    ok = getattr(result, "all_acked", result)
    if isinstance(ok, int) and not isinstance(ok, bool):
        raise SystemExit(ok)
    raise SystemExit(0 if ok else 1)


COMMANDS = (replay_command,)
