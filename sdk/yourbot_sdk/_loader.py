"""Load a plugin's ``__main__.py`` as an importable module without running it (tests, ``mmo dev``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from . import _plugin

MODULE_NAME = "plugin_main"


def load_plugin_module(root: str | Path, name: str = MODULE_NAME) -> ModuleType:
    """Execute ``<root>/__main__.py`` as module ``name`` in no-run mode, with ``root`` first on ``sys.path``."""
    root = Path(root).resolve()
    entry = root / "__main__.py"
    if not entry.is_file():
        raise FileNotFoundError(f"{entry} not found: a plugin directory holds __main__.py at its root")
    _plugin.no_run = True
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location(name, entry)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def find_plugin(module: ModuleType) -> Any:
    """The ``Plugin`` instance a plugin module defines (``plugin`` by convention)."""
    candidate = getattr(module, "plugin", None)
    if isinstance(candidate, _plugin.Plugin):
        return candidate
    for value in vars(module).values():
        if isinstance(value, _plugin.Plugin):
            return value
    raise LookupError(f"{module.__file__} defines no Plugin instance; write plugin = Plugin() at module level")
