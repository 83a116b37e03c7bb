"""Taking a shard over without losing what Discord sent while nobody held it: RESUME the old session.

Discord keeps a gateway session resumable for a while after its socket went
away, buffering its dispatches; a RESUME naming the session and a sequence
number gets every dispatch after that sequence, then RESUMED. Across nodes:

- The node serving a shard keeps, in the cluster's shared state, the session
  id, the resume gateway URL and the last sequence number *recorded*: every
  dispatch up to it has been fully handled (its event written to the shard's
  durable log, or dropped as not wanted). A ``Tracker`` per connection knows
  that: each dispatch frame is open from its parse until every handler task it
  started ended. Written every ``RECORD_INTERVAL_SECONDS`` when it moved.
- The node taking the shard over IDENTIFIES a new session first — discord.py
  learns the shard's guilds only from the GUILD_CREATEs that follow READY, and
  a fresh process has none cached — then RESUMEs the old session on a second
  connection (``drain``): the dispatches after the recorded sequence are parsed
  and published like live ones until RESUMED, the new session's record is
  written, and the old session is closed for good (1000). An expired or unknown
  session answers INVALID_SESSION: nothing to drain, the new session goes on.

A dispatch made after the new session started comes on both sessions;
``Dedupe`` remembers the new session's from its first frame and drops the second
copy (same event name and payload), until ``DEDUPE_GRACE_SECONDS`` after the drain.

The written sequence may lag what was recorded (by up to ``RECORD_INTERVAL_SECONDS``,
or behind a slow handler), so a drain can replay dispatches whose events the log
has already. Each event is published with its ``gateway_key`` (session, sequence,
type); the log's append checks and remembers that key in the same step, so a
replayed event is not recorded twice: it keeps its first delivery id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import yarl
from discord.errors import ConnectionClosed
from discord.gateway import DiscordWebSocket, ReconnectWebSocket
from discord.shard import Shard

from maidcore.layers.shared import Shared

if TYPE_CHECKING:
    import discord

log = logging.getLogger(__name__)

RECORD_INTERVAL_SECONDS = 0.5  # how often a moved sequence number is written (bounds what a takeover replays)
RECORD_REFRESH_SECONDS = 60.0  # an unchanged record is written again this often (it expires otherwise)
RECORD_TTL_SECONDS = 600.0  # longer than any resume window Discord keeps; an expired session answers INVALID
DRAIN_TIMEOUT_SECONDS = 30.0  # connecting, replaying and recording the old session's backlog
DEDUPE_GRACE_SECONDS = 5.0  # after the drain, the new session's late copies of drained dispatches are dropped
FINAL_RECORD_SECONDS = 0.5  # a stopping shard's last record: short, so it lands before its lease can move

#: The connection whose frame the current task parses (set in its reading task; tasks copy it).
_CONNECTION: ContextVar[Tracker | None] = ContextVar("maidcore_discord_connection", default=None)
#: The dispatch frame being parsed right now: handler tasks discord.py schedules for it hold it open.
_FRAME: ContextVar[Frame | None] = ContextVar("maidcore_discord_frame", default=None)


class Frame:
    """One dispatch: open while it is parsed and while any handler task it started runs."""

    __slots__ = ("open", "published", "seq", "session", "tracker")

    def __init__(self, tracker: Tracker, session: str | None, seq: int) -> None:
        self.tracker = tracker
        self.session = session
        self.seq = seq
        self.open = 1
        self.published: dict[str, int] | None = None  # events of each type published for it so far

    def hold(self) -> None:
        self.open += 1

    def done(self, *_: object) -> None:
        self.open -= 1
        if self.open == 0:
            self.tracker._settled(self)


class Tracker:
    """The dispatches of one shard connection: the last sequence number up to which all are handled."""

    def __init__(self, shard_id: int, ws: Callable[[], DiscordWebSocket]) -> None:
        self.shard_id = shard_id
        self.ws = ws  # the connection's current websocket (discord.py replaces it when it reconnects)
        self.session: str | None = None
        self.last: int | None = None
        self.frames = 0  # dispatches parsed (a drain's replay count)
        self.skip: Callable[[str, Any], bool] | None = None  # a duplicate check while a drain runs
        self._open: dict[int, Frame] = {}

    def begin(self, session: str | None, seq: int) -> Frame:
        if session != self.session:  # a new session: its numbers start over
            self.session, self._open = session, {}
        frame = Frame(self, session, seq)
        self._open[seq] = frame
        self.last = seq
        self.frames += 1
        return frame

    def _settled(self, frame: Frame) -> None:
        if self._open.get(frame.seq) is frame:
            del self._open[frame.seq]

    @property
    def watermark(self) -> int | None:
        """Every dispatch up to this sequence number is handled (frames open in sequence order)."""
        for frame in self._open.values():
            return frame.seq - 1
        return self.last

    def record(self) -> dict[str, Any] | None:
        """What the next holder needs to RESUME this session (None before READY)."""
        ws = self.ws()
        if self.session is None or self.watermark is None or ws.session_id != self.session:
            return None
        return {"session_id": self.session, "seq": self.watermark, "gateway": str(ws.gateway)}

    async def settle(self, timeout: float) -> bool:
        """Wait until every dispatch parsed so far is handled; False if some still run after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._open and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return not self._open


