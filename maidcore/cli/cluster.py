"""``maidcore cluster``: look at a running cluster through its coordinator (``status``), or start a local one.
(``demo``, also ``maidcore cluster-demo``).

``status`` asks the coordinator named by ``cluster.coordinator_url`` (the
settings every node uses), not a node, so it answers while nodes are down.
"""

from __future__ import annotations

import json

import click

from maidcore.cli.cluster_demo import cluster_demo_command
from maidcore.cli.state import CliState, pass_state, run
from maidcore.cluster.node import build_coordinator
from maidcore.cluster.overview import ClusterOverview, survey
from maidcore.settings import mask_url


@click.group("cluster")
def cluster_group() -> None:
    """Several nodes sharing a coordinator: which are alive, who holds which shard, what waits unacked."""


@cluster_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="one JSON object (nodes, shards, free, unacked) for scripts")
@click.option(
    "--shards",
    type=click.IntRange(1, 65_536),
    help="the cluster's shard count (default: the shards a lease was ever taken on)",
)
@pass_state
def status_command(state: CliState, as_json: bool, shards: int | None) -> None:
    """Live nodes; each shard's holder, fencing token, lease time left and unacked events; shards nobody holds."""
    cluster = state.settings().cluster
    url = cluster.url
    if not url:
        raise click.ClickException(
            "no cluster configured: set cluster.coordinator_url (MAIDCORE_CLUSTER__COORDINATOR_URL) "
            "to the redis:// or postgresql:// URL the nodes share"
        )

    async def look() -> ClusterOverview:
        coordinator = build_coordinator(cluster)
        try:
            await coordinator.start()
            return await survey(coordinator, shards)
        finally:
            await coordinator.close()

    try:
        overview = run(look)
    except Exception as exc:  # the engine's own error says why (refused, auth, unknown database)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(f"cluster coordinator {mask_url(url)} unreachable: {reason}") from None
    if as_json:
        click.echo(json.dumps(overview.as_json(), indent=2))
        return
    _print(overview, mask_url(url), cluster.key_prefix)


def _print(overview: ClusterOverview, where: str, prefix: str) -> None:
    click.echo(f"coordinator: {where} (prefix {prefix})")
    click.echo(f"live nodes ({len(overview.nodes)}): {', '.join(overview.nodes) or 'none'}")
    if not overview.shards:
        click.echo("shards: none yet (no node ever took a lease; give --shards to list them)")
        return
    rows = [("SHARD", "NODE", "TOKEN", "LEASE LEFT", "UNACKED", "HANDED OUT")]
    for s in overview.shards:
        rows.append(
            (
                str(s.shard),
                _holder(s.lease.node, overview.nodes) if s.lease else "-",
                str(s.lease.token) if s.lease else "-",
                f"{s.expires_in:.1f}s" if s.expires_in is not None else "-",
                str(s.unacked),
                str(s.handed_out),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    free = overview.free
    click.echo(f"free shards ({len(free)}): {', '.join(map(str, free)) or 'none'}")
    click.echo(f"unacked events: {overview.unacked}")


def _holder(node: str, live: list[str]) -> str:
    # a holder without a current heartbeat: cut off from its storage, or dying; its lease runs out unless renewed
    return node if node in live else f"{node} (not live)"


cluster_group.add_command(cluster_demo_command, "demo")

COMMANDS = (cluster_group,)
