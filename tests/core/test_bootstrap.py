"""scripts/bootstrap says one line while it installs, and everything pip said only when the install fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PYPROJECT = """[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.10"

[tool.setuptools]
packages = ["{package}"]
"""


def skeleton(root: Path) -> Path:
    """A repository shaped like ours (``pyproject.toml``, ``sdk/``, ``scripts/bootstrap``) with tiny packages."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap", root / "scripts" / "bootstrap")
    for where, name, package in ((root, "tinycore", "tinycore"), (root / "sdk", "tinysdk", "tinysdk")):
        (where / package).mkdir(parents=True)
        (where / package / "__init__.py").write_text("")
        (where / "pyproject.toml").write_text(PYPROJECT.format(name=name, package=package))
    return root


@pytest.mark.slow
def test_bootstrap_is_one_line_and_shows_pips_output_only_on_failure(tmp_path):
    root = skeleton(tmp_path / "repo")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": sys.executable}
    done = subprocess.run(["bash", "scripts/bootstrap"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["bootstrap: installing maidcore into .venv (log: .venv/bootstrap.log)"]
    assert "Successfully installed" in (root / ".venv" / "bootstrap.log").read_text()
    again = subprocess.run(["bash", "scripts/bootstrap"], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")  # up to date: silent

    (root / "pyproject.toml").write_text("[project\nbroken")
    failed = subprocess.run(
        ["bash", "scripts/bootstrap"], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    assert failed.returncode == 1
    assert "bootstrap: installing into .venv failed" in failed.stderr
    assert "pyproject.toml" in failed.stderr  # pip's own explanation is shown
