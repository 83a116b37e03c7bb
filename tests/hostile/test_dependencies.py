"""Hostile dependencies on the Docker backend: nothing of a plugin's requirements runs on the host, and
workers see no host path. Each attack runs beside the well-behaved plugin, whose every answer is checked."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from maidcore_docker.dependencies import BuildRun

from maidcore.layers.sandbox import DependencyInstallError
from maidcore.marketplace.review import review_path
from tests import services
from tests.hostile import plugins
from tests.package_index import make_sdist, make_wheel

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

#: What the build container's environment may hold: pip's own and the relay's proxy, nothing of the host.
BUILD_ENV = {
    "PATH", "HOME", "TMPDIR", "LANG", "PYTHONPATH", "PIP_CONFIG_FILE", "PIP_NO_INPUT", "PIP_BUILD_TRACKER",
    "PYTHONNOUSERSITE", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "_PYPROJECT_HOOKS_BUILD_BACKEND",
    "LC_CTYPE",
}  # fmt: skip


def reported(outcome) -> bool:
    return bool(outcome.reports)


def serve_leaky(index, root: Path, secrets: Path) -> Path:
    """Publish ``leaky`` (an sdist whose setup.py writes a marker at a host path and reads secrets) and
    ``tinywheel`` on the test index; return the marker path."""
    marker = Path(f"/tmp/maidcore-hostile-marker-{uuid.uuid4().hex}")
    root.mkdir(parents=True, exist_ok=True)
    index.add("leaky", make_sdist(root, "leaky", "1.0", {"setup.py": plugins.leaky_setup(marker, secrets)}))
    index.add("tinywheel", make_wheel(root, "tinywheel", "1.0", {"tinywheel.py": "VALUE = 7\n"}))
    return marker


async def test_an_sdists_build_code_runs_only_in_the_build_container(arena, package_index, monkeypatch):
    pypi = services.package_index()  # setuptools, for building the sdist, comes from the public index
    settings = arena.platform.sandbox.settings
    monkeypatch.setattr(settings, "index_url", package_index.url)
    monkeypatch.setattr(settings, "extra_index_urls", [pypi])
    monkeypatch.setenv("MAIDCORE_HOSTILE_HOST_SECRET", "host-env-secret")
    secrets = arena.platform.data_dir / "secrets.key"
    key = secrets.read_text().strip()
    marker = serve_leaky(package_index, arena.root / "packages", secrets)

    outcome = await arena.attack(
        "leaky", files={"requirements.txt": "leaky==1.0\ntinywheel==1.0\nmmo-maid-sdk\n"}, until=reported
    )

    (report,) = outcome.reports
    seen = report["seen"]
    assert report["tiny"] == 7
    assert seen["marker_written"] is True  # setup.py ran, and wrote its marker inside the build container
    assert not marker.exists()  # ... never on the host
    assert set(seen["env"]) <= BUILD_ENV, set(seen["env"]) - BUILD_ENV
    assert seen[str(secrets)] == "FileNotFoundError"  # the host's data directory does not exist in there
    assert seen["/var/run/docker.sock"] == "FileNotFoundError"
    site = Path((await arena.platform.records.get_version("hostile_leaky", "1.0.0")).site_path)
    for text in (json.dumps(report), *(p.read_bytes().decode("latin-1") for p in site.rglob("*") if p.is_file())):
        assert key not in text and "host-env-secret" not in text
    assert "/simple/leaky/" in package_index.requests  # fetched through the host's relay


BAD_LINES = {
    "file URL": ("leaky @ file://{src}", "is a direct reference"),
    "file: path": ("file:{src}", "is a URL"),
    "relative path": ("../{name}", "is a local path"),
    "absolute path": ("{src}", "is a local path"),
    "editable option": ("-e {src}", "is an option line"),
    "index option": ("--index-url http://127.0.0.1:9/simple", "is an option line"),
    "URL": ("https://files.example/leaky-1.0.tar.gz", "is a URL"),
    "VCS": ("git+https://github.com/example/leaky.git", "is a VCS reference"),
    "hash option": ("leaky==1.0 --hash=sha256:00", "carries an option"),
}


@pytest.mark.parametrize("kind", list(BAD_LINES))
async def test_requirement_lines_leaving_the_index_are_refused_by_review_and_installer(
    arena, tmp_path, kind, monkeypatch
):
    builds = []
    real_run = BuildRun.run

    async def counted(self, result):
        builds.append(self.wanted)
        return await real_run(self, result)

    monkeypatch.setattr(BuildRun, "run", counted)
    marker = tmp_path / "local-setup-ran"
    src = tmp_path / "leaky-src"  # a real project: if anything built it, the marker would appear
    src.mkdir()
    (src / "setup.py").write_text(plugins.leaky_setup(marker, tmp_path / "nothing"))
    line, reason = BAD_LINES[kind]
    line = line.format(src=src, name=src.name)
    files = {"requirements.txt": f"tinywheel==1.0\n{line}\n"}

    bundle = plugins.write_plugin(tmp_path / "bundle", "hostile_leaky", plugins.HANDLERS["leaky"], files=files)
    report = review_path(arena.platform.review_checks, bundle)
    invalid = [f for f in report.findings if f.code == "requirements_invalid"]
    assert [f.line for f in invalid] == [2] and reason in invalid[0].message, report.findings

    refusal = await arena.refused_install("leaky", files)  # review bypassed: the installer refuses too
    assert reason in refusal and line in refusal
    with pytest.raises(DependencyInstallError, match=reason):  # and so does the backend itself
        await arena.platform.sandbox.prepare_version(bundle, tmp_path / "site", [line])
    assert not marker.exists()
    assert builds == []  # refused before any build container was made


async def test_mountinfo_inside_a_worker_shows_no_host_path(arena, package_index, monkeypatch):
    monkeypatch.setattr(arena.platform.sandbox.settings, "index_url", package_index.url)
    package_index.add("tinywheel", make_wheel(arena.root, "tinywheel", "1.0", {"tinywheel.py": "VALUE = 7\n"}))
    outcome = await arena.attack(
        "mountinfo",
        files={"requirements.txt": "tinywheel==1.0\n"},  # so that /site is mounted too
        until=lambda o: any("cwd" in r for r in o.reports),
    )
    *lines, report = outcome.reports
    assert all("line" in r for r in lines) and len(lines) > 20
    seen = json.dumps(outcome.reports)
    bundle = (await arena.platform.records.get_version("hostile_mountinfo", "1.0.0")).bundle_path
    host_facts = (str(arena.root), str(arena.platform.data_dir), bundle, "/bundles/", "/sites/", "hostile_mountinfo")
    for fact in host_facts:
        assert fact not in seen, fact
    assert report["cwd"] == "/plugin" and report["plugin_file"] == "/plugin/__main__.py"
    mountinfo = {r["line"].split()[4]: r["line"] for r in lines if r["source"] == "/proc/self/mountinfo"}
    for target in ("/plugin", "/site"):
        assert "/volumes/maidcore-code-" in mountinfo[target].split()[3], mountinfo[target]  # a volume, named by a hash
