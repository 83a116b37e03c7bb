"""The README's and docs/api.md's author quick start work as written: paths, guilds, requirements, pytest."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from maidcore_discord.emulator import DEMO_GUILD_ID
from packaging.requirements import Requirement

from tests.official_sdks import NEWEST

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
API = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
SESSION = API.split("### Example session", 1)[1].split("\n## ", 1)[0]  # the walk-through a newcomer copies
YOURBOT = [sys.executable, "-m", "yourbot_sdk.cli"]


def test_the_documented_bundle_paths_are_what_yourbot_bundle_writes(tmp_path):
    subprocess.run([*YOURBOT, "new", "dice_roller", "--template", "basic"], cwd=tmp_path, check=True, timeout=60)
    subprocess.run([*YOURBOT, "bundle", "./dice_roller"], cwd=tmp_path, check=True, timeout=60, capture_output=True)
    api_zips = set(re.findall(r"dice_roller/dist/[\w.-]+\.zip", API))
    assert api_zips, "docs/api.md names no bundle"
    for path in api_zips:  # docs/api.md runs from the directory holding the project
        assert (tmp_path / path).is_file(), (
            f"docs/api.md names {path}; yourbot bundle wrote {list(tmp_path.rglob('*.zip'))}"
        )
    readme_zips = set(re.findall(r"(?<![\w/])dist/[\w.-]+\.zip", README))
    assert readme_zips
    for path in readme_zips:  # the README runs inside the project (cd dice_roller)
        assert (tmp_path / "dice_roller" / path).is_file(), f"README names {path}"


def test_the_documented_installs_target_the_emulators_demo_guild():
    guilds = re.findall(r"marketplace install (\d+)", README) + re.findall(r"--server (\d{6,})", README)
    guilds += re.findall(r"/servers/(\d+)/", SESSION) + re.findall(r"--server-admin (\d+)", SESSION)
    assert guilds and set(guilds) == {DEMO_GUILD_ID}


def test_a_generated_plugins_requirements_install_from_pypi(tmp_path):
    subprocess.run([*YOURBOT, "new", "dice_roller", "--template", "basic"], cwd=tmp_path, check=True, timeout=60)
    lines = [
        line.strip()
        for line in (tmp_path / "dice_roller" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sdk = [Requirement(line) for line in lines if Requirement(line).name in ("yourbot-sdk", "mmo-maid-sdk")]
    assert [r.name for r in sdk] == ["yourbot-sdk"]
    # the newest SDK on PyPI satisfies it (a range only this repository's SDK meets would fail outside it)
    assert sdk[0].specifier.contains(NEWEST[1]), f"{sdk[0]} excludes yourbot-sdk {NEWEST[1]}, the newest on PyPI"


def test_scripts_serve_installs_pytest_for_the_authors_pytest_step():
    assert "python -m pytest" in README
    serve = (ROOT / "scripts" / "serve").read_text()
    extra = re.search(r"bash scripts/bootstrap (\w+)", serve)
    assert extra, "scripts/serve installs no extra, so pytest is missing after it"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(Requirement(r).name == "pytest" for r in extras[extra.group(1)])
