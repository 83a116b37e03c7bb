"""Fixtures for the SDK suite. Nothing here imports maidcore: the tox ``sdk`` env installs only the SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .rpc_host import PluginProcess


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., PluginProcess]]:
    """Start plugin processes from source text; every one is killed at teardown."""
    procs: list[PluginProcess] = []

    def make(body: str, **kwargs) -> PluginProcess:
        proc = PluginProcess(tmp_path / f"plugin{len(procs)}", body, **kwargs)
        procs.append(proc)
        return proc

    yield make
    for proc in procs:
        proc.kill()
