"""``mmo``: the plugin author's command line (new, dev, validate, bundle). Exit codes: 0 ok, 1 errors, 2 usage."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


class UsageError(Exception):
    """Bad command-line input: printed and exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmo", description="Create, run, check and bundle MMO Maid plugins.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"mmo-maid-sdk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    new = sub.add_parser("new", help="create a plugin project from a template")
    new.add_argument("plugin_id", nargs="?", help="plugin id: ^[a-z][a-z0-9_]{2,31}$")
    new.add_argument("--target", "-t", help="directory to create (default ./<plugin_id>); must be absent or empty")
    new.add_argument("--template", default="basic", help="basic (default), slash, welcome or cron")
    new.add_argument("--list-templates", action="store_true", help="list the templates and exit")

    dev = sub.add_parser("dev", help="run events.yaml / events.json against a MockContext")
    dev.add_argument("--path", "-p", default=".", help="plugin directory (default .)")
    dev.add_argument("--watch", "-w", action="store_true", help="rerun whenever a .py file changes")

    validate = sub.add_parser("validate", help="check a plugin directory or .zip the way review will")
    validate.add_argument("path", nargs="?", default=".", help="plugin directory or .zip (default .)")
    validate.add_argument("--json", action="store_true", help="print the findings as a JSON list")

    bundle = sub.add_parser("bundle", help="validate, then build the upload zip")
    bundle.add_argument("path", nargs="?", default=".", help="plugin directory (default .)")
    bundle.add_argument("--output", "-o", help="zip to write (default dist/<id>-<version>.zip)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mmo`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "new":
            from ._new import command_new

            return command_new(args.plugin_id, args.target, args.template, args.list_templates)
        if args.command == "dev":
            from ._dev import command_dev

            return command_dev(args.path, watch=args.watch)
        if args.command == "validate":
            from ._bundle import command_validate

            return command_validate(args.path, as_json=args.json)
        if args.command == "bundle":
            from ._bundle import command_bundle

            return command_bundle(args.path, args.output)
    except UsageError as exc:
        print(f"mmo {args.command}: {exc}", file=sys.stderr)
        return 2
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
