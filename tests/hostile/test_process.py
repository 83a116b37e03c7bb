"""Hostile plugins on the process backend (development only: no isolation, but nothing of a plugin's
dependencies runs on the host, and nothing a worker starts outlives it). Each beside the good plugin."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.hostile import plugins
from tests.hostile.conftest import running_arena
from tests.package_index import make_sdist, make_wheel

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


def reported(outcome) -> bool:
    return bool(outcome.reports)


def alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


async def test_an_sdist_dependency_is_refused_and_never_built_on_the_host(
    process_arena, package_index, monkeypatch, tmp_path
):
    monkeypatch.setattr(process_arena.platform.sandbox.settings, "index_url", package_index.url)
    marker = Path(f"/tmp/maidcore-hostile-marker-{uuid.uuid4().hex}")
    secrets = process_arena.platform.data_dir / "secrets.key"
    package_index.add("leaky", make_sdist(tmp_path, "leaky", "1.0", {"setup.py": plugins.leaky_setup(marker, secrets)}))
    package_index.add("tinywheel", make_wheel(tmp_path, "tinywheel", "1.0", {"tinywheel.py": "VALUE = 7\n"}))

    refusal = await process_arena.refused_install("leaky", {"requirements.txt": "tinywheel==1.0\nleaky==1.0\n"})

    assert "leaky has no wheel" in refusal and "leaky-1.0.tar.gz" in refusal and "docker backend" in refusal
    assert not marker.exists()


async def test_a_requirement_line_with_a_path_is_refused_by_the_installer(process_arena, tmp_path):
    marker = tmp_path / "local-setup-ran"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "setup.py").write_text(plugins.leaky_setup(marker, tmp_path / "nothing"))
    for line in (f"leaky @ file://{tmp_path / 'src'}", str(tmp_path / "src"), f"-e {tmp_path / 'src'}"):
        refusal = await process_arena.refused_install("leaky", {"requirements.txt": line + "\n"})
        assert line in refusal and "requirements.txt refused" in refusal
    assert not marker.exists()


async def test_a_setsid_double_forked_grandchild_dies_at_shutdown(tmp_path):
    async with running_arena(tmp_path, "process") as arena:
        outcome = await arena.attack("setsid", until=reported)
        (report,) = outcome.reports
        grandchild = report["grandchild"]
        assert report["its_session"] != report["my_session"]  # out of the worker's session and group
        assert alive(grandchild)  # it outlived its parent, as a daemon would
    assert not alive(grandchild)  # the platform shut down, and took it along
