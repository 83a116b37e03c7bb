"""A node's cluster metrics follow its leases on a real coordinator (once per engine): held, taken, lost, backlog."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from maidcore import metrics
from maidcore.cluster import ShardLeases
from maidcore.settings import ClusterSettings


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """What ``GET /metrics`` answers (``maidcore.web.probes`` serves ``metrics.exposition()``)."""
    out = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            out[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return out


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_shards_held_takeovers_losses_and_unacked_backlog(coordinators):
    a, b = coordinators
    settings = ClusterSettings(lease_seconds=30, takeover_grace_seconds=60)  # no grabbing node-b's share

    async def nothing(_):
        return None

    leases = ShardLeases(a, "node-a", settings, serve=nothing, stop=nothing)
    leases.shard_count = 2
    before = scrape()
    await leases.tick()  # alone: node-a takes both shards
    assert sorted(leases.held) == [0, 1]
    await a.append(leases.held[0], {"t": "MESSAGE_CREATE", "n": 1})
    await a.append(leases.held[1], {"t": "MESSAGE_CREATE", "n": 2})
    await a.append(leases.held[1], {"t": "MESSAGE_CREATE", "n": 3})
    await leases.sample_backlog()
    now = scrape()
    assert delta(before, now, "maidcore_cluster_shards_held") == 2
    assert delta(before, now, "maidcore_cluster_lease_takeovers_total") == 2
    assert delta(before, now, "maidcore_cluster_unacked_events") == 3

    await b.heartbeat("node-b", 30)  # shard 1 is node-b's share: node-a hands it over
    await leases.tick()
    await leases.sample_backlog()
    now = scrape()
    assert sorted(leases.held) == [0]
    assert delta(before, now, "maidcore_cluster_shards_held") == 1
    assert delta(before, now, "maidcore_cluster_lease_losses_total", reason="handed") == 1
    assert delta(before, now, "maidcore_cluster_unacked_events") == 1  # shard 1's two left with it

    await a.release(leases.held[0])  # the lease moves away behind node-a's back
    assert await b.acquire(0, "node-b", 30) is not None
    await leases.tick()
    now = scrape()
    assert leases.held == {}
    assert delta(before, now, "maidcore_cluster_shards_held") == 0
    assert delta(before, now, "maidcore_cluster_lease_losses_total", reason="lost") == 1
    assert delta(before, now, "maidcore_cluster_unacked_events") == 0
    await leases.close()
