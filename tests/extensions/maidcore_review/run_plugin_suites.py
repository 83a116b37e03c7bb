"""Run the own test suite of each good plugin, one after another in this process, as ``pytest`` in its folder would.

    python run_plugin_suites.py DIR [DIR ...]   → prints one JSON line {"plugin", "exit_code", "output"} per plugin

Each plugin is its own rootdir (``--confcutdir`` keeps this repository's conftests out); the modules one
plugin imports (``plugin_main``, its packages) are forgotten before the next runs, so same-named modules
of two plugins never meet.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest


def forget_modules(root: Path) -> None:
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if name == "plugin_main" or path.startswith(str(root)) or name in ("conftest",):
            del sys.modules[name]


def run(root: Path) -> tuple[int, str]:
    saved_path = list(sys.path)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = pytest.main(
                [
                    str(root / "tests"),
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--rootdir={root}",
                    f"--confcutdir={root}",
                    "-c",
                    "/dev/null",
                    "--import-mode=importlib",
                    "-W",
                    "ignore::DeprecationWarning",
                    "-W",
                    "ignore::pytest.PytestDeprecationWarning",
                ]
            )
    finally:
        sys.path[:] = saved_path
        forget_modules(root)
    return int(code), out.getvalue()


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        root = Path(arg).resolve()
        code, output = run(root)
        print(json.dumps({"plugin": root.name, "exit_code": code, "output": output[-4000:]}), flush=True)
