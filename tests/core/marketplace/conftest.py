from __future__ import annotations

import pytest

from tests.core.marketplace.platforms import open_platform


@pytest.fixture
async def platform(tmp_path, pg_fresh_url):
    p = await open_platform(tmp_path / "data", storage={"database_url": pg_fresh_url})
    yield p
    await p.close()
