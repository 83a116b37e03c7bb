"""Suite-wide fixtures: real services, and a host kept free of installed third-party extensions."""

from __future__ import annotations

import os
import time

import pytest

from tests import services

# The fixtures extension authors get are the ones the project's own tests use.
pytest_plugins = ["maidcore.testing.pytest_plugin", "pytester"]

# The host's own tests see only the default extensions (third-party ones installed in
# the same environment would change what loads).
os.environ.setdefault("MAIDCORE_LOAD_EXTENSIONS", "discord,docker,process,sqlmodel,limits,review")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        default=os.environ.get("MAIDCORE_SLOW_TESTS") == "1",
        help="also run the tests marked slow (stress, multi-node); scripts/test and CI pass it",
    )


def pytest_configure(config: pytest.Config) -> None:
    # When this run started, inherited by pytest-xdist's workers (they start after this hook): a sweep of
    # crashed runs' leftovers removes only what is older, never what another worker's test made on purpose.
    os.environ.setdefault(services.RUN_STARTED_ENV, repr(time.time()))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A plain ``pytest`` stays fast: slow tests are deselected unless ``--slow`` asks for them."""
    if config.getoption("--slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> services.PostgresForTests:
    """``MAIDCORE_TEST_POSTGRES_URL``, or an embedded PostgreSQL server started once for the session."""
    server = services.PostgresForTests(tmp_path_factory.mktemp("postgres"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: services.PostgresForTests) -> str:
    """A superuser URL of the session's PostgreSQL server (create your own databases on it)."""
    return postgres_server.admin_url


@pytest.fixture
def pg_fresh_url(postgres_server: services.PostgresForTests) -> str:
    """A fresh database, already migrated, on the session's PostgreSQL server; dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return services.redis_url()


@pytest.fixture(scope="session")
def coordinator_database(postgres_server: services.PostgresForTests) -> str:
    """One database for the session's PostgreSQL coordinators (each test under its own prefix, as on Redis)."""
    url = postgres_server.create_database(migrated=False)
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["redis", "postgresql"])
async def coordinators(request):
    """Two nodes' coordinators under one fresh prefix, once per engine (Redis, PostgreSQL); removed afterwards."""
    from tests.cluster.engines import open_coordinators

    async with open_coordinators(request, request.param) as coords:
        yield coords


@pytest.fixture(scope="session")
def docker_client():
    client = services.docker_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def chromium() -> str:
    return services.chromium_path()
