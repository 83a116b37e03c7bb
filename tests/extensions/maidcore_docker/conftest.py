from __future__ import annotations

import pytest

from tests.extensions.maidcore_docker.support import ensure_test_image


@pytest.fixture(scope="session")
def runtime_image(docker_client) -> str:
    """Build the runtime image once per session; instant when it is up to date."""
    return ensure_test_image(docker_client)
