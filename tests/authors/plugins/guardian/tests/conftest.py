"""Load __main__.py as `plugin_main` (as `yourbot new` does) and give each test a fresh context."""

import importlib.util
import sys
from pathlib import Path

import pytest
from yourbot_sdk.testing import MockClock, MockContext

_main_py = Path(__file__).resolve().parent.parent / "__main__.py"
spec = importlib.util.spec_from_file_location("plugin_main", _main_py)
plugin_main = importlib.util.module_from_spec(spec)
sys.modules["plugin_main"] = plugin_main
spec.loader.exec_module(plugin_main)

CAPS = [
    "storage:kv",
    "discord:send_message",
    "discord:delete_message",
    "discord:moderate_members",
    "discord:read",
    "interaction:respond",
    "events:message_content",
]


@pytest.fixture
def clock():
    return MockClock(start=1_767_225_600.0)  # 2026-01-01T00:00:00Z


@pytest.fixture
def ctx(clock):
    return MockContext(server_id="4242", plugin_id="guardian", capabilities=CAPS, clock=clock)


@pytest.fixture
def command():
    from yourbot_sdk.testing import make_event

    def build(name, options, user_id="100"):
        return make_event("interaction_create", command_name=name, options=options, user_id=user_id)

    return build
