from __future__ import annotations

import pytest

from tests.core.marketplace.platforms import open_platform


@pytest.fixture
async def platform(tmp_path):
    p = await open_platform(tmp_path / "data")
    yield p
    await p.close()
