"""``maidcore cluster-demo``: a local cluster in one command — the emulator and N nodes, each its own process.

The nodes share the PostgreSQL database and the Redis given, and nothing else:
each gets its own data directory under ``--dir``. They point at the emulator
(``discord.emulator_url``), so they stay in local mode. Ctrl-C stops them all.
"""

from __future__ import annotations

import signal
import tempfile
import time
from pathlib import Path

import click

from maidcore.cluster.local import LocalCluster, ensure_database
from maidcore.settings import mask_url


@click.command("cluster-demo")
@click.option("--nodes", default=2, show_default=True, type=click.IntRange(1, 16), help="maidcore serve processes")
@click.option("--guilds", default=4, show_default=True, type=click.IntRange(0, 100_000), help="emulator guilds")
@click.option("--shards", default=2, show_default=True, type=click.IntRange(1, 1024), help="emulator shard count")
@click.option(
    "--redis-url",
    envvar="MAIDCORE_CLUSTER__REDIS_URL",
    help="the cluster's Redis (redis://host:port/db): coordinator and shared rate limits",
)
@click.option(
    "--coordinator-url",
    envvar="MAIDCORE_CLUSTER__COORDINATOR_URL",
    help="the coordination engine if not --redis-url: postgresql://… runs the cluster on PostgreSQL alone",
)
@click.option(
    "--database-url",
    envvar="MAIDCORE_STORAGE__DATABASE_URL",
    required=True,
    help="the PostgreSQL database every node shares (postgresql://user:password@host/db)",
)
@click.option("--port", default=8787, show_default=True, help="emulator port (0: any free port)")
@click.option("--dir", "base", type=click.Path(file_okay=False, path_type=Path), help="node data directories (temp)")
def cluster_demo_command(
    nodes: int,
    guilds: int,
    shards: int,
    redis_url: str | None,
    coordinator_url: str | None,
    database_url: str,
    port: int,
    base: Path | None,
) -> None:
    """Start the Discord emulator with GUILDS guilds on SHARDS shards, and NODES cluster nodes against it."""
    if not redis_url and not coordinator_url:
        raise click.UsageError(
            "give the cluster a coordinator: --redis-url redis://… or --coordinator-url postgresql://…"
        )
    if not database_url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise click.BadParameter(
            f"{database_url!r}: the nodes share one PostgreSQL database, give a postgresql:// URL",
            param_hint="--database-url",
        )
    try:
        created = ensure_database(database_url)
    except Exception as exc:  # psycopg's errors say what is wrong (refused, password, no CREATEDB)
        raise click.ClickException(f"--database-url {mask_url(database_url)}: {exc}".strip()) from None
    if created:
        click.echo(f"created the database {created}")
    base = base or Path(tempfile.mkdtemp(prefix="maidcore-cluster-"))
    local = LocalCluster(
        base,
        redis_url=redis_url,
        database_url=database_url,
        coordinator_url=coordinator_url,
        guilds=guilds,
        shards=shards,
        emulator_port=port,
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the demo like Ctrl-C: nodes, emulator
    try:
        local.start_emulator()
        click.echo(f"emulator: {local.emulator_url}/  ({guilds} guilds + the demo guild on {shards} shards)")
        for n in range(nodes):
            name = f"node{n + 1}"
            local.start_node(name)
            click.echo(f"{name}: data {base / name}  log {base / (name + '.log')}")
        click.echo("Ctrl-C stops every node and the emulator")
        while True:
            time.sleep(1)
            for name, proc in list(local.nodes.items()):
                if proc.poll() is not None:
                    click.echo(f"{name} exited ({proc.returncode}); see {base / (name + '.log')}", err=True)
                    local.nodes.pop(name)
            if not local.nodes:
                raise click.ClickException("every node exited; nothing is serving (their logs say why)")
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        local.close()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


COMMANDS = (cluster_demo_command,)
