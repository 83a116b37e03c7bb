"""The runtime image: content-tagged, idempotent, rebuilt (thin layer only) when the SDK changes."""

from __future__ import annotations

import shutil
import time

import pytest
from click.testing import CliRunner
from maidcore_docker.image import (
    ImageBuildError,
    ImageSources,
    base_tag,
    default_cache_dir,
    ensure_image,
    ensure_offline_base,
    find_sources,
    image_exists,
    runtime_tag,
    stale_image_warning,
)
from maidcore_docker.settings import DockerSettings

pytestmark = [pytest.mark.docker]


def copy_sources(tmp_path) -> ImageSources:
    sources = find_sources()
    shutil.copytree(sources.sdk_package, tmp_path / "sdk", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(sources.sandbox_dir, tmp_path / "sandbox")
    return ImageSources(sdk_package=tmp_path / "sdk", sandbox_dir=tmp_path / "sandbox")


def test_runtime_tag_follows_the_sdk_and_sandbox_content(tmp_path):
    sources = copy_sources(tmp_path)
    base = base_tag(DockerSettings())
    tag = runtime_tag(sources, base)
    assert tag == runtime_tag(sources, base)
    (sources.sdk_package / "_extra.py").write_text("X = 1\n")
    changed = runtime_tag(sources, base)
    assert changed != tag
    (sources.sdk_package / "__pycache__").mkdir(exist_ok=True)
    (sources.sdk_package / "__pycache__" / "junk.pyc").write_bytes(b"junk")
    assert runtime_tag(sources, base) == changed  # caches never change the tag
    assert runtime_tag(sources, "python:3.12-slim") != changed


def test_base_tag_follows_the_offline_recipe():
    assert base_tag(DockerSettings()) == base_tag(DockerSettings())
    assert base_tag(DockerSettings(debian_suite="trixie")) != base_tag(DockerSettings())


def test_up_to_date_image_is_one_lookup(docker_client, runtime_image):
    messages = []
    started = time.perf_counter()
    tag = ensure_image(docker_client, DockerSettings(), progress=messages.append)
    elapsed = time.perf_counter() - started
    assert tag == runtime_image
    assert messages == [f"runtime image {tag} is up to date"]
    assert docker_client.images.get("maidcore-sandbox:latest").id == docker_client.images.get(tag).id
    print(f"up-to-date check took {elapsed * 1000:.0f} ms")


def test_changed_sdk_rebuilds_only_the_runtime_layer(tmp_path, docker_client, runtime_image):
    sources = copy_sources(tmp_path)
    (sources.sdk_package / "_marker.py").write_text("MARK = 'rebuilt'\n")
    settings = DockerSettings(image="maidcore-sandbox-test:changed")
    messages = []
    tag = ensure_image(docker_client, settings, progress=messages.append, sources=sources)
    try:
        assert tag != runtime_image
        assert not any("debootstrap" in m for m in messages)  # the cached base was reused
        out = docker_client.containers.run(
            tag,
            entrypoint=[
                "/opt/maidcore/python",
                "-c",
                "import sys; sys.path.insert(0, '/opt/maidcore/sdk');import mmo_maid_sdk._marker as m; print(m.MARK)",
            ],
            remove=True,
            network_mode="none",
        )
        assert out.strip() == b"rebuilt"
        warning = stale_image_warning(docker_client, "maidcore-sandbox-test:changed")
        assert warning is not None and "maidcore sandbox build-image" in warning  # not this checkout's SDK
        current = ensure_image(docker_client, DockerSettings())  # (the SDK may have moved during the session)
        assert stale_image_warning(docker_client, current) is None
        again = []
        assert ensure_image(docker_client, settings, progress=again.append, sources=sources) == tag
        assert again == [f"runtime image {tag} is up to date"]
    finally:
        docker_client.images.remove("maidcore-sandbox-test:changed", force=True)
        docker_client.images.remove(tag, force=True)


def test_runtime_image_is_small_and_runs_as_nobody(docker_client, runtime_image):
    image = docker_client.images.get(runtime_image)
    assert image.attrs["Config"]["User"] == "65534:65534"
    assert image.attrs["Size"] < 160 * 1024 * 1024
    out = docker_client.containers.run(
        runtime_image,
        entrypoint=["/opt/maidcore/python", "-c", "import mmo_maid_sdk; print(mmo_maid_sdk.__version__)"],
        environment={"PYTHONPATH": "/opt/maidcore/sdk"},
        remove=True,
        network_mode="none",
    )
    assert out.strip().startswith(b"0.11.")


def maidcore_cli():
    from maidcore.cli import make_cli
    from maidcore.extensions import Extensions

    return make_cli(Extensions.load())


def test_cli_build_image_through_the_register_commands_hook(docker_client, runtime_image):
    runtime_image = ensure_image(docker_client, DockerSettings())  # (the SDK may have moved during the session)
    result = CliRunner().invoke(maidcore_cli(), ["sandbox", "build-image", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "is up to date" in result.output
    assert f"maidcore-sandbox:latest -> {runtime_image}" in result.output


def test_cli_refuses_offline_with_from():
    result = CliRunner().invoke(maidcore_cli(), ["sandbox", "build-image", "--offline", "--from", "python:3.11-slim"])
    assert result.exit_code == 2
    assert "--offline and --from exclude each other" in result.output


def test_lost_base_image_is_reimported_from_the_cached_tarball(docker_client, runtime_image):
    settings = DockerSettings()
    ref = base_tag(settings)
    docker_client.images.remove(ref, force=True)  # untags it; the runtime image keeps its layers
    messages = []
    assert ensure_offline_base(docker_client, settings, progress=messages.append) == ref
    assert docker_client.images.get(ref)
    if (default_cache_dir(settings) / f"{ref.split(':', 1)[1]}.tar").is_file():
        assert any(m.startswith("importing ") for m in messages)
        assert not any("debootstrap" in m for m in messages)


def test_unpullable_from_image_fails_saying_how_to_build_offline(docker_client, runtime_image):
    with pytest.raises(ImageBuildError) as caught:
        ensure_image(docker_client, DockerSettings(), from_image="registry.invalid/python:3.11-slim")
    message = str(caught.value)
    assert "could not pull the base image registry.invalid/python:3.11-slim" in message
    assert "maidcore sandbox build-image --offline" in message


def test_from_path_builds_on_any_local_python_image(docker_client, runtime_image):
    """The registry path is the same Dockerfile FROM another base: here the offline base under a new name."""
    base = docker_client.images.get(base_tag(DockerSettings()))
    base.tag("maidcore-test-python", "local")
    settings = DockerSettings(image="maidcore-sandbox-test:from")
    tag = None
    try:
        messages = []
        tag = ensure_image(docker_client, settings, from_image="maidcore-test-python:local", progress=messages.append)
        assert any("FROM maidcore-test-python:local" in m for m in messages)
        labels = docker_client.images.get(tag).labels
        assert labels["maidcore.base"] == "maidcore-test-python:local"
    finally:
        for ref in ("maidcore-sandbox-test:from", tag, "maidcore-test-python:local"):
            if ref and image_exists(docker_client, ref):
                docker_client.images.remove(ref, force=True)
