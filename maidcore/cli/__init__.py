"""The ``maidcore`` command line (click).

``main`` loads the extensions once, builds the group from the core command
modules (one per command family, each exposing ``COMMANDS``) and whatever
extensions add through the ``register_commands`` hook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

import maidcore
from maidcore.cli import (
    cluster,
    cluster_demo,
    config,
    deadletters,
    installs,
    logs,
    marketplace,
    replay,
    secrets,
    serve,
    status,
    tokens,
)
from maidcore.cli import extensions as extensions_cmd
from maidcore.cli.logfmt import show_progress
from maidcore.cli.state import CliState
from maidcore.extensions import Extensions

CORE_MODULES = (
    serve,
    extensions_cmd,
    config,
    installs,
    deadletters,
    status,
    logs,
    replay,
    marketplace,
    tokens,
    cluster_demo,
    cluster,
    secrets,
)


def make_cli(extensions: Extensions | None = None) -> click.Group:
    """A fresh ``maidcore`` group with every command; extensions add theirs when given."""

    @click.group("maidcore", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="data directory (default: MAIDCORE_DATA_DIR or ~/.local/share/maidcore)",
    )
    @click.version_option(maidcore.__version__, prog_name="maidcore")
    @click.pass_context
    def cli(ctx: click.Context, data_dir: Path | None) -> None:
        """Run third-party Discord bot plugins safely: sandboxed, reviewed, rate-limited."""
        show_progress()
        state = ctx.ensure_object(CliState)
        if data_dir is not None:
            state.data_dir = data_dir
        if state.extensions is None:
            state.extensions = extensions

    for module in CORE_MODULES:
        for command in module.COMMANDS:
            cli.add_command(command)
    if extensions is not None:
        extensions.add_commands(cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    extensions = Extensions.load()
    cli = make_cli(extensions)
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="maidcore", obj=CliState(extensions))
