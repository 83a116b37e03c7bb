"""The plugins a third-party author would write against the official SDK 0.10.1, and how to run their suites.

Each directory under ``plugins/`` is a plugin project as its author keeps it (``__main__.py``,
``manifest.json``, ``requirements.txt``, ``tests/`` with a ``conftest.py`` that loads the plugin
as the official scaffold does). Its suite is written to pass on the official testing kit; the
differential tests run it unchanged on the official wheel and on ours, in a copy of the project
(so neither this repository's conftest nor a stale ``__pycache__`` takes part).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent / "plugins"
NAMES = sorted(p.name for p in PLUGINS.iterdir() if (p / "manifest.json").is_file())
_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", re.MULTILINE)


@dataclass
class SuiteRun:
    returncode: int
    outcomes: dict[str, str]  # test node id -> PASSED / FAILED / ERROR / ...
    output: str


def copy_project(name: str, dest: Path) -> Path:
    """A copy of the plugin project ``name`` at ``dest/name`` (without caches)."""
    target = dest / name
    shutil.copytree(PLUGINS / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    return target


def run_suite(python: Path | str, project: Path) -> SuiteRun:
    """``python -m pytest`` in ``project`` as its author runs it; every test's outcome by node id."""
    done = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    outcomes = {node: outcome for outcome, node in _OUTCOME.findall(done.stdout)}
    return SuiteRun(done.returncode, outcomes, output)
