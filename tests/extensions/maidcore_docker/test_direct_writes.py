"""Lines to a container keep their order across direct and queued writes (the process backend's test, on Docker).

The deaf container's bound is checked end to end by ``tests/hostile/test_bounds.py`` on both backends.
"""

from __future__ import annotations

import os

import pytest

from maidcore.layers.sandbox import WorkerSpec
from tests.extensions.maidcore_docker.support import running_backend, write_bundle
from tests.extensions.maidcore_process.test_direct_writes import CHECKER, lines_keep_their_order

pytestmark = [pytest.mark.docker]


async def test_lines_keep_their_order_across_direct_and_queued_writes(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "checker", CHECKER.replace("else 1.0", "else 3.0"))
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(WorkerSpec("order", "1.0.0", bundle, f"maidcore-test-order-{os.getpid()}"))
        try:
            await lines_keep_their_order(worker, worker._writer.transport.get_write_buffer_size)
        finally:
            await worker.stop(grace=2)
