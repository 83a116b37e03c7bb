"""The gateway side of the emulator: sessions, zlib-stream frames, heartbeats, RESUME with replay.

A session outlives its socket, as on Discord: dispatches made while no client
is attached are kept (with their sequence numbers, up to ``REPLAY_BUFFER``) and
a RESUME from any connection — the same process or another one — gets every
one after the sequence it names, then RESUMED. A session stays resumable for
``Emulator.resume_seconds`` after its socket went away (a clean close, 1000 or
1001, ends it at once); after that, or when the events after the named
sequence are no longer buffered, RESUME gets INVALID_SESSION (``d: false``) and
the client must IDENTIFY. A session is never live on two sockets: a RESUME of
a session still attached elsewhere closes that other socket (code 4000).

Several sessions may serve one shard at once, as on Discord (a bot asking for
wider intents identifies anew before closing the old session): each gets every
dispatch its own intents and shard want. A session's intents are fixed at
IDENTIFY; a RESUME keeps them, whatever the RESUME says.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from maidcore_discord.emulator.state import APPLICATION_ID, BOT_USER_ID

if TYPE_CHECKING:
    from maidcore_discord.emulator.server import Emulator

log = logging.getLogger(__name__)

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = (
    0,
    1,
    2,
    6,
    9,
    10,
    11,
)
OP_REQUEST_MEMBERS = 8
# A heartbeat is acknowledged after a network round trip's time, never at once: discord.py's
# heartbeat thread notes a beat's send time only after the send returns, so an ACK handled first
# was measured against the previous beat ("websocket is 41.3s behind" in a local serve's log).
HEARTBEAT_ACK_DELAY_SECONDS = 0.05

INTENT_OF_EVENT = {
    "GUILD_MEMBER_ADD": 1 << 1,
    "GUILD_MEMBER_UPDATE": 1 << 1,
    "GUILD_MEMBER_REMOVE": 1 << 1,
    "GUILD_BAN_ADD": 1 << 2,
    "GUILD_BAN_REMOVE": 1 << 2,
    "VOICE_STATE_UPDATE": 1 << 7,
    "MESSAGE_CREATE": 1 << 9,
    "MESSAGE_UPDATE": 1 << 9,
    "MESSAGE_DELETE": 1 << 9,
    "MESSAGE_DELETE_BULK": 1 << 9,
    "MESSAGE_REACTION_ADD": 1 << 10,
    "MESSAGE_REACTION_REMOVE": 1 << 10,
}
MESSAGE_CONTENT = 1 << 15
REPLAY_BUFFER = 5000


@dataclass
class Session:
    session_id: str
    shard: tuple[int, int]
    intents: int
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    socket: Connection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    detached_at: float | None = None  # monotonic time its socket went away (None while one is attached)
    via: str = "identify"  # how its current (or last) socket got it: "identify" or "resume"

    def attach(self, conn: Connection | None) -> None:
        self.socket = conn
        self.detached_at = None if conn is not None else time.monotonic()

    def expired(self, window: float, now: float) -> bool:
        """Detached longer than ``window`` seconds: no longer resumable."""
        return self.detached_at is not None and now - self.detached_at > window

    def replayable_after(self, seq: int) -> bool:
        """Every dispatch after ``seq`` is still in the buffer (or none was made since)."""
        if seq >= self.seq:
            return True
        return bool(self.buffer) and self.buffer[0][0] <= seq + 1

    def wants(self, event: str, guild_id: str | None) -> bool:
        need = INTENT_OF_EVENT.get(event, 0)
        if need and not self.intents & need:
            return False
        if guild_id is None:
            return True
        return (int(guild_id) >> 22) % self.shard[1] == self.shard[0]


class Connection:
    """One websocket: frames out (zlib-stream when asked), heartbeats and identify/resume in."""

    def __init__(self, emulator: Emulator, ws: web.WebSocketResponse, compress: bool) -> None:
        self.emulator = emulator
        self.ws = ws
        self._zlib = zlib.compressobj() if compress else None
        self.session: Session | None = None
        self._lock = asyncio.Lock()
        self._acks: set[asyncio.Future[None]] = set()

    def _ack_heartbeat(self) -> None:
        task = asyncio.ensure_future(self.send({"op": OP_HEARTBEAT_ACK}))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def send(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        async with self._lock:
            if self.ws.closed:
                return
            try:
                if self._zlib is not None:
                    data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                log.debug("gateway send on a closing socket dropped")

    async def serve(self) -> None:
        await self.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.emulator.heartbeat_interval_ms}})
        async for msg in self.ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            data = json.loads(msg.data)
            op = data.get("op")
            if op == OP_HEARTBEAT:
                self.emulator.heartbeats += 1
                asyncio.get_running_loop().call_later(HEARTBEAT_ACK_DELAY_SECONDS, self._ack_heartbeat)
            elif op == OP_IDENTIFY:
                await self._identify(data["d"])
            elif op == OP_RESUME:
                await self._resume(data["d"])
            elif op == OP_REQUEST_MEMBERS:
                await self._members_chunk(data["d"])
            else:
                log.debug("gateway op %s ignored", op)
        if self.session is not None and self.session.socket is self:
            self.session.attach(None)
            if self.ws.close_code in (1000, 1001):  # a clean close ends the session, as on Discord
                self.emulator.sessions.pop(self.session.session_id, None)
                self.emulator.ended_sessions.append((self.session.session_id, self.ws.close_code))

    async def _identify(self, d: dict[str, Any]) -> None:
        if d.get("token") != self.emulator.state.bot_token:
            await self.ws.close(code=4004, message=b"Authentication failed.")
            return
        shard = tuple(d.get("shard") or (0, 1))
        self.emulator.identifies += 1
        session = Session(secrets.token_hex(16), (int(shard[0]), int(shard[1])), int(d.get("intents", 0)))
        self.emulator.sessions[session.session_id] = session
        self.session = session
        session.attach(self)
        state = self.emulator.state
        guild_ids = [g for g in state.guilds if session.wants("GUILD_CREATE", g)]
        ready = {
            "v": 10,
            "user": {**state.users[BOT_USER_ID], "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": g, "unavailable": True} for g in guild_ids],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.emulator.gateway_url,
            "shard": list(session.shard),
            "application": {"id": APPLICATION_ID, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "_trace": ["maidcore-emulator"],
        }
        await self.emulator.gateway.send_to(session, "READY", ready)
        for gid in guild_ids:
            await self.emulator.gateway.send_to(session, "GUILD_CREATE", state.guild_payload(state.guilds[gid]))

    async def _resume(self, d: dict[str, Any]) -> None:
        if self.emulator.resume_delay_seconds > 0:  # a gateway slow to answer (dispatches meanwhile are buffered)
            await asyncio.sleep(self.emulator.resume_delay_seconds)
        sessions = self.emulator.sessions
        session = sessions.get(d.get("session_id", ""))
        last = int(d.get("seq") or 0)
        if session is not None and session.expired(self.emulator.resume_seconds, time.monotonic()):
            sessions.pop(session.session_id, None)
            session = None
        if session is None or d.get("token") != self.emulator.state.bot_token or not session.replayable_after(last):
            if session is not None and session.socket is None:  # its missed events are gone: it cannot resume
                sessions.pop(session.session_id, None)
            self.emulator.invalid_sessions += 1
            await self.send({"op": OP_INVALID_SESSION, "d": False})
            return
        previous = session.socket
        if previous is not None and previous is not self:  # never live on two sockets: the older one is closed
            previous.session = None
            await previous.ws.close(code=4000, message=b"session resumed on another connection")
        self.session = session
        async with session.lock:  # no dispatch can slip between the replay and the re-attach
            for seq, frame in list(session.buffer):
                if seq > last:
                    await self.send(frame)
            session.attach(self)
            session.via = "resume"
            session.seq += 1
            resumed = json.dumps({"op": OP_DISPATCH, "t": "RESUMED", "s": session.seq, "d": {"_trace": ["emulator"]}})
            session.buffer.append((session.seq, resumed))
            await self.send(resumed)
        self.emulator.resumes += 1

    async def _members_chunk(self, d: dict[str, Any]) -> None:
        state = self.emulator.state
        guild = state.guilds.get(str(d.get("guild_id")))
        if guild is None or self.session is None:
            return
        chunk = {
            "guild_id": guild["id"],
            "members": [state.member_payload(guild, uid) for uid in guild["members"]],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": d.get("nonce"),
        }
        await self.emulator.gateway.send_to(self.session, "GUILD_MEMBERS_CHUNK", chunk)


class Gateway:
    """Fans dispatches out to every session that wants them (intents and shard), in order."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.connections: set[Connection] = set()
        self._queue: asyncio.Queue[tuple[str, dict[str, Any], str | None]] = asyncio.Queue()
        self._pump: asyncio.Task | None = None

    def start(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._pump:
            self._pump.cancel()
        for conn in list(self.connections):
            await conn.ws.close(code=1001)

    def enqueue(self, event: str, data: dict[str, Any], guild_id: str | None) -> None:
        self._queue.put_nowait((event, data, guild_id))

    async def drain(self) -> None:
        """Wait until every queued dispatch has been written to its sockets."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            event, data, guild_id = await self._queue.get()
            try:
                self.expire()
                for session in list(self.emulator.sessions.values()):
                    if session.wants(event, guild_id):
                        await self.send_to(session, event, self._shaped(session, event, data))
            except Exception:
                log.exception("gateway dispatch of %s failed", event)
            finally:
                self._queue.task_done()

    def expire(self) -> None:
        """Forget sessions detached longer than the resume window (they stop buffering)."""
        now = time.monotonic()
        window = self.emulator.resume_seconds
        for sid, session in list(self.emulator.sessions.items()):
            if session.expired(window, now):
                del self.emulator.sessions[sid]

    def _shaped(self, session: Session, event: str, data: dict[str, Any]) -> dict[str, Any]:
        # Without the message-content intent Discord blanks content (except where the bot is concerned).
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & MESSAGE_CONTENT:
            mentioned = any(u.get("id") == BOT_USER_ID for u in data.get("mentions", []))
            if data.get("author", {}).get("id") != BOT_USER_ID and not mentioned:
                data = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        return data

    async def send_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        async with session.lock:
            session.seq += 1
            frame = json.dumps({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
            session.buffer.append((session.seq, frame))
            if session.socket is not None:
                await session.socket.send(frame)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = Connection(self.emulator, ws, compress=request.query.get("compress") == "zlib-stream")
        self.connections.add(conn)
        try:
            await conn.serve()
        finally:
            self.connections.discard(conn)
        return ws

    async def drop(self, code: int = 4000) -> int:
        """Close every client socket as a network failure would; sessions stay resumable."""
        dropped = 0
        for conn in list(self.connections):
            if conn.session is not None:
                conn.session.attach(None)
            await conn.ws.close(code=code, message=b"emulator dropped the connection")
            dropped += 1
        return dropped
