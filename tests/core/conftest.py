"""The core's tests use the pytest plugin extension authors get (``maidcore.testing.pytest_plugin``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def log(recording_log: list[str]) -> list[str]:
    """What the recording layers and hooks did, in order."""
    return recording_log
