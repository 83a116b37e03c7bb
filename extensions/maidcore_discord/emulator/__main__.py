"""``python -m maidcore_discord.emulator [host] [port]``: the emulator alone, with the demo guild."""

import asyncio
import sys

from maidcore_discord.emulator.server import serve

if __name__ == "__main__":
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8787
    asyncio.run(serve(host, port))
