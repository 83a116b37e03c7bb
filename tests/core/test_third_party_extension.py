"""A separately installed extension distribution replaces a default layer by configuration alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "quota_limiter_dist"
ROOT = Path(__file__).resolve().parents[2]
MAIDCORE = Path(sys.executable).with_name("maidcore")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The throw-away distribution, pip-installed into its own directory (never into the test environment)."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run(
        [*pip, "--disable-pip-version-check", "--target", str(target), str(FIXTURE)],
        check=True,
        cwd=build,
        env={**os.environ, "PIP_NO_INPUT": "1"},
        capture_output=True,
    )
    assert (target / "maidcore_quota_limiter.py").is_file()
    return target


def run(site: Path, args: list[str], **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    environ.update(PYTHONPATH=str(site), **env)
    return subprocess.run(args, capture_output=True, text=True, env=environ, cwd=ROOT, timeout=120)


def test_installed_extension_is_listed_with_its_distribution(site, tmp_path):
    result = run(
        site, [str(MAIDCORE), "--data-dir", str(tmp_path), "extensions", "--json"], MAIDCORE_RATE_LIMITER="quota"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    quota = next(e for e in report["loaded"] if e["name"] == "quota")
    assert (quota["distribution"], quota["version"]) == ("maidcore-quota-limiter", "0.3.1")
    limiter = report["layers"]["rate_limiter"]
    assert limiter["chosen"] == "quota" and limiter["chosen_from"] == "quota"
    assert limiter["registered"] == {"limits": "limits", "quota": "quota"}


def test_default_stays_in_use_without_configuration(site, tmp_path):
    result = run(site, [str(MAIDCORE), "--data-dir", str(tmp_path), "extensions", "--json"])
    assert json.loads(result.stdout)["layers"]["rate_limiter"]["chosen"] == "limits"


SCRIPT = textwrap.dedent(
    """
    import asyncio, json
    from maidcore.layers import Bucket
    from maidcore.platform import Platform
    from maidcore.scope import Scope

    async def main():
        platform = Platform()
        limiter = platform.build_layer("rate_limiter", platform.settings.rate_limiter)
        scope = Scope("111", "dice_roller")
        decisions = [await limiter.hit(Bucket.EVENTS, scope) for _ in range(4)]
        print(json.dumps({"class": type(limiter).__module__ + "." + type(limiter).__name__,
                          "allowed": [d.allowed for d in decisions]}))

    asyncio.run(main())
    """
)


def test_configuration_alone_replaces_the_default_rate_limiter(site, tmp_path):
    chosen = run(
        site,
        [sys.executable, "-c", SCRIPT],
        MAIDCORE_RATE_LIMITER="quota",
        MAIDCORE_QUOTA_LIMIT="3",
        MAIDCORE_DATA_DIR=str(tmp_path),
    )
    assert chosen.returncode == 0, chosen.stderr
    data = json.loads(chosen.stdout)
    assert data == {"class": "maidcore_quota_limiter.QuotaLimiter", "allowed": [True, True, True, False]}

    default = run(site, [sys.executable, "-c", SCRIPT], MAIDCORE_DATA_DIR=str(tmp_path))
    assert json.loads(default.stdout)["class"] != "maidcore_quota_limiter.QuotaLimiter"
    assert json.loads(default.stdout)["allowed"] == [True] * 4


def test_blocking_the_extension_makes_the_choice_fail_clearly(site, tmp_path):
    result = run(
        site,
        [sys.executable, "-c", SCRIPT],
        MAIDCORE_RATE_LIMITER="quota",
        MAIDCORE_BLOCK_EXTENSIONS="quota",
        MAIDCORE_DATA_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "unknown rate_limiter 'quota': registered ones are limits" in result.stderr
