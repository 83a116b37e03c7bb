"""``yourbot`` (also ``mmo``): the plugin author's command line. Exit codes: 0 ok, 1 problems found, 2 usage.

Subcommands: ``new``, ``init`` (the same, asking instead of taking flags), ``dev``, ``validate``,
``doctor`` and ``bundle``. ``validate`` takes the official ``--path/-p``, ``--id`` and ``--version``
as well as a positional path and ``--json``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "main_mmo", "prog"]

_PROG = "yourbot"


class UsageError(Exception):
    """Bad command-line input: printed, exit status 2."""


def prog() -> str:
    """The name the CLI was started under (``yourbot`` or ``mmo``), for messages."""
    return _PROG


def _parser(name: str) -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog=name, description="Create, run, check and bundle YourBot plugins.")
    parser.add_argument("--version", action="version", version=f"yourbot-sdk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    new = sub.add_parser("new", help="scaffold a new plugin directory from a template")
    new.add_argument("plugin_id", nargs="?", help="lowercase id: 3-32 of letters, digits, _; a letter first")
    new.add_argument("--target", "-t", help="directory to create (default ./<plugin_id>); must be absent or empty")
    new.add_argument("--template", default="basic", help="basic (default), slash, welcome or cron")
    new.add_argument("--list-templates", action="store_true", help="list the templates and exit")

    sub.add_parser("init", help="interactive wizard: asks for the id and template, then scaffolds")

    dev = sub.add_parser("dev", help="run events.yaml / events.json against a mock context")
    dev.add_argument("--path", "-p", default=".", help="plugin directory (default .)")
    dev.add_argument("--watch", "-w", action="store_true", help="rerun whenever a .py file changes")
    dev.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a handler failed and 2 when the project cannot run (default: 0, as the official tool)",
    )

    validate = sub.add_parser("validate", help="run the platform's pre-submit checks locally")
    validate.add_argument("target", nargs="?", help="plugin directory or .zip (same as --path)")
    validate.add_argument("--path", "-p", dest="path_option", help="plugin directory or .zip (default .)")
    validate.add_argument("--id", dest="plugin_id", help="the plugin id registered on the platform (must match)")
    validate.add_argument("--version", dest="plugin_version", help="the version being submitted (must match)")
    validate.add_argument("--json", action="store_true", help="print the findings as a JSON list")

    doctor = sub.add_parser("doctor", help="pre-flight: SDK install, manifest, capabilities, tests, environment")
    doctor.add_argument("--path", "-p", default=".", help="plugin directory (default .)")

    bundle = sub.add_parser("bundle", help="validate, then build the upload zip")
    bundle.add_argument("path", nargs="?", default=".", help="plugin directory (default .)")
    bundle.add_argument("--output", "-o", help="zip to write (default dist/<id>-<version>.zip)")
    return parser


def _run(args: argparse.Namespace) -> int | None:
    if args.command == "new":
        from ._new import command_new

        return command_new(args.plugin_id, args.target, args.template, args.list_templates)
    if args.command == "init":
        from ._new import command_init

        return command_init()
    if args.command == "dev":
        from ._dev import command_dev

        return command_dev(args.path, watch=args.watch, strict=args.strict)
    if args.command == "validate":
        from ._bundle import command_validate

        if args.target and args.path_option and args.target != args.path_option:
            raise UsageError(f"give the plugin path once (positional {args.target!r} or --path {args.path_option!r})")
        path = args.path_option or args.target or "."
        return command_validate(path, as_json=args.json, plugin_id=args.plugin_id, version=args.plugin_version)
    if args.command == "doctor":
        from ._doctor import command_doctor

        return command_doctor(args.path)
    if args.command == "bundle":
        from ._bundle import command_bundle

        return command_bundle(args.path, args.output)
    return None


def main(argv: Sequence[str] | None = None, *, name: str = "yourbot") -> int:
    """Entry point of the ``yourbot`` console script; returns the exit status."""
    global _PROG
    _PROG = name
    parser = _parser(name)
    args = parser.parse_args(argv)
    try:
        status = _run(args)
    except UsageError as exc:
        print(f"{name} {args.command}: {exc}", file=sys.stderr)
        return 2
    if status is None:
        parser.print_help(sys.stderr)
        return 2
    return status


def main_mmo(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mmo`` console script (the pre-0.6 name of ``yourbot``)."""
    return main(argv, name="mmo")


if __name__ == "__main__":
    sys.exit(main())
