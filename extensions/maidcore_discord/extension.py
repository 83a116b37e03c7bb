"""Registers the ``discord`` event source (discord.py), its settings, and its local mode (the emulator)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl

if TYPE_CHECKING:
    from maidcore.layers import LayerContext, RegisterEventSource
    from maidcore_discord.settings import DiscordSettings


def build(context: LayerContext[DiscordSettings]):
    from maidcore_discord.source import DiscordEventSource

    return DiscordEventSource(context.settings, local=context.local, event_types=context.event_types)


def local_mode(context: LayerContext[DiscordSettings]):
    """No token configured: the emulator stands in for Discord."""
    from maidcore_discord.local import EmulatorMode, RemoteEmulatorMode, has_token

    if has_token(context.settings):
        return None
    if context.settings.emulator_url:
        return RemoteEmulatorMode(context.settings)
    return EmulatorMode(context.settings, context.data_dir)


@hookimpl
def register_local_modes(register) -> None:
    register("discord", local_mode)


@hookimpl
def register_event_sources(register: RegisterEventSource) -> None:
    register("discord", build, settings="discord")


@hookimpl
def register_settings(register) -> None:
    from maidcore_discord.settings import DiscordSettings

    register("discord", DiscordSettings)
