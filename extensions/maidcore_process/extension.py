"""Registers the ``process`` sandbox backend through the same hook a third-party backend uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl

if TYPE_CHECKING:
    from maidcore.layers import RegisterSandboxBackend
    from maidcore.platform import Platform


def _factory(platform: Platform):
    from maidcore_process.backend import ProcessBackend

    return ProcessBackend(platform.settings.process, max_line_bytes=platform.settings.runner.max_line_bytes)


@hookimpl
def register_sandbox_backends(register: RegisterSandboxBackend) -> None:
    register("process", _factory)


@hookimpl
def register_settings(register) -> None:
    from maidcore_process.settings import ProcessSettings

    register("process", ProcessSettings)