class TrackedShard(Shard):
    """discord.py's shard whose reading task marks its frames with its ``Tracker`` (also after reconnects)."""

    def __init__(self, ws: DiscordWebSocket, client: Any, queue_put: Callable[..., None], shard_id: int) -> None:
        super().__init__(ws, client, queue_put)
        self.tracker = Tracker(shard_id, lambda: self.ws)
        self.dedupe: Dedupe | None = None  # while its previous session is drained (``watch_live``)

    async def worker(self) -> None:
        _CONNECTION.set(self.tracker)  # this task's context only
        await super().worker()


def track_parsers(state: Any) -> None:
    """Wrap discord.py's dispatch parsers so each frame read by a tracked connection opens a ``Frame``.

    A parser runs synchronously right after the websocket set its ``sequence``
    to the frame's, and every handler task it schedules is created inside it
    (``hold_frame``), so the frame knows exactly which tasks handle it.
    """
    parsers: dict[str, Callable[[Any], None]] = state.parsers
    for name, parse in list(parsers.items()):
        parsers[name] = _tracked(name, parse)


def _tracked(name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def parse_tracked(data: Any) -> None:
        tracker = _CONNECTION.get()
        if tracker is None:
            parse(data)
            return
        ws = tracker.ws()
        if ws.sequence is None:
            parse(data)
            return
        if tracker.skip is not None and tracker.skip(name, data):
            frame = tracker.begin(ws.session_id, ws.sequence)  # a duplicate: handled by the other copy
            frame.done()
            return
        frame = tracker.begin(ws.session_id, ws.sequence)
        token = _FRAME.set(frame)
        try:
            parse(data)
        finally:
            _FRAME.reset(token)
            frame.done()

    return parse_tracked


def gateway_key(kind: str) -> str | None:
    """The gateway's name for the event a handler task of a tracked dispatch publishes: session, sequence, type.

    The same on a replay of that dispatch (a RESUME of the session), so the shard's
    log records it once (``EventSink.publish(source_key=...)``); None outside a tracked dispatch.
    A dispatch publishing several events of one type (a bulk delete: one per message, in
    message id order) numbers them from the second on.
    """
    frame = _FRAME.get()
    if frame is None or frame.session is None:
        return None
    if frame.published is None:
        frame.published = {}
    n = frame.published.get(kind, 0)
    frame.published[kind] = n + 1
    key = f"{frame.session}:{frame.seq}:{kind}"
    return f"{key}:{n}" if n else key


def hold_frame(task: asyncio.Task[Any]) -> None:
    """A handler task was scheduled: the frame being parsed (if tracked) stays open until it ends."""
    frame = _FRAME.get()
    if frame is not None:
        frame.hold()
        task.add_done_callback(frame.done)


class Dedupe:
    """Dispatches seen on one side (the new session, or the drained one) and not yet on the other."""

    DISPATCHES = frozenset(
        {
            "MESSAGE_CREATE",
            "MESSAGE_UPDATE",
            "MESSAGE_DELETE",
            "MESSAGE_DELETE_BULK",
            "MESSAGE_REACTION_ADD",
            "MESSAGE_REACTION_REMOVE",
            "GUILD_MEMBER_ADD",
            "GUILD_MEMBER_REMOVE",
            "GUILD_MEMBER_UPDATE",
            "VOICE_STATE_UPDATE",
            "CHANNEL_CREATE",
            "CHANNEL_UPDATE",
            "CHANNEL_DELETE",
            "GUILD_ROLE_CREATE",
            "GUILD_ROLE_UPDATE",
            "GUILD_ROLE_DELETE",
            "INTERACTION_CREATE",
        }
    )

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}
        self.dropped = 0

    def check(self, side: str, name: str, data: Any) -> bool:
        """True if this dispatch already came on the other side (drop it)."""
        if name not in self.DISPATCHES:
            return False
        key = name + json.dumps(data, sort_keys=True, separators=(",", ":"))
        other = self.seen.get(key)
        if other is not None and other != side:
            del self.seen[key]
            self.dropped += 1
            return True
        self.seen[key] = side
        return False


def watch_live(live: Tracker) -> Dedupe:
    """From its first frame, remember what the new session gets, so the drain can drop its copies."""
    dedupe = Dedupe()
    live.skip = lambda name, data: dedupe.check("live", name, data)
    return dedupe


