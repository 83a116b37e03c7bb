"""Registers the ``process`` sandbox backend through the same hook a third-party backend uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl

if TYPE_CHECKING:
    from maidcore.layers import LayerContext, RegisterSandboxBackend
    from maidcore_process.settings import ProcessSettings


def _factory(context: LayerContext[ProcessSettings]):
    from maidcore_process.backend import ProcessBackend

    return ProcessBackend(context.settings, max_line_bytes=context.max_line_bytes)


@hookimpl
def register_sandbox_backends(register: RegisterSandboxBackend) -> None:
    register("process", _factory, settings="process")


@hookimpl
def register_settings(register) -> None:
    from maidcore_process.settings import ProcessSettings

    register("process", ProcessSettings)
