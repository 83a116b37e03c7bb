"""The ``[discord]`` settings section (``MAIDCORE_DISCORD__*``), registered through ``register_settings``."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr


class DiscordSettings(BaseModel):
    token: SecretStr | None = None  # no token: local mode, the bundled emulator stands in for Discord
    shard_ids: list[int] | None = None  # shards this node runs; None = all
    shard_count: int | None = None  # None = Discord's recommendation
    api_base: str | None = None  # REST base URL override (the emulator sets it)
    # no token: use the emulator already running at this URL (e.g. http://127.0.0.1:8787) instead of starting one
    emulator_url: str | None = None
    emulator_host: str = "127.0.0.1"
    emulator_port: int = 8787
    demo: bool = True  # with the emulator: create the demo guild and install examples/