async def drain(client: discord.Client, shard_id: int, record: dict[str, Any], live: Tracker, dedupe: Dedupe) -> None:
    """RESUME the session ``record`` names, publish what it missed after its sequence, then end it.

    ``live`` is the shard's new session (already READY, watched by ``dedupe``
    since it connected): dispatches both get are published once. The old
    session is closed for good only once every replayed dispatch is handled, so
    a node dying mid-drain leaves it resumable for the next holder.
    """
    session = record["session_id"]
    ws: DiscordWebSocket | None = None
    tracker = Tracker(shard_id, lambda: ws)  # type: ignore[arg-type,return-value]
    tracker.skip = lambda name, data: dedupe.check("drain", name, data)
    finished = False
    started = time.monotonic()
    try:
        ws = await asyncio.wait_for(
            DiscordWebSocket.from_client(
                client,
                shard_id=shard_id,
                gateway=yarl.URL(record["gateway"]),
                session=record["session_id"],
                sequence=record["seq"],
                resume=True,
            ),
            DRAIN_TIMEOUT_SECONDS,
        )
        resumed = ws.wait_for("RESUMED", lambda _: True)

        async def pump() -> None:
            _CONNECTION.set(tracker)
            while not resumed.done():
                await ws.poll_event()

        try:
            await asyncio.wait_for(pump(), DRAIN_TIMEOUT_SECONDS)
        except ReconnectWebSocket as exc:  # INVALID_SESSION: expired, ended, or unknown: nothing to drain
            log.info("shard %d: session %s cannot be resumed (%s); nothing replayed", shard_id, session, exc.op)
            finished = True
            return
        await tracker.settle(DRAIN_TIMEOUT_SECONDS)
        finished = True
        log.info(
            "shard %d: resumed session %s after sequence %s: %d dispatches replayed (%d already seen live) in %.2fs",
            shard_id,
            session,
            record["seq"],
            tracker.frames - 1,  # RESUMED itself is one
            dedupe.dropped,
            time.monotonic() - started,
        )
    except (TimeoutError, OSError, ConnectionClosed) as exc:
        log.warning("shard %d: resuming session %s failed: %s; its missed events are lost", shard_id, session, exc)
    finally:
        if ws is not None:
            # done: end the old session (1000); interrupted: leave it resumable for whoever takes the shard next
            with contextlib.suppress(Exception):
                await ws.close(code=1000 if finished else 4000)
        loop = asyncio.get_running_loop()
        loop.call_later(DEDUPE_GRACE_SECONDS, _stop_skipping, live)


def _stop_skipping(live: Tracker) -> None:
    live.skip = None


class SessionRecords:
    """This node's shards' sessions in the cluster's shared state, so whoever takes a shard next can RESUME it."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self._serving: dict[int, Tracker] = {}
        self._written: dict[int, tuple[dict[str, Any], float]] = {}
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def key(shard_id: int) -> str:
        return f"resume:{shard_id}"

    async def load(self, shard_id: int) -> dict[str, Any] | None:
        """The session the last holder of ``shard_id`` recorded, or None (none, expired, or unreadable)."""
        try:
            record = await self.shared.get(self.key(shard_id))
        except Exception as exc:
            log.warning("shard %d: reading its resume record failed: %s; identifying afresh", shard_id, exc)
            return None
        if not isinstance(record, dict) or not {"session_id", "seq", "gateway"} <= record.keys():
            return None
        return record

    async def serving(self, shard_id: int, tracker: Tracker) -> None:
        """``tracker``'s session is the shard's now: record it at once, then whenever it moves."""
        self._serving[shard_id] = tracker
        self._written.pop(shard_id, None)
        await self._write(shard_id, tracker)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="maidcore-discord-resume-records")

    async def stopped(self, shard_id: int) -> None:
        """The shard's socket is closed (its session resumable): record how far it got, briefly."""
        tracker = self._serving.pop(shard_id, None)
        self._written.pop(shard_id, None)
        if tracker is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(FINAL_RECORD_SECONDS):
                await tracker.settle(FINAL_RECORD_SECONDS)
                await self._write(shard_id, tracker)

    async def _write(self, shard_id: int, tracker: Tracker) -> None:
        record = tracker.record()
        if record is None:
            return
        last = self._written.get(shard_id)
        now = time.monotonic()
        if last is not None and last[0] == record and now - last[1] < RECORD_REFRESH_SECONDS:
            return
        await self.shared.put(self.key(shard_id), record, RECORD_TTL_SECONDS)
        self._written[shard_id] = (record, now)

    async def _loop(self) -> None:
        while self._serving:
            await asyncio.sleep(RECORD_INTERVAL_SECONDS)
            for shard_id, tracker in list(self._serving.items()):
                try:
                    await self._write(shard_id, tracker)
                except Exception as exc:  # the next holder replays more; the log drops what it recorded already
                    log.warning("shard %d: writing its resume record failed: %s", shard_id, exc)

    async def close(self) -> None:
        self._serving.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
