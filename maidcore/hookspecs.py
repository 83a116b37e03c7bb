"""Every way to extend maidcore, in one file.

An extension is a module with ``@hookimpl`` functions, registered under the
entry-point group ``maidcore``. The defaults (``maidcore_discord``,
``maidcore_docker``, ``maidcore_process``, ``maidcore_sqlmodel``,
``maidcore_limits``, ``maidcore_review``) use exactly these hooks.

Layer hooks follow the registration-callback style: the host passes a
``register`` function and the extension calls it once per implementation it
provides, ``register(name, factory, settings="<its section>")``. Settings then
choose one implementation per layer by name, and its factory gets a
``maidcore.layers.LayerContext`` (its settings section, the data directory, the
record store, the handled event types, a logger) — never the platform. An
implementation may accept any subset of a hook's arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from maidcore.layers import (
        RegisterEventSource,
        RegisterLocalMode,
        RegisterRateLimiter,
        RegisterReviewCheck,
        RegisterSandboxBackend,
        RegisterSettings,
        RegisterStorage,
    )
    from maidcore.platform import Platform

PROJECT = "maidcore"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- settings ------------------------------------------------------------------


@hookspec
def register_settings(register: RegisterSettings) -> None:
    """Register settings sections: ``register(section, model)``; read from ``[section]``, ``MAIDCORE_<SECTION>__*``."""


# --- layers --------------------------------------------------------------------


@hookspec
def register_event_sources(register: RegisterEventSource) -> None:
    """Register event sources: ``register(name, factory, settings=...)``; ``factory(context)`` -> ``EventSource``."""


@hookspec
def register_local_modes(register: RegisterLocalMode) -> None:
    """Offer local modes: ``register(event_source, factory)``; ``factory(context)`` returns a ``LocalMode`` or None."""


@hookspec
def register_sandbox_backends(register: RegisterSandboxBackend) -> None:
    """Register sandbox backends: ``register(name, factory, settings=...)``; ``factory(context)`` -> a backend."""


@hookspec
def register_storage(register: RegisterStorage) -> None:
    """Register storage layers: ``register(name, factory, settings=...)``; ``factory(context)`` -> ``Storage``."""


@hookspec
def register_rate_limiters(register: RegisterRateLimiter) -> None:
    """Register rate limiters: ``register(name, factory, settings=...)``; ``factory(context)`` -> ``RateLimiter``."""


@hookspec
def register_review_checks(register: RegisterReviewCheck) -> None:
    """Register review checks: ``register(code_prefix, check, settings=...)``; every check runs on every review."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``maidcore`` command line (e.g. ``maidcore sandbox build-image``)."""


# --- lifecycle -----------------------------------------------------------------


@hookspec
def maidcore_startup(platform: Platform) -> None:
    """Called once the layers are built, before the runner starts; may be a coroutine function."""


@hookspec
def maidcore_shutdown(platform: Platform) -> None:
    """Called after the runner stopped, before the layers close; may be a coroutine function."""
