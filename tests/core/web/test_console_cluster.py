"""The console's Cluster page on a node that is in a cluster (Redis coordinator): its shards, tokens, backlog."""

from __future__ import annotations

import asyncio
import re
import uuid

from maidcore.cluster.redis_coordinator import RedisCoordinator
from maidcore.settings import ClusterSettings
from tests.cluster.engines import forget

from .console_helpers import ERIN, browser, console_settings, serving, sign_in


async def test_the_cluster_page_shows_this_node_its_shards_and_an_unheld_backlog(tmp_path, redis_url):
    """Shards past the node's count that a lease was once taken on are listed too (their logs may hold events)."""
    prefix = f"maidcore-test-{uuid.uuid4().hex[:8]}"
    settings = console_settings(tmp_path / "data", admins=[ERIN])
    settings = settings.model_copy(
        update={"cluster": ClusterSettings(coordinator_url=redis_url, key_prefix=prefix, node_id="page-node")}
    )
    try:
        async with serving(settings) as (platform, base):
            node = platform.cluster
            assert node is not None
            platform.events.emulator.state.add_user(ERIN, "erin", global_name="Erin")
            for _ in range(100):  # the node takes its shards on its first lease round
                if node.leases.held:
                    break
                await asyncio.sleep(0.1)
            held = dict(node.leases.held)
            assert held, "the node took no shard"
            coordinator = node.coordinator
            # a shard past the node's count, leased once by a node that died with two events unacked
            dead = await coordinator.acquire(node.leases.shard_count, "gone-node", 30)
            await coordinator.append(dead, {"t": "MESSAGE_CREATE"})
            await coordinator.append(dead, {"t": "MESSAGE_CREATE"})
            await coordinator.release(dead)
            http = browser()
            try:
                await sign_in(http, base, ERIN)
                async with http.get(base + "/cluster") as resp:
                    page = await resp.text()
                    assert resp.status == 200, page[:500]
            finally:
                await http.close()
    finally:
        cleanup = RedisCoordinator(redis_url, prefix)
        await cleanup.start()
        await forget(cleanup)
        await cleanup.close()
    assert '<strong data-testid="this-node">page-node</strong>' in page
    assert re.search(r'data-testid="live-nodes">.*page-node', page)
    rows = dict(re.findall(r'<tr data-shard="(\d+)">(.*?)</tr>', page, re.S))
    assert sorted(map(int, rows)) == [*range(node.leases.shard_count), dead.shard]
    for shard, lease in held.items():
        cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[str(shard)], re.S)
        assert cells[1] == "page-node" and cells[2] == str(lease.token)
    dead_cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[str(dead.shard)], re.S)
    assert "nobody" in dead_cells[1] and ">2<" in dead_cells[4]
    assert f"Nobody holds shard {dead.shard}" in page and "2 events unacked in all" in page
    assert 'href="/cluster" aria-current="page"' in page
