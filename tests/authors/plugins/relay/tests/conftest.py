import importlib.util
import sys
from pathlib import Path

import pytest
from yourbot_sdk.testing import MockContext, make_event

_main_py = Path(__file__).resolve().parent.parent / "__main__.py"
spec = importlib.util.spec_from_file_location("plugin_main", _main_py)
plugin_main = importlib.util.module_from_spec(spec)
sys.modules["plugin_main"] = plugin_main
spec.loader.exec_module(plugin_main)

CAPS = ["storage:kv", "storage:secrets", "proxy:websocket", "discord:send_message", "interaction:respond"]


@pytest.fixture
def ctx():
    return MockContext(plugin_id="relay", capabilities=CAPS)


@pytest.fixture
def relay_event():
    def build(sub, **options):
        types = {"channel": 7, "threshold": 10}
        opts = [{"name": k, "type": types.get(k, 3), "value": v} for k, v in options.items()]
        return make_event(
            "interaction_create", command_name="relay", options=[{"name": sub, "type": 1, "options": opts}]
        )

    return build


def frame(name, data):
    return {"name": name, "conn_id": "c1", "data": data, "binary": False}
