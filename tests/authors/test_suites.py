"""The promise, as plugin authors check it: a suite that passes on the official SDK 0.10.1 passes unchanged on ours.

Three plugins written the way an author writes them against the newest official wheel (moderation,
leveling/economy with a dashboard, a status-page watcher): each one's own pytest suite runs on the
official testing kit (in the cached venv of ``tests/official_sdks.py``) and on ours, and every
test must end the same way on both; ``yourbot validate`` and ``yourbot doctor`` must exit the same
way. A test that passes on the official kit and fails on ours names the difference to fix in ``sdk/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.authors.plugins import NAMES, copy_project, run_suite
from tests.official_sdks import NEWEST, official_python_or_skip

OURS = Path(sys.executable)


@pytest.fixture(scope="module")
def official() -> Path:
    return official_python_or_skip(*NEWEST)


def test_there_are_author_plugins():
    assert {"guardian", "levels", "pulse"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_suite_passes_unchanged_on_ours_as_on_the_official_sdk(name, official, tmp_path):
    theirs = run_suite(official, copy_project(name, tmp_path / "official"))
    assert theirs.returncode == 0 and theirs.outcomes, f"{name}'s suite must pass on {NEWEST}:\n{theirs.output}"
    assert set(theirs.outcomes.values()) == {"PASSED"}
    ours = run_suite(OURS, copy_project(name, tmp_path / "ours"))
    differing = {t: (o, ours.outcomes.get(t)) for t, o in theirs.outcomes.items() if ours.outcomes.get(t) != o}
    assert differing == {}, f"(official, ours) per test:\n{differing}\n{ours.output}"
    assert ours.outcomes == theirs.outcomes and ours.returncode == 0


def _yourbot(python: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = python.parent / "yourbot"
    return subprocess.run([str(script), *args], cwd=project, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("command", ["validate", "doctor"])
def test_cli_exits_as_the_official_one(name, command, official, tmp_path):
    theirs = _yourbot(official, copy_project(name, tmp_path / "official"), command)
    ours = _yourbot(OURS, copy_project(name, tmp_path / "ours"), command)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr  # the author fixed every error the official tool saw
    assert ours.returncode == theirs.returncode, ours.stdout + ours.stderr
