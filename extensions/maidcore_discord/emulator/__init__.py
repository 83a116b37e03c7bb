"""A local Discord: REST v10 and the gateway on loopback, with a web page to act as people in a guild.

discord.py connects to it exactly as it would to Discord, so ``maidcore serve``
without a token and the test suite run the production code path.
"""

from maidcore_discord.emulator.server import DEFAULT_TOKEN, Emulator
from maidcore_discord.emulator.state import APPLICATION_ID, BOT_USER_ID, DEMO_GUILD_ID, ApiError

__all__ = ["APPLICATION_ID", "BOT_USER_ID", "DEFAULT_TOKEN", "DEMO_GUILD_ID", "ApiError", "Emulator"]
