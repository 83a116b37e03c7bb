"""Opt-in pytest fixtures for plugin projects (never auto-loaded; there is no pytest11 entry point).

Enable it with ``pytest_plugins = ["yourbot_sdk.pytest_plugin"]`` in the rootdir ``conftest.py``,
``-p yourbot_sdk.pytest_plugin``, or ``from yourbot_sdk.pytest_plugin import *`` in a conftest
(``mmo_maid_sdk.pytest_plugin`` is the same module). Importing it switches on no-run mode, so
importing a plugin whose ``run()`` is unconditional is safe. Each fixture has a ``yourbot_`` and
an ``mmo_`` name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from . import _plugin
from ._loader import MODULE_NAME, load_plugin_module
from .testing import MockClock, MockContext

__all__ = ["mmo_clock", "mmo_ctx", "mmo_plugin", "yourbot_clock", "yourbot_ctx", "yourbot_plugin"]

_plugin.no_run = True

#: 2026-01-01T00:00:00Z, the start of ``yourbot_clock``.
CLOCK_START = 1767225600.0


@pytest.fixture
def yourbot_ctx() -> MockContext:
    """A fresh ``MockContext()`` (the default capability grant)."""
    return MockContext()


@pytest.fixture
def yourbot_clock() -> MockClock:
    """A frozen ``MockClock`` at 2026-01-01T00:00:00Z; move it with ``advance()``."""
    return MockClock(start=CLOCK_START)


@pytest.fixture
def yourbot_plugin(request: pytest.FixtureRequest) -> ModuleType:
    """The project's ``__main__.py`` loaded as module ``plugin_main`` (reused if a conftest loaded it)."""
    loaded = sys.modules.get(MODULE_NAME)
    if loaded is not None:
        return loaded
    root = Path(request.config.rootpath)
    for candidate in (root, *root.parents[:1]):
        if (candidate / "__main__.py").is_file():
            return load_plugin_module(candidate)
    raise pytest.UsageError(f"no __main__.py in {root} or its parent; run pytest from the plugin folder")


@pytest.fixture
def mmo_ctx() -> MockContext:
    """``yourbot_ctx`` under its pre-0.6 name."""
    return MockContext()


@pytest.fixture
def mmo_clock() -> MockClock:
    """``yourbot_clock`` under its pre-0.6 name."""
    return MockClock(start=CLOCK_START)


@pytest.fixture
def mmo_plugin(yourbot_plugin: ModuleType) -> ModuleType:
    """``yourbot_plugin`` under its pre-0.6 name."""
    return yourbot_plugin
