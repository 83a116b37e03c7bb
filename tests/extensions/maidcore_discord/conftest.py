"""One emulator and one discord.py event source per test module, connected for real over loopback.

The sink in front of the source is the core's own interaction routing and
command sync over in-memory records, so ownership works as on the platform.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio
from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
from maidcore_discord.emulator import permissions as perms
from maidcore_discord.settings import DiscordSettings
from maidcore_discord.source import DiscordEventSource
from mmo_maid_sdk.events import EVENT_TYPES

from maidcore.command_sync import CommandSync
from maidcore.interactions import InteractionOwners, MessageOwners
from maidcore.layers import InteractionOrigin
from maidcore.records import InstallRecord, VersionRecord, VersionStatus
from maidcore.scope import Scope
from maidcore.testing.records import MemoryRecords

ALICE, BOB, CAROL = "900000000000000201", "900000000000000202", "900000000000000203"
RESTRICTED_GUILD = "900000000000000777"
OTHER_GUILD = "900000000000000888"


class RecordingSink:
    """An ``EventSink`` that keeps every event (with the plugin the core routes it to) for tests to wait on."""

    def __init__(self, records: MemoryRecords | None = None) -> None:
        self.records = records or MemoryRecords()
        self.command_sync = CommandSync(lambda: self.records, lambda: self.source)
        self.interactions = InteractionOwners(self.command_sync, MessageOwners())
        self.source: DiscordEventSource | None = None  # set once connected, for command syncs
        self.available: list[str] = []
        self.events: list[tuple[dict[str, Any], str | None]] = []
        self.names: list[str] = []
        self._changed = asyncio.Condition()

    async def publish(
        self,
        event: dict[str, Any],
        *,
        event_type: str | None = None,
        target_plugin: str | None = None,
        origin: InteractionOrigin | None = None,
        source_key: str | None = None,
    ) -> int:
        name = event_type or event["type"]
        if name == "interaction_create":
            target_plugin = await self.interactions.route(event, target_plugin=target_plugin, origin=origin)
        async with self._changed:
            self.events.append((event, target_plugin))
            self.names.append(name)
            self._changed.notify_all()
        return 1

    async def server_available(self, server_id: str) -> None:
        self.available.append(server_id)
        await self.command_sync.server_available(server_id)

    def message_created(self, scope: Scope, message_id: str) -> None:
        self.interactions.message_created(scope, message_id)

    async def install(self, server_id: str, plugin_id: str, commands: list[dict[str, Any]]) -> None:
        """Record an install declaring ``commands`` and let the core re-sync the server, as an install does."""
        version = VersionRecord(plugin_id, "1.0.0", VersionStatus.PUBLISHED, {"slash_commands": commands}, "")
        if await self.records.get_version(plugin_id, "1.0.0") is None:
            await self.records.add_version(version)
        else:
            await self.records.update_version(version)
        await self.records.put_install(InstallRecord(server_id, plugin_id, "1.0.0", frozenset()))
        await self.command_sync.refresh(server_id)
        await self.command_sync.server_available(server_id)
        await self.command_sync.settled()

    async def wait_for(
        self, event_type: str, check: Callable[[dict[str, Any]], bool] = lambda e: True, timeout: float = 10.0
    ) -> tuple[dict[str, Any], str | None]:
        """The first recorded event of ``event_type`` passing ``check`` (waiting for it if needed)."""

        def find():
            pairs = zip(self.names, self.events, strict=True)
            return next(((e, t) for name, (e, t) in pairs if name == event_type and check(e)), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
            return find()  # type: ignore[return-value]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def emulator():
    emu = await Emulator("127.0.0.1", 0).start()
    emu.add_guild(
        "restricted",
        guild_id=RESTRICTED_GUILD,
        bot_permissions=perms.bits("view_channel", "send_messages", "read_message_history"),
        members={ALICE: "alice"},
    )
    emu.add_guild("elsewhere", guild_id=OTHER_GUILD, bot_permissions=perms.ALL & ~perms.BITS["administrator"])
    yield emu
    await emu.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sink():
    return RecordingSink()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def source(emulator, sink):
    src = DiscordEventSource(DiscordSettings(), emulator=emulator)
    sink.source = src
    await src.start(sink, frozenset(EVENT_TYPES))
    yield src
    await src.close()


@pytest.fixture
def demo() -> Scope:
    return Scope(DEMO_GUILD_ID, "tester")


@pytest.fixture
def general(emulator) -> str:
    return emulator.channel_named(DEMO_GUILD_ID, "general")
