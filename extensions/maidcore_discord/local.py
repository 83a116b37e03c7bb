"""Local mode of the ``discord`` event source: with no token, the bundled emulator stands in for Discord.

Offered to the platform through ``register_local_modes``; the platform starts
it just before the source, and the source connects discord.py to it exactly as
it would to Discord.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp

from maidcore.listen import cannot_listen
from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
from maidcore_discord.emulator.rest import API_PREFIX
from maidcore_discord.emulator.server import DEFAULT_TOKEN
from maidcore_discord.settings import DiscordSettings

log = logging.getLogger(__name__)

#: The emulator's state file, relative to the data directory.
STATE_FILE = "emulator/state.json"


def has_token(settings: DiscordSettings) -> bool:
    return settings.token is not None and bool(settings.token.get_secret_value().strip())


class EmulatorMode:
    """``LocalMode``: the Discord emulator on ``emulator_host:emulator_port``, with the demo guild if ``demo``."""

    name = "Discord emulator"

    def __init__(self, settings: DiscordSettings, data_dir: Path | None = None) -> None:
        self.settings = settings
        #: Guilds, channels and messages survive a restart here, so ids plugins stored stay valid.
        self.state_file = Path(data_dir) / STATE_FILE if data_dir is not None else None
        self.emulator: Emulator | None = None

    @property
    def url(self) -> str | None:
        return self.emulator.page_url if self.emulator is not None else None

    @property
    def demo_server_id(self) -> str | None:
        return DEMO_GUILD_ID if self.settings.demo else None

    def known_servers(self) -> dict[str, str] | None:
        """Guild id -> name of the emulator (running, or as its state file left it); ``None`` before it first ran."""
        if self.emulator is not None:
            return {gid: str(g.get("name", "")) for gid, g in self.emulator.state.guilds.items()}
        if self.state_file is None or not self.state_file.is_file():
            return None
        try:
            guilds = json.loads(self.state_file.read_text(encoding="utf-8"))["guilds"]
            return {str(gid): str(g.get("name", "")) for gid, g in guilds.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # an unreadable file is replaced at the next start; nothing to check against

    async def start(self) -> None:
        if self.emulator is None:
            emulator = Emulator(
                self.settings.emulator_host,
                self.settings.emulator_port,
                demo=self.settings.demo,
                state_file=self.state_file,
            )
            try:
                await emulator.start()
            except OSError as exc:
                host, port = self.settings.emulator_host, self.settings.emulator_port
                fix = "set discord.emulator_port (MAIDCORE_DISCORD__EMULATOR_PORT; 0 picks a free port)"
                raise cannot_listen("the Discord emulator", host, port, exc, fix) from None
            self.emulator = emulator
            log.info("Discord emulator running: open %s", emulator.page_url, extra={"page": emulator.page_url})

    async def close(self) -> None:
        if self.emulator is not None:
            await self.emulator.close()
            self.emulator = None


class RunningEmulator:
    """An emulator another process runs (``python -m maidcore_discord.emulator``), as the source sees one."""

    def __init__(self, url: str, bot_token: str = DEFAULT_TOKEN) -> None:
        self.base_url = url.rstrip("/")
        self.bot_token = bot_token

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def page_url(self) -> str:
        return self.base_url + "/"


class RemoteEmulatorMode:
    """``LocalMode``: the emulator at ``emulator_url``, shared by every node pointed at it (a local cluster)."""

    name = "Discord emulator"

    def __init__(self, settings: DiscordSettings) -> None:
        assert settings.emulator_url
        self.settings = settings
        self.emulator = RunningEmulator(settings.emulator_url)
        self._demo = False

    @property
    def url(self) -> str | None:
        return self.emulator.page_url

    @property
    def demo_server_id(self) -> str | None:
        return DEMO_GUILD_ID if self._demo and self.settings.demo else None

    async def start(self) -> None:
        """Check the emulator answers (and whether it has the demo guild) before the source dials it."""
        state_url = self.emulator.base_url + "/_emulator/api/state"
        try:
            timeout = aiohttp.ClientTimeout(10)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(state_url) as resp:
                resp.raise_for_status()
                state = await resp.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RuntimeError(
                f"discord.emulator_url {self.settings.emulator_url!r}: no emulator answers there ({exc}); start one "
                "with `python -m maidcore_discord.emulator` or unset discord.emulator_url to run one in this process"
            ) from exc
        self._demo = any(str(g.get("id")) == DEMO_GUILD_ID for g in state.get("guilds", []))
        log.info("using the Discord emulator at %s", self.emulator.page_url, extra={"page": self.emulator.page_url})

    async def close(self) -> None:
        return None
