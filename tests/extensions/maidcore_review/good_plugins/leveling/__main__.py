"""Levels & Ranks."""

from levels.handlers import plugin

if __name__ == "__main__":
    plugin.run()
