"""Registers the ``discord`` event source (discord.py; the local emulator when no token is set)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl

if TYPE_CHECKING:
    from maidcore.layers import LayerContext, RegisterEventSource
    from maidcore_discord.settings import DiscordSettings


def build(context: LayerContext[DiscordSettings]):
    from maidcore_discord.source import DiscordEventSource

    return DiscordEventSource(
        context.settings,
        records=lambda: context.records,
        state_dir=context.data_dir / "discord",
        event_types=context.event_types.current,
    )


@hookimpl
def register_event_sources(register: RegisterEventSource) -> None:
    register("discord", build, settings="discord")


@hookimpl
def register_settings(register) -> None:
    from maidcore_discord.settings import DiscordSettings

    register("discord", DiscordSettings)
