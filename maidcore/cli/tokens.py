"""``maidcore tokens``: API tokens for developers, server admins, reviewers and admins."""

from __future__ import annotations

import json

import click

from maidcore.cli.state import CliState, pass_state, run, storage_platform
from maidcore.marketplace import tokens
from maidcore.marketplace.errors import MarketplaceError
from maidcore.records import Role


@click.group("tokens")
def tokens_group() -> None:
    """Create and revoke HTTP API tokens (only their sha256 is stored)."""


@tokens_group.command("create")
@click.option("--developer", metavar="NAME", help="manages only the plugins NAME uploads")
@click.option("--server-admin", metavar="GUILD_ID", help="manages installs on that guild only")
@click.option(
    "--reviewer", metavar="[NAME]", is_flag=False, flag_value="reviewer", help="reviews versions (approve/reject)"
)
@click.option("--admin", metavar="[NAME]", is_flag=False, flag_value="admin", help="may call every route")
@click.option("--json", "as_json", is_flag=True, help="print {token, role, subject, token_hash}")
@pass_state
def create_command(
    state: CliState,
    developer: str | None,
    server_admin: str | None,
    reviewer: str | None,
    admin: str | None,
    as_json: bool,
) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    chosen = [
        (role, subject)
        for role, subject in (
            (Role.DEVELOPER, developer),
            (Role.SERVER_ADMIN, server_admin),
            (Role.REVIEWER, reviewer),
            (Role.ADMIN, admin),
        )
        if subject is not None
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --developer NAME, --server-admin GUILD_ID, --reviewer NAME, --admin NAME"
        )
    role, subject = chosen[0]

    async def body():
        async with storage_platform(state) as platform:
            return await tokens.create_token(platform.records, role, subject)

    try:
        token, record = run(body)
    except MarketplaceError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(
            json.dumps({"token": token, "role": role.value, "subject": record.subject, "token_hash": record.token_hash})
        )
        return
    click.echo(token)
    click.echo(f"{role.value} token for {record.subject}; store it now, it is not shown again", err=True)


@tokens_group.command("revoke")
@click.argument("token")
@pass_state
def revoke_command(state: CliState, token: str) -> None:
    """Revoke a token (the token itself or its hash)."""

    async def body():
        async with storage_platform(state) as platform:
            await tokens.revoke(platform.records, token)

    try:
        run(body)
    except MarketplaceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("revoked")


COMMANDS = (tokens_group,)
