"""The Cluster page (platform admins): live nodes, who holds each shard, and what waits unacked in each shard's log.

The same survey as ``maidcore cluster status``, read from the coordinator this
node uses, so it shows the other nodes too (and shards nobody holds).
"""

from __future__ import annotations

from aiohttp import web

from maidcore.cluster.overview import survey
from maidcore.settings import mask_url
from maidcore.web.console import pages, security

routes = web.RouteTableDef()


@routes.get("/cluster")
@pages.page
async def cluster_page(request: web.Request) -> web.Response:
    """Platform admins: the cluster as the coordinator sees it; a lone node says it runs alone."""
    who = pages.signed_in(request)
    if not who.is_admin:
        raise pages.Refusal(
            403,
            "Platform admins only",
            "The cluster page is for platform admins (web.admins lists them by Discord user id); "
            f"yours is {who.user_id}.",
        )
    platform = request.app[security.PLATFORM]
    node = platform.cluster
    if node is None:
        return pages.render(request, "cluster.html", title="Cluster", node=None, overview=None, problem=None)
    where = mask_url(platform.settings.cluster.url or "")
    try:
        overview = await survey(node.coordinator, at_least=node.leases.shard_count)
    except Exception as exc:  # the coordinator is down: say so on the page, the node's watchdog does the rest
        problem = f"the coordinator {where} does not answer: {type(exc).__name__}: {exc}"
        return pages.render(request, "cluster.html", title="Cluster", node=node, overview=None, problem=problem)
    return pages.render(
        request, "cluster.html", title="Cluster", node=node, overview=overview, problem=None, where=where
    )
