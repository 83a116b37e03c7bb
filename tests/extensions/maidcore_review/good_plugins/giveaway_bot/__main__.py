"""Raffles: /raffle to start one, an Enter button, draws every five minutes."""

from raffle import app

plugin = app.plugin

if __name__ == "__main__":
    plugin.run()
