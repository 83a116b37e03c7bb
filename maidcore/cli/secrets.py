"""``maidcore secrets``: domain-bound auth secrets (``secret_auth=``) and the hosts server admins approved.

A plugin names an auth secret in ``ctx.http.request(..., secret_auth="NAME")`` or
``ctx.ws.ensure(..., auth={"scheme", "secret"})``; the host sends its value as
``Authorization`` to the hosts the secret is bound to, and only there. The plugin
never reads it. A server's own secret wins over the developer default.
"""

from __future__ import annotations

import json
import sys

import click

from maidcore.cli.state import CliState, pass_state, run, storage_platform
from maidcore.errors import InvalidArgument


def _value(value: str | None, from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.read()
        return text[:-1] if text.endswith("\n") else text
    if value is not None:
        return value
    return click.prompt("secret value", hide_input=True, confirmation_prompt=True)


@click.group("secrets")
def secrets_group() -> None:
    """Auth secrets plugins send as Authorization (never see), and hosts admins approved."""


@secrets_group.command("set-auth")
@click.argument("plugin_id")
@click.argument("name")
@click.option("--host", "hosts", multiple=True, required=True, help="a host the secret may be sent to (repeatable)")
@click.option("--server", "server_id", default="", help="this server's own value (default: the developer default)")
@click.option("--value", help="the value (prefer --value-stdin or the prompt: a command line is often logged)")
@click.option("--value-stdin", is_flag=True, help="read the value from standard input")
@pass_state
def set_auth(
    state: CliState, plugin_id: str, name: str, hosts: tuple[str, ...], server_id: str, value, value_stdin: bool
) -> None:
    """Store auth secret NAME of PLUGIN_ID, bound to --host(s)."""
    secret = _value(value, value_stdin)

    async def body() -> None:
        async with storage_platform(state) as platform:
            await platform.storage.secrets.set_auth(plugin_id, server_id, name, secret, list(hosts))

    try:
        run(body)
    except InvalidArgument as exc:
        raise click.ClickException(exc.message) from None
    where = f"server {server_id}" if server_id else "every server without its own"
    click.echo(f"auth secret {name} of {plugin_id} set for {where}; sent only to {', '.join(sorted(hosts))}")


@secrets_group.command("delete-auth")
@click.argument("plugin_id")
@click.argument("name")
@click.option("--server", "server_id", default="", help="the server's own value (default: the developer default)")
@pass_state
def delete_auth(state: CliState, plugin_id: str, name: str, server_id: str) -> None:
    """Remove auth secret NAME of PLUGIN_ID (the server's own, or the developer default)."""

    async def body() -> bool:
        async with storage_platform(state) as platform:
            return await platform.storage.secrets.delete_auth(plugin_id, server_id, name)

    if not run(body):
        raise click.ClickException(f"{plugin_id} has no auth secret {name} for {server_id or 'the default'}")
    click.echo(f"auth secret {name} of {plugin_id} deleted")


@secrets_group.command("list")
@click.argument("plugin_id")
@click.option("--server", "server_id", default=None, help="only this server's secrets and approvals")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_command(state: CliState, plugin_id: str, server_id: str | None, as_json: bool) -> None:
    """Auth secrets (names and hosts, never values) and approved hosts of PLUGIN_ID."""

    async def body() -> tuple[list, list]:
        async with storage_platform(state) as platform:
            infos = await platform.storage.secrets.list_auth(plugin_id, server_id)
            approvals = []
            if server_id:
                approvals = await platform.records.list_host_approvals(server_id=server_id, plugin_id=plugin_id)
            return infos, approvals

    infos, approvals = run(body)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "auth_secrets": [{"server_id": i.server_id, "name": i.name, "hosts": list(i.hosts)} for i in infos],
                    "approved_hosts": [
                        {"kind": a.kind, "host": a.host, "approved_by": a.approved_by} for a in approvals
                    ],
                }
            )
        )
        return
    for info in infos:
        where = f"server {info.server_id}" if info.server_id else "default"
        click.echo(f"{info.name} ({where}): {', '.join(info.hosts)}")
    for approval in approvals:
        click.echo(f"approved {approval.kind} host {approval.host} (by {approval.approved_by or 'unknown'})")
    if not infos and not approvals:
        click.echo("nothing stored")


@secrets_group.command("revoke-host")
@click.argument("plugin_id")
@click.argument("host")
@click.option("--server", "server_id", required=True)
@click.option("--kind", type=click.Choice(["http", "ws"]), required=True, help="which approval")
@pass_state
def revoke_host(state: CliState, plugin_id: str, host: str, server_id: str, kind: str) -> None:
    """Withdraw a host a server admin approved for PLUGIN_ID (a running server drops its sockets there)."""

    async def body() -> bool:
        async with storage_platform(state) as platform:
            return await platform.records.remove_host_approval(server_id, plugin_id, kind, host.lower())

    if not run(body):
        raise click.ClickException(f"{host} is not an approved {kind} host of {plugin_id} on {server_id}")
    click.echo(f"{kind} host {host} of {plugin_id} on {server_id} revoked")


COMMANDS = (secrets_group,)
