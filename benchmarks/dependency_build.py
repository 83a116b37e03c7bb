"""Publish time of a plugin with one wheel and one sdist dependency, measured in one run.

    .venv/bin/python benchmarks/dependency_build.py [--runs 3]

The sdist (``benchsdist``, a ``setup.py`` project) is served by a local index; the wheel
(``six``) and setuptools (to build the sdist) come from PyPI. Prints medians of:

- baseline: the host's ``pip install --target`` of both, the way publishing worked before
  (it runs the sdist's build code on the host, which is why it is gone);
- the Docker backend's ``prepare_version`` (a build container, the index reached through
  the host's relay, the result unpacked on the host);
- a whole publish through the marketplace (review, then publish) on the Docker backend;
- the process backend's wheels-only install of the wheel alone (it refuses the sdist).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from maidcore_docker.backend import DockerBackend, docker_client
from maidcore_docker.image import ensure_build_image, ensure_image
from maidcore_docker.settings import DockerSettings
from maidcore_process.backend import ProcessBackend
from maidcore_process.settings import ProcessSettings

from maidcore.extensions import Extensions
from maidcore.marketplace import publishing, review
from maidcore.platform import Platform
from maidcore.requirements import host_ca_file
from maidcore.settings import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.package_index import make_sdist, serve_index

PYPI = "https://pypi.org/simple"
SETUP = """
from setuptools import setup
setup(name="benchsdist", version="1.0", py_modules=["benchsdist"])
"""
WHEEL = "six==1.17.0"
SDIST = "benchsdist==1.0"
MAIN = """
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def handle(ctx, event):
    pass


if __name__ == "__main__":
    plugin.run()
"""
MANIFEST = """{"id": "bench_deps", "name": "Bench Deps", "version": "%s", "description": "benchmark",
"author": "bench", "capabilities_required": []}"""


def median(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def host_pip(target: Path, index_url: str) -> None:
    host = index_url.split("//", 1)[1].split("/", 1)[0]
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-cache-dir", "--disable-pip-version-check"]
    indexes = ["--index-url", index_url, "--extra-index-url", PYPI, "--trusted-host", host]
    env = {"PATH": os.defpath, "HOME": str(target.parent), "PIP_CONFIG_FILE": os.devnull}  # no host pip config
    ca = host_ca_file()
    cert = ["--cert", str(ca)] if ca else []
    subprocess.run([*pip, "--target", str(target), *indexes, *cert, WHEEL, SDIST], check=True, env=env)


def plugin_dir(root: Path, version: str) -> Path:
    root.mkdir(parents=True)
    (root / "manifest.json").write_text(MANIFEST % version)
    (root / "__main__.py").write_text(MAIN)
    (root / "benchsdist_user.py").write_text("import benchsdist  # noqa: F401\nimport six  # noqa: F401\n")
    (root / "requirements.txt").write_text(f"{WHEEL}\n{SDIST}\nmmo-maid-sdk>=0.5.5,<0.6\n")
    return root


async def main(runs: int) -> None:
    client = docker_client()
    runtime = ensure_image(client, DockerSettings())
    ensure_build_image(client, DockerSettings(), runtime)
    client.close()
    with tempfile.TemporaryDirectory(prefix="maidcore-bench-deps-") as tmp:
        root = Path(tmp)
        async with serve_index() as index:
            index.add("benchsdist", make_sdist(root, "benchsdist", "1.0", {"setup.py": SETUP}))
            settings = DockerSettings(index_url=index.url, extra_index_urls=[PYPI])

            baseline, build, published, wheels = [], [], [], []
            for n in range(runs):
                started = time.perf_counter()
                await asyncio.to_thread(host_pip, root / f"host-{n}", index.url)
                baseline.append(time.perf_counter() - started)

                backend = DockerBackend(settings, data_dir=root / "data")
                started = time.perf_counter()
                await backend.prepare_version(root, root / f"site-{n}", [WHEEL, SDIST])
                build.append(time.perf_counter() - started)
                await backend.close()

                process = ProcessBackend(ProcessSettings(index_url=PYPI))
                started = time.perf_counter()
                await process.prepare_version(root, root / f"wheels-{n}", [WHEEL])
                wheels.append(time.perf_counter() - started)

            platform = Platform(
                load_settings(
                    data_dir=root / "platform",
                    sandbox_backend="docker",
                    install_poll_seconds=0,
                    docker=settings.model_dump(),
                ),
                extensions=Extensions.load(),
            )
            await platform.open_storage()
            platform.review_checks = platform.extensions.review_checks()
            try:
                for n in range(runs):
                    version = f"1.0.{n}"
                    source = plugin_dir(root / f"plugin-{n}", version)
                    started = time.perf_counter()
                    record = await review.submit(platform, "bench", source, is_admin=True)
                    assert record.status.value == "approved", record.findings
                    await publishing.publish(platform, "bench_deps", version)
                    published.append(time.perf_counter() - started)
            finally:
                await platform.close()

    print()
    print(f"one wheel ({WHEEL}) and one sdist ({SDIST}, setup.py; setuptools from PyPI), {runs} runs each:")
    print(f"  host pip install --target (baseline, runs build code on the host)   {median(baseline)}")
    print(f"  docker backend prepare_version (build container + relay)           {median(build)}")
    print(f"  whole publish on docker (review + publish, the build included)     {median(published)}")
    print(f"  process backend, the wheel alone (wheels only, no build)           {median(wheels)}")
    print(f"  build container vs host pip: {statistics.median(build) / statistics.median(baseline):.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.runs))
