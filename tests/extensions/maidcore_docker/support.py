"""Helpers shared by the Docker backend tests and the hostile-plugin suite."""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from maidcore_docker.backend import DockerBackend, sweep_orphans
from maidcore_docker.image import ensure_build_image, ensure_image
from maidcore_docker.settings import DockerSettings

from tests.services import run_started

#: A bundle that runs Python snippets sent on stdin and answers each with one JSON line:
#: the guarantees are checked from inside a real container, by the code a plugin could run.
PROBE = textwrap.dedent(
    """
    import json, sys
    out = sys.stdout
    out.write('{"ready": true}\\n'); out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        scope = {}
        try:
            exec(request["code"], scope)
            answer = {"ok": True, "value": scope.get("result")}
        except BaseException as exc:
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "errno": getattr(exc, "errno", None)}
        out.write(json.dumps(answer, default=str) + "\\n"); out.flush()
    """
)


def write_bundle(root: Path, source: str, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "__main__.py").write_text(textwrap.dedent(source))
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    return root


def ensure_test_image(docker_client) -> str:
    """The runtime image for the current sources (built once, then a hash and a lookup), and the build image
    on top of it.

    Also clears containers that crashed earlier runs left behind (their creator is gone); orphans made during
    this run are left to the tests that made them (another pytest-xdist worker's test may be about to sweep
    them and count).
    """
    sweep_orphans(docker_client, created_before=run_started())
    settings = DockerSettings()
    tag = ensure_image(docker_client, settings, progress=print)
    ensure_build_image(docker_client, settings, tag, progress=print)
    return tag


@asynccontextmanager
async def running_backend(data_dir: Path, docker_client=None, **overrides: Any) -> AsyncIterator[DockerBackend]:
    settings = DockerSettings(**{"warm_pool_size": 0, **overrides})
    backend = DockerBackend(settings, data_dir=data_dir, client=docker_client)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


async def probe(worker, code: str) -> dict:
    """Run ``code`` in the probe worker; its ``result`` variable comes back as ``value``."""
    await worker.write(json.dumps({"code": textwrap.dedent(code)}).encode() + b"\n")
    line = await worker.readline()
    assert line, "the probe worker ended before answering"
    return json.loads(line)


def containers_of(docker_client, backend: DockerBackend) -> list[dict]:
    return docker_client.api.containers(all=True, filters={"label": [f"maidcore.node={backend.node}"]})
