"""Requirements are installed at install time into the per-version site dir the container reads."""

from __future__ import annotations

import pytest
from maidcore_docker.backend import DockerBackend
from maidcore_docker.dependencies import installable, requirement_name
from maidcore_docker.settings import DockerSettings

from maidcore.layers.sandbox import DependencyInstallError, WorkerSpec
from tests.extensions.maidcore_docker.support import PROBE, probe, running_backend, write_bundle


def test_the_sdk_line_comments_and_blanks_are_not_installed():
    lines = ["# deps", "", "mmo-maid-sdk>=0.5.5,<0.6", "MMO_Maid.SDK", "six==1.16.0  # pinned", "attrs[tests]>=23"]
    assert installable(lines) == ["six==1.16.0", "attrs[tests]>=23"]


@pytest.mark.parametrize(
    "line", ["-r other.txt", "--index-url https://evil.example/simple", "https://x/y.whl", "./local", "pkg @ file:///x"]
)
def test_options_urls_and_paths_are_refused(line):
    with pytest.raises(DependencyInstallError, match="is not allowed"):
        requirement_name(line)


async def test_only_the_sdk_requested_leaves_an_empty_site_dir(tmp_path):
    backend = DockerBackend(DockerSettings(), data_dir=tmp_path)
    site = tmp_path / "sites" / "p" / "1.0.0"
    await backend.prepare_version(tmp_path, site, ["mmo-maid-sdk>=0.5.5,<0.6", "# nothing else"])
    assert site.is_dir()
    assert list(site.iterdir()) == []


async def test_an_uninstallable_requirement_fails_with_pips_message_and_leaves_nothing(tmp_path):
    backend = DockerBackend(DockerSettings(), data_dir=tmp_path)
    site = tmp_path / "sites" / "p" / "1.0.0"
    with pytest.raises(DependencyInstallError) as caught:
        await backend.prepare_version(tmp_path, site, ["maidcore-no-such-distribution-zz==9.9.9"])
    message = str(caught.value)
    assert "maidcore-no-such-distribution-zz==9.9.9" in message
    assert "No matching distribution found" in message or "Could not find a version" in message
    assert not site.exists()
    assert list(site.parent.iterdir()) == [] if site.parent.exists() else True


@pytest.mark.docker
async def test_installed_requirement_is_importable_in_the_container_and_read_only(
    tmp_path, docker_client, runtime_image
):
    bundle = write_bundle(tmp_path / "bundle", PROBE)
    site = tmp_path / "sites" / "deps" / "1.0.0"
    async with running_backend(tmp_path / "data", docker_client) as backend:
        await backend.prepare_version(bundle, site, ["six==1.16.0", "mmo-maid-sdk"])
        assert (site / "six.py").is_file()
        assert not list(site.glob("mmo_maid_sdk*"))
        worker = await backend.spawn(WorkerSpec("deps", "1.0.0", bundle, "maidcore-test-deps", site_dir=site))
        await worker.readline()
        answer = await probe(
            worker,
            """
            import six, mmo_maid_sdk
            result = {"six": six.__file__, "sdk": mmo_maid_sdk.__file__}
            try:
                open("/site/injected.py", "w")
            except OSError as exc:
                result["write"] = exc.errno
            """,
        )
        assert answer["value"]["six"] == "/site/six.py"
        assert answer["value"]["sdk"].startswith("/opt/maidcore/sdk/")  # the preinstalled SDK wins
        assert answer["value"]["write"] == 30  # EROFS
