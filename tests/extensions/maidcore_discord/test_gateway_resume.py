"""The emulator's gateway sessions as Discord keeps them: RESUME from any connection replays, expiry invalidates.

A raw websocket speaks the gateway protocol here (no discord.py), so each rule is
seen on the wire: replay after the named sequence then RESUMED, INVALID_SESSION
(``d: false``) once a session expired, ended cleanly, or lost the events to
replay, and one socket per session.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque

import aiohttp
from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator

from .conftest import BOB

INTENTS = (1 << 0) | (1 << 9) | (1 << 15)  # guilds, guild messages, message content


class Gateway:
    """One gateway connection: frames in order, helpers for IDENTIFY and RESUME."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seq = 0

    async def frame(self, timeout: float = 5.0) -> dict:
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return {"closed": self.ws.close_code}
            data = json.loads(msg.data)
            if data.get("s") is not None:
                self.seq = data["s"]
            if data.get("op") != 11:  # heartbeat acks are noise here
                return data

    async def dispatch(self, name: str) -> dict:
        while True:
            frame = await self.frame()
            assert "closed" not in frame, f"socket closed ({frame['closed']}) while waiting for {name}"
            if frame.get("t") == name:
                return frame

    async def identify(self, token: str) -> str:
        await self.ws.send_json({"op": 2, "d": {"token": token, "intents": INTENTS, "shard": [0, 1]}})
        ready = await self.dispatch("READY")
        return ready["d"]["session_id"]

    async def resume(self, token: str, session_id: str, seq: int) -> None:
        await self.ws.send_json({"op": 6, "d": {"token": token, "session_id": session_id, "seq": seq}})


async def connect(http: aiohttp.ClientSession, emu: Emulator) -> Gateway:
    gw = Gateway(await http.ws_connect(emu.gateway_url))
    hello = await gw.frame()
    assert hello["op"] == 10
    return gw


async def identified(http: aiohttp.ClientSession, emu: Emulator) -> tuple[Gateway, str]:
    gw = await connect(http, emu)
    session = await gw.identify(emu.bot_token)
    await emu.settle()
    while True:  # read the GUILD_CREATEs that follow READY
        try:
            await gw.frame(timeout=0.3)
        except TimeoutError:
            return gw, session


def post(emu: Emulator, *texts: str) -> None:
    general = emu.channel_named(DEMO_GUILD_ID, "general")
    for text in texts:
        emu.post_message(general, BOB, text)


async def test_resume_from_another_connection_replays_what_was_missed_then_resumed():
    async with Emulator("127.0.0.1", 0) as emu, aiohttp.ClientSession() as http:
        first, session = await identified(http, emu)
        post(emu, "seen")
        assert (await first.dispatch("MESSAGE_CREATE"))["d"]["content"] == "seen"
        recorded = first.seq
        post(emu, "seen but not recorded")
        await first.dispatch("MESSAGE_CREATE")
        await first.ws.close(code=4000)  # a crash, not a clean close: the session stays
        post(emu, "missed 1", "missed 2")
        await emu.settle()
        assert [s["connected"] for s in await _sessions(http, emu)] == [False]

        second = await connect(http, emu)  # another process, knowing only the session id and a sequence
        await second.resume(emu.bot_token, session, recorded)
        replayed = []
        while (frame := await second.frame())["t"] != "RESUMED":
            replayed.append((frame["s"], frame["d"]["content"]))
        assert [text for _, text in replayed] == ["seen but not recorded", "missed 1", "missed 2"]
        assert [s for s, _ in replayed] == list(range(recorded + 1, recorded + 4))
        post(emu, "live again")
        assert (await second.dispatch("MESSAGE_CREATE"))["d"]["content"] == "live again"
        assert emu.resumes == 1 and emu.invalid_sessions == 0
        assert [(s["connected"], s["via"]) for s in await _sessions(http, emu)] == [(True, "resume")]


async def test_a_session_is_never_live_on_two_sockets():
    async with Emulator("127.0.0.1", 0) as emu, aiohttp.ClientSession() as http:
        first, session = await identified(http, emu)
        second = await connect(http, emu)
        await second.resume(emu.bot_token, session, first.seq)
        assert (await second.dispatch("RESUMED"))["op"] == 0
        assert await first.frame() == {"closed": 4000}  # the older socket was closed
        post(emu, "only once")
        assert (await second.dispatch("MESSAGE_CREATE"))["d"]["content"] == "only once"


async def test_invalid_session_when_expired_ended_unknown_or_past_the_buffer():
    async with Emulator("127.0.0.1", 0, resume_seconds=0.3) as emu, aiohttp.ClientSession() as http:

        async def resume(session: str, seq: int) -> dict:
            gw = await connect(http, emu)
            await gw.resume(emu.bot_token, session, seq)
            frame = await gw.frame()
            await gw.ws.close()
            return frame

        # expired: detached longer than the resume window
        gw, expiring = await identified(http, emu)
        seq = gw.seq
        await gw.ws.close(code=4000)
        await asyncio.sleep(0.5)
        post(emu, "after expiry")  # a dispatch also forgets expired sessions
        await emu.settle()
        assert expiring not in emu.sessions
        assert await resume(expiring, seq) == {"op": 9, "d": False}

        # ended: a clean close (1000) ends the session at once
        gw, ended = await identified(http, emu)
        seq = gw.seq
        await gw.ws.close(code=1000)
        await asyncio.sleep(0.05)
        assert await resume(ended, seq) == {"op": 9, "d": False}

        # unknown session id
        assert await resume("no-such-session", 1) == {"op": 9, "d": False}

        # the events after the named sequence no longer fit the replay buffer
        gw, overflowed = await identified(http, emu)
        seq = gw.seq
        emu.sessions[overflowed].buffer = deque(emu.sessions[overflowed].buffer, maxlen=2)
        await gw.ws.close(code=4000)
        post(emu, "a", "b", "c")
        await emu.settle()
        assert await resume(overflowed, seq) == {"op": 9, "d": False}
        assert overflowed not in emu.sessions
        assert emu.invalid_sessions == 4 and emu.resumes == 0


async def _sessions(http: aiohttp.ClientSession, emu: Emulator) -> list[dict]:
    async with http.get(emu.base_url + "/_emulator/api/sessions") as resp:
        return await resp.json()
