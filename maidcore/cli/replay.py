"""``maidcore replay``: run one plugin against a file of events and print every host call it made."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("replay")
@click.argument("plugin", type=click.Path(exists=True, path_type=Path))
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", "server_id", default="999", show_default=True, help="guild id the events belong to")
@click.option("--sandbox", metavar="NAME", default="process", show_default=True, help="sandbox backend to run it in")
@click.option("--python", "python", metavar="PATH", help="interpreter for the process backend (e.g. another venv)")
@click.option("--grant", multiple=True, metavar="CAP", help="capability to grant (default: all it requests)")
@click.option("--data-dir", "replay_data_dir", type=click.Path(path_type=Path), help="keep state here (default: temp)")
def replay_command(plugin: Path, events: Path, server_id, sandbox, python, grant, replay_data_dir):
    """Feed EVENTS (JSON lines; `type` names the event, other keys override make_event defaults) to PLUGIN.

    Prints one JSON line per host call ({"method", "params", "server_id",
    "result"|"error"}) on stdout and the plugin's log lines on stderr. Exit
    code 0 only if every event was acked.
    """
    from maidcore.replay import replay

    grants = [c for item in grant for c in item.split(",") if c.strip()] or None
    code = replay(
        plugin,
        events,
        server_id=server_id,
        sandbox=sandbox,
        python=python,
        grants=grants,
        data_dir=replay_data_dir,
        out=click.get_text_stream("stdout"),
        err=click.get_text_stream("stderr"),
    )
    raise SystemExit(code)


COMMANDS = (replay_command,)
