import importlib.util
import pathlib
import sys

from yourbot_sdk.pytest_plugin import *  # noqa: F403  (fixtures yourbot_ctx, yourbot_clock, yourbot_plugin, also as mmo_*; no-run mode)

ROOT = pathlib.Path(__file__).resolve().parents[1]
if "plugin_main" not in sys.modules:
    spec = importlib.util.spec_from_file_location("plugin_main", ROOT / "__main__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["plugin_main"] = module
    spec.loader.exec_module(module)
