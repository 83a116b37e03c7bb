"""One emulator and one discord.py event source per test module, connected for real over loopback."""

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

from maidcore.scope import Scope

ALICE, BOB, CAROL = "900000000000000201", "900000000000000202", "900000000000000203"
RESTRICTED_GUILD = "900000000000000777"
OTHER_GUILD = "900000000000000888"


class RecordingSink:
    """An ``EventSink`` that keeps every event and lets a test wait for the one it expects."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], str | None]] = []
        self.names: list[str] = []
        self._changed = asyncio.Condition()

    async def publish(self, event: dict[str, Any], *, target_plugin: str | None = None, event_type: str = "") -> None:
        async with self._changed:
            self.events.append((event, target_plugin))
            self.names.append(event_type or event["type"])
            self._changed.notify_all()

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
    await src.start(sink, frozenset(EVENT_TYPES))
    yield src
    await src.close()


@pytest.fixture
def demo() -> Scope:
    return Scope(DEMO_GUILD_ID, "tester")


@pytest.fixture
def general(emulator) -> str:
    return emulator.channel_named(DEMO_GUILD_ID, "general")
