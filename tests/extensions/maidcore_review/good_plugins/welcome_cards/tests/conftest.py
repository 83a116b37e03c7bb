"""Test setup: the plugin folder on sys.path and the SDK fixtures (mmo_ctx, mmo_clock, mmo_plugin)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mmo_maid_sdk.pytest_plugin import *  # noqa: E402,F403
