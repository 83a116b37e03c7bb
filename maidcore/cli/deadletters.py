"""``maidcore dead-letters``: events that failed delivery 5 times, kept for inspection."""

from __future__ import annotations

import json

import click

from maidcore.cli.state import CliState, pass_state, run, storage_platform


@click.command("dead-letters")
@click.option("--plugin", "plugin_id", help="only this plugin")
@click.option("--server", "server_id", help="only this guild")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line, with the full event")
@click.option("--delete", "delete_ids", type=int, multiple=True, metavar="ID", help="delete these dead letters")
@pass_state
def dead_letters_command(state: CliState, plugin_id: str | None, server_id: str | None, as_json: bool, delete_ids):
    """List (or --delete) dead letters: events no worker acked after every redelivery."""

    async def body() -> list:
        async with storage_platform(state) as platform:
            for letter_id in delete_ids:
                await platform.records.delete_dead_letter(letter_id)
            return await platform.records.list_dead_letters(plugin_id=plugin_id, server_id=server_id)

    letters = run(body)
    for letter_id in delete_ids:
        click.echo(f"deleted dead letter {letter_id}", err=True)
    if not letters and not as_json:
        click.echo("no dead letters")
    for letter in letters:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": letter.id,
                        "server_id": letter.server_id,
                        "plugin_id": letter.plugin_id,
                        "version": letter.version,
                        "event_id": letter.event_id,
                        "event_type": letter.event.get("type"),
                        "attempts": letter.attempts,
                        "error": letter.error,
                        "created_at": letter.created_at.isoformat(),
                        "event": letter.event,
                    }
                )
            )
        else:
            click.echo(
                f"#{letter.id} {letter.created_at:%Y-%m-%d %H:%M:%S} {letter.plugin_id} {letter.version} "
                f"server {letter.server_id} {letter.event.get('type', '?')} event {letter.event_id}: "
                f"{letter.attempts} attempts, {letter.error}"
            )


COMMANDS = (dead_letters_command,)
