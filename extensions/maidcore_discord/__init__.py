"""The default event source: discord.py against Discord or the bundled local emulator."""
