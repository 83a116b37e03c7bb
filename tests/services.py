"""Find the real services a test needs, or skip (fail under MAIDCORE_REQUIRE_SERVICES=1) saying what is missing."""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

REQUIRED = os.environ.get("MAIDCORE_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when CI requires every service."""
    if REQUIRED:
        pytest.fail(f"required service missing (MAIDCORE_REQUIRE_SERVICES=1): {reason}", pytrace=False)
    pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_url() -> str:
    url = os.environ.get("MAIDCORE_TEST_POSTGRES_URL", "postgresql://maidcore:maidcore@127.0.0.1:5432/maidcore")
    parsed = urlparse(url)
    if not _port_open(parsed.hostname or "127.0.0.1", parsed.port or 5432):
        unavailable(
            f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port or 5432} (set MAIDCORE_TEST_POSTGRES_URL)"
        )
    return url


def redis_url() -> str:
    url = os.environ.get("MAIDCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parsed = urlparse(url)
    if not _port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379):
        unavailable(f"Redis is not reachable at {parsed.hostname}:{parsed.port or 6379} (set MAIDCORE_TEST_REDIS_URL)")
    return url


def package_index(host: str = "pypi.org") -> str:
    """The public package index (tests that build sdists fetch setuptools from it), or skip."""
    if not _port_open(host, 443):
        unavailable(f"the package index {host}:443 is not reachable (dependency builds need it)")
    return f"https://{host}/simple"


def docker_client():
    """A connected docker SDK client."""
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # the SDK raises several types for "no engine"
        unavailable(f"Docker engine is not reachable ({exc.__class__.__name__}); start dockerd")
    return client


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    unavailable("headless Chromium is not installed (apt-get install chromium)")
    raise AssertionError("unreachable")
