"""Registers the ``discord`` event source (discord.py; the local emulator when no token is set)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl

if TYPE_CHECKING:
    from maidcore.layers import RegisterEventSource
    from maidcore.platform import Platform


def build(platform: Platform):
    from maidcore_discord.source import DiscordEventSource

    return DiscordEventSource(
        platform.settings.discord,
        records=lambda: platform.storage.records,
        state_dir=platform.data_dir / "discord",
        event_types=lambda: _runner_types(platform),
    )


def _runner_types(platform: Platform) -> frozenset[str]:
    """Event types the running plugins registered handlers for (empty until the runner can say)."""
    types = getattr(platform.runner, "event_types", None)
    return frozenset(types() if callable(types) else types or ())


@hookimpl
def register_event_sources(register: RegisterEventSource) -> None:
    register("discord", build)


@hookimpl
def register_settings(register) -> None:
    from maidcore_discord.settings import DiscordSettings

    register("discord", DiscordSettings)
