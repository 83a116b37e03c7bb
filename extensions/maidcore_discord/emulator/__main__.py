"""``python -m maidcore_discord.emulator [host] [port] [--guilds N] [--shards M]``: the emulator alone.

Nodes point at it with ``MAIDCORE_DISCORD__EMULATOR_URL=http://host:port`` and stay in local mode.
"""

import argparse
import asyncio

from maidcore_discord.emulator.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m maidcore_discord.emulator", description=__doc__)
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", type=int, default=8787)
    parser.add_argument("--guilds", type=int, default=0, help="extra guilds to create, spread over the shards (0)")
    parser.add_argument("--shards", type=int, default=1, help="shard count GET /gateway/bot recommends (1)")
    parser.add_argument("--max-concurrency", type=int, default=1, help="IDENTIFY buckets it announces (1)")
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo guild")
    args = parser.parse_args(argv)
    if args.guilds < 0 or args.shards < 1 or args.max_concurrency < 1:
        parser.error("--guilds must be >= 0, --shards and --max-concurrency >= 1")
    asyncio.run(
        serve(
            args.host,
            args.port,
            guilds=args.guilds,
            shards=args.shards,
            max_concurrency=args.max_concurrency,
            demo=not args.no_demo,
        )
    )


if __name__ == "__main__":
    main()
