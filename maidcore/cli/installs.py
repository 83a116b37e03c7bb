"""``maidcore install``, ``grant``, ``uninstall``, ``installs``: installs on the data directory's records.

These work without a running server; a running ``maidcore serve`` on the same
data directory re-reads installs every ``install_poll_seconds`` (2 s) and
applies the change live.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from maidcore import capabilities, installs
from maidcore.cli.state import CliState, pass_state, run, storage_platform

_GRANT_HELP = "capability to grant (repeatable); see `maidcore capabilities`"


def _caps(grant: tuple[str, ...], grant_all: bool) -> list[str] | str | None:
    if grant_all and grant:
        raise click.UsageError("use either --grant CAP ... or --grant-all, not both")
    if grant_all:
        return installs.ALL
    return [c for item in grant for c in item.split(",") if c.strip()] or None


def _print_install(data: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data))
        return
    line = f"{data['plugin_id']} {data['version']} on server {data['server_id']}"
    line += f": granted {', '.join(data['granted']) or 'nothing'}"
    if data.get("blocked"):
        line += f"; blocked until granted: {', '.join(data['blocked'])}"
    if not data["enabled"]:
        line += " (disabled)"
    click.echo(line)


@click.command("install")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--server", "server_id", required=True, help="Discord guild id to install on")
@click.option("--grant", multiple=True, metavar="CAP", help=_GRANT_HELP)
@click.option("--grant-all", is_flag=True, help="grant every capability the plugin requests")
@click.option("--json", "as_json", is_flag=True, help="print the install as JSON")
@pass_state
def install_command(state: CliState, path: Path, server_id: str, grant, grant_all: bool, as_json: bool) -> None:
    """Install the plugin at PATH (a directory or a .zip bundle) on a server.

    Capabilities the plugin requests but that are not granted stay blocked
    (its calls fail with CapabilityError) until `maidcore grant` adds them.
    """
    caps = _caps(grant, grant_all)

    async def body() -> dict:
        async with storage_platform(state) as platform:
            record = await installs.install(platform, path, server_id, caps)
            requested = await installs.requested_capabilities(platform, record)
            return installs.describe(record, requested)

    try:
        _print_install(run(body), as_json)
    except installs.InstallError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("grant")
@click.argument("plugin_id")
@click.argument("caps", nargs=-1, metavar="[CAP]...")
@click.option("--server", "server_id", required=True, help="Discord guild id of the install")
@click.option("--all", "grant_all", is_flag=True, help="grant every capability the installed version requests")
@click.option("--revoke", is_flag=True, help="remove the capabilities instead of adding them")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def grant_command(state: CliState, plugin_id: str, caps, server_id: str, grant_all: bool, revoke: bool, as_json: bool):
    """Grant (or --revoke) capabilities of an installed plugin; takes effect without a restart."""
    wanted = _caps(caps, grant_all)
    if wanted is None:
        raise click.UsageError("name at least one capability, or pass --all")

    async def body() -> dict:
        async with storage_platform(state) as platform:
            record = await installs.grant(platform, server_id, plugin_id, wanted, revoke=revoke)
            return installs.describe(record, await installs.requested_capabilities(platform, record))

    try:
        _print_install(run(body), as_json)
    except installs.InstallError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("uninstall")
@click.argument("plugin_id")
@click.option("--server", "server_id", required=True, help="Discord guild id of the install")
@pass_state
def uninstall_command(state: CliState, plugin_id: str, server_id: str) -> None:
    """Remove a plugin from a server (its stored bundle and the server's data stay)."""

    async def body() -> None:
        async with storage_platform(state) as platform:
            await installs.uninstall(platform, server_id, plugin_id)

    try:
        run(body)
    except installs.InstallError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"uninstalled {plugin_id} from server {server_id}")


def _toggle(enabled: bool) -> click.Command:
    verb = "enable" if enabled else "disable"

    @click.command(verb)
    @click.argument("plugin_id")
    @click.option("--server", "server_id", required=True, help="Discord guild id of the install")
    @pass_state
    def toggle(state: CliState, plugin_id: str, server_id: str) -> None:
        async def body() -> None:
            async with storage_platform(state) as platform:
                await installs.set_enabled(platform, server_id, plugin_id, enabled)

        try:
            run(body)
        except installs.InstallError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{verb}d {plugin_id} on server {server_id}")

    toggle.help = f"{verb.capitalize()} an installed plugin on a server without removing it (its grants and data stay)."
    return toggle


enable_command = _toggle(True)
disable_command = _toggle(False)


@click.command("installs")
@click.option("--server", "server_id", help="only this guild")
@click.option("--plugin", "plugin_id", help="only this plugin")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@pass_state
def installs_command(state: CliState, server_id: str | None, plugin_id: str | None, as_json: bool) -> None:
    """List installs with their granted and still-blocked capabilities."""

    async def body() -> list[dict]:
        async with storage_platform(state) as platform:
            rows = []
            for record in await platform.records.list_installs(server_id=server_id, plugin_id=plugin_id):
                try:
                    requested = await installs.requested_capabilities(platform, record)
                except installs.InstallError:
                    requested = None
                rows.append(installs.describe(record, requested))
            return rows

    rows = run(body)
    if not rows and not as_json:
        click.echo("no installs")
    for row in rows:
        _print_install(row, as_json)


@click.command("capabilities")
def capabilities_command() -> None:
    """List the capability catalogue with tiers."""
    for name, tier in sorted(capabilities.CATALOGUE.items(), key=lambda item: (item[1], item[0])):
        click.echo(f"{name:28} {tier.label}")
    click.echo(f"legacy (accepted, grant nothing): {', '.join(sorted(capabilities.LEGACY_NAMES))}")


COMMANDS = (
    install_command,
    grant_command,
    uninstall_command,
    enable_command,
    disable_command,
    installs_command,
    capabilities_command,
)
