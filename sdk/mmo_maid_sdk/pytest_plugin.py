"""Opt-in pytest fixtures for plugin projects (never auto-loaded; there is no pytest11 entry point).

Enable it with ``pytest_plugins = ["mmo_maid_sdk.pytest_plugin"]`` in the rootdir ``conftest.py``,
``-p mmo_maid_sdk.pytest_plugin``, or ``from mmo_maid_sdk.pytest_plugin import *`` in a conftest.
Importing it switches on no-run mode, so importing a plugin whose ``run()`` is unconditional is safe.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from . import _plugin
from ._loader import MODULE_NAME, load_plugin_module
from .testing import MockClock, MockContext

__all__ = ["mmo_clock", "mmo_ctx", "mmo_plugin"]

_plugin.no_run = True

#: 2026-01-01T00:00:00Z, the start of ``mmo_clock``.
CLOCK_START = 1767225600.0


@pytest.fixture
def mmo_ctx() -> MockContext:
    """A fresh ``MockContext()`` (every capability granted)."""
    return MockContext()


@pytest.fixture
def mmo_clock() -> MockClock:
    """A frozen ``MockClock`` at 2026-01-01T00:00:00Z; move it with ``advance()``."""
    return MockClock(start=CLOCK_START)


@pytest.fixture
def mmo_plugin(request: pytest.FixtureRequest) -> ModuleType:
    """The project's ``__main__.py`` loaded as module ``plugin_main`` (reused if a conftest loaded it)."""
    loaded = sys.modules.get(MODULE_NAME)
    if loaded is not None:
        return loaded
    root = Path(request.config.rootpath)
    for candidate in (root, *root.parents[:1]):
        if (candidate / "__main__.py").is_file():
            return load_plugin_module(candidate)
    raise pytest.UsageError(f"mmo_plugin: no __main__.py in {root} or its parent; run pytest from the plugin folder")
