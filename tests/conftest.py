"""Suite-wide fixtures: real services, and a host kept free of installed third-party extensions."""

from __future__ import annotations

import os

import pytest

from tests import services

# The fixtures extension authors get are the ones the project's own tests use.
pytest_plugins = ["maidcore.testing.pytest_plugin", "pytester"]

# The host's own tests see only the default extensions (third-party ones installed in
# the same environment would change what loads).
os.environ.setdefault("MAIDCORE_LOAD_EXTENSIONS", "discord,docker,process,sqlmodel,limits,review")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return services.postgres_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return services.redis_url()


@pytest.fixture(scope="session")
def docker_client():
    client = services.docker_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def chromium() -> str:
    return services.chromium_path()
