"""The warm pool: spares per version, handed out without an engine call, capped, reaped, never stale."""

from __future__ import annotations

import asyncio
import os

import pytest

from maidcore.layers.sandbox import WorkerSpec
from tests.extensions.maidcore_docker.support import PROBE, containers_of, probe, running_backend, write_bundle

pytestmark = [pytest.mark.docker]


def spec(bundle, name, version="1.0.0", plugin="pooled"):
    # container names are engine-wide: the pid keeps parallel test processes' names apart
    return WorkerSpec(plugin, version, bundle, f"{name}-{os.getpid()}")


async def wait_for(predicate, timeout=20.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_spawn_claims_the_prewarmed_spare_and_renames_it(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "probe", PROBE)
    async with running_backend(tmp_path / "data", docker_client, warm_pool_size=2) as backend:
        await backend.prewarm(spec(bundle, "unused"))
        (spare,) = backend.pool.spares()
        worker = await backend.spawn(spec(bundle, "maidcore-test-claimed"))
        assert worker is spare
        assert backend.pool.hits == 1
        assert worker.name == f"maidcore-test-claimed-{os.getpid()}"
        assert await worker.readline() == b'{"ready": true}\n'
        assert (await probe(worker, "import os; result = os.getuid()"))["value"] == 65534
        # the claim started a replacement spare for the next restart of this version
        await wait_for(lambda: len(backend.pool) == 1)
        await wait_for(
            lambda: (
                docker_client.api.inspect_container(worker.container_id)["Name"]
                == f"/maidcore-test-claimed-{os.getpid()}"
            )
        )
        labels = docker_client.api.inspect_container(worker.container_id)["Config"]["Labels"]
        assert labels["maidcore.plugin"] == "pooled" and labels["maidcore.version"] == "1.0.0"


async def test_a_cold_spawn_warms_a_spare_for_the_next_restart(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "probe", PROBE)
    async with running_backend(tmp_path / "data", docker_client, warm_pool_size=1) as backend:
        first = await backend.spawn(spec(bundle, "maidcore-test-cold"))
        assert backend.pool.misses == 1
        await wait_for(lambda: len(backend.pool) == 1)
        await first.stop()
        second = await backend.spawn(spec(bundle, "maidcore-test-restart"))
        assert backend.pool.hits == 1
        assert await second.readline() == b'{"ready": true}\n'


async def test_spares_are_per_version_and_capped_oldest_first(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "probe", PROBE)
    async with running_backend(tmp_path / "data", docker_client, warm_pool_size=2) as backend:
        for version in ("1.0.0", "1.1.0", "1.2.0"):
            await backend.prewarm(spec(bundle, "x", version=version))
        assert [w.spec.version for w in backend.pool.spares()] == ["1.1.0", "1.2.0"]
        await wait_for(lambda: len(containers_of(docker_client, backend)) == 2)
        # a version without a spare starts cold, and never gets another version's container
        worker = await backend.spawn(spec(bundle, "maidcore-test-v1", version="1.0.0"))
        assert worker not in [*backend.pool.spares()]
        assert (
            docker_client.api.inspect_container(worker.container_id)["Config"]["Labels"]["maidcore.version"] == "1.0.0"
        )


async def test_idle_spares_are_reaped_and_removed(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "probe", PROBE)
    async with running_backend(
        tmp_path / "data", docker_client, warm_pool_size=2, warm_pool_idle_reap_seconds=0.5
    ) as backend:
        await backend.prewarm(spec(bundle, "x"))
        assert len(backend.pool) == 1
        await wait_for(lambda: len(backend.pool) == 0, timeout=10)
        await wait_for(lambda: containers_of(docker_client, backend) == [], timeout=10)


async def test_a_spare_that_died_is_never_handed_out(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "dies", "import sys\nsys.exit(4)\n")
    async with running_backend(tmp_path / "data", docker_client, warm_pool_size=2) as backend:
        await backend.prewarm(spec(bundle, "x", plugin="dies"))
        (spare,) = backend.pool.spares()
        await asyncio.wait_for(spare.wait(), 30)
        worker = await backend.spawn(spec(bundle, "maidcore-test-dies", plugin="dies"))
        assert worker is not spare
        status = await asyncio.wait_for(worker.wait(), 30)
        assert status.reason == "exit code 4"
        await asyncio.sleep(0.5)
        assert len(backend.pool) == 0  # a version whose spares die is not warmed again
        await wait_for(lambda: containers_of(docker_client, backend) == [])


async def test_pool_size_zero_disables_the_pool(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "probe", PROBE)
    async with running_backend(tmp_path / "data", docker_client, warm_pool_size=0) as backend:
        await backend.prewarm(spec(bundle, "x"))
        await backend.spawn(spec(bundle, "maidcore-test-nopool"))
        await asyncio.sleep(0.3)
        assert len(backend.pool) == 0
        assert len(containers_of(docker_client, backend)) == 1


def spare_containers(docker_client, backend) -> set[str]:
    """Running warm-spare containers of this backend, as the engine lists them (by their ``maidcore-warm-`` name)."""
    return {
        c["Id"]
        for c in containers_of(docker_client, backend)
        if c["State"] == "running" and any(name.startswith("/maidcore-warm-") for name in c["Names"])
    }


async def test_a_burst_of_versions_grows_the_pool_and_the_next_burst_adopts_spares(
    tmp_path, docker_client, runtime_image
):
    """Floor 1, ceiling 3: three versions starting at once find no spare; each keeps one, the next starts take them."""
    bundle = write_bundle(tmp_path / "probe", PROBE)
    versions = ("1.0.0", "1.1.0", "1.2.0")
    async with running_backend(
        tmp_path / "data", docker_client, warm_pool_size=1, warm_pool_max=3, warm_pool_idle_reap_seconds=8
    ) as backend:
        first = await asyncio.gather(*(backend.spawn(spec(bundle, f"maidcore-test-a{v}", v)) for v in versions))
        assert [w.adopted for w in first] == [False] * 3 and backend.pool.size == 3
        await wait_for(lambda: len(backend.pool) == 3, timeout=60)  # with a fixed pool of 1 only the newest stays
        assert spare_containers(docker_client, backend) == {w.container_id for w in backend.pool.spares()}
        for worker in first:
            await worker.stop(1)
        second = await asyncio.gather(*(backend.spawn(spec(bundle, f"maidcore-test-b{v}", v)) for v in versions))
        assert [w.adopted for w in second] == [True] * 3
        assert [await w.readline() for w in second] == [b'{"ready": true}\n'] * 3
        for worker in second:
            await worker.stop(1)
        # no start takes the refilled spares: after the idle period the target is the floor and they are gone
        await wait_for(lambda: backend.pool.size == 1 and len(backend.pool) <= 1, timeout=40)
        await wait_for(lambda: len(spare_containers(docker_client, backend)) <= 1, timeout=20)
        assert backend.pool.sizing.shrunk == 1


async def test_close_cancels_spare_starts_still_queued_instead_of_running_them(tmp_path, docker_client, runtime_image):
    """Each cold start queues a spare for its version; a node closing then must not start them one by one."""
    bundle = write_bundle(tmp_path / "probe", PROBE)
    launched: list[str] = []
    async with running_backend(tmp_path / "data", docker_client, warm_pool_size=2, concurrent_spawns=1) as backend:
        real_launch = backend._launch

        async def counted(spec, *, name, track=True):
            launched.append(name)
            return await real_launch(spec, name=name, track=track)

        backend._launch = counted
        node = backend.node
        workers = await asyncio.gather(
            *(backend.spawn(spec(bundle, f"maidcore-test-v{v}", f"1.0.{v}")) for v in range(4))
        )
        # the first starts; each queued a spare fill behind the others (the first may be under way now)
        assert len([name for name in launched if "maidcore-warm-" not in name]) == 4
    spares = [name for name in launched if "maidcore-warm-" in name]
    assert len(spares) <= 1, f"spares started while closing: {spares}"  # at most the one already under way
    assert all(worker.ended for worker in workers)
    assert docker_client.api.containers(all=True, filters={"label": [f"maidcore.node={node}"]}) == []
