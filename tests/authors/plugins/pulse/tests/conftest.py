import importlib.util
import sys
from pathlib import Path

import pytest
from yourbot_sdk.testing import MockClock, MockContext, make_event

_main_py = Path(__file__).resolve().parent.parent / "__main__.py"
spec = importlib.util.spec_from_file_location("plugin_main", _main_py)
plugin_main = importlib.util.module_from_spec(spec)
sys.modules["plugin_main"] = plugin_main
spec.loader.exec_module(plugin_main)


@pytest.fixture
def ctx():
    caps = [
        "storage:kv",
        "storage:secrets",
        "discord:send_message",
        "discord:read",
        "interaction:respond",
        "proxy:http",
    ]
    return MockContext(plugin_id="pulse", capabilities=caps, clock=MockClock(start=1_767_225_600.0))


@pytest.fixture
def pulse_event():
    def build(sub, channel_id="60", **options):
        opts = [{"name": k, "type": 3, "value": v} for k, v in options.items()]
        return make_event(
            "interaction_create",
            command_name="pulse",
            channel_id=channel_id,
            options=[{"name": sub, "type": 1, "options": opts}],
        )

    return build
