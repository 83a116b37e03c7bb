"""Moderation Bot entry point: importing the modules registers their handlers."""

from modbot import automod, commands, panel  # noqa: F401  (handlers register on import)
from modbot.app import plugin

if __name__ == "__main__":
    plugin.run()
