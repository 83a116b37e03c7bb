"""Install changes pushed to every node: ``PostgresInstallFeed`` (``LISTEN/NOTIFY``) and ``SqliteInstallFeed``.

Both only say *which* installs changed (the trigger of migration 0004 reports
every write to ``installs``); the core's ``InstallWatcher`` re-reads exactly
those. Nothing is read while nothing changes, whatever the number of servers.
A feed answers ``None`` ("resync": re-read every install once) whenever it may
have missed a change: after its connection came back, or when the change log
was pruned past what it had read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from maidcore.layers.storage import InstallKey, RecordStore
from maidcore_sqlmodel.database import Database

log = logging.getLogger(__name__)

#: The channel migration 0004's trigger notifies; the payload is ``[server_id, plugin_id]``.
CHANNEL = "maidcore_installs"
#: SQLite: how long the install change log keeps a row (a feed that falls further behind re-reads everything).
CHANGES_KEPT_SECONDS = 3600.0
_BARRIER = "sync:"  # a payload this feed sends itself, to know every earlier notification arrived
# libpq keepalives: a connection whose peer vanished (partition, dead server) fails within ~25 s
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
#: How the LISTEN connection shows in ``pg_stat_activity``.
APPLICATION_NAME = "maidcore-install-feed"


class PostgresInstallFeed:
    """One connection per node ``LISTEN``ing on ``maidcore_installs``; reconnects and asks for a resync."""

    def __init__(
        self,
        db: Database,
        *,
        heartbeat_seconds: float = 30.0,
        reconnect_seconds: float = 1.0,
        channel: str = CHANNEL,
    ) -> None:
        assert db.url.conninfo is not None, "PostgresInstallFeed needs a PostgreSQL database"
        self.db = db
        self.heartbeat_seconds = heartbeat_seconds
        self.reconnect_seconds = reconnect_seconds
        self.channel = channel
        #: Times a LISTEN connection was established (the first one included); each asks for a resync.
        self.connections = 0
        self.connected = False
        self.backend_pid: int | None = None  # the server process of the LISTEN connection (tests end it)
        self._keys: set[InstallKey] = set()
        self._resync = False
        self._wake = asyncio.Event()
        self._listening = asyncio.Event()
        self._barriers: dict[str, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, records: RecordStore, known: Mapping[InstallKey, Any]) -> None:
        """Start listening; waits (up to a few seconds) for the first ``LISTEN`` so no change slips past."""
        self._task = asyncio.create_task(self._listen(), name="maidcore-install-feed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 10.0)

    async def changes(self, *, wait: bool = True) -> Collection[InstallKey] | None:
        if wait:
            await self._wake.wait()
        else:
            await self._barrier()
        self._wake.clear()
        if self._resync:
            self._resync = False
            self._keys.clear()
            return None
        keys, self._keys = self._keys, set()
        return keys

    async def _barrier(self) -> None:
        """Notify ourselves and wait for it: PostgreSQL delivers notifications in commit order."""
        if not self.connected:
            return
        token = uuid.uuid4().hex
        future = self._barriers[token] = asyncio.get_running_loop().create_future()
        try:
            await self.db.run(_notify, self.channel, _BARRIER + token)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, 5.0)
        finally:
            self._barriers.pop(token, None)

    def _receive(self, payload: str) -> None:
        if payload.startswith(_BARRIER):
            future = self._barriers.get(payload[len(_BARRIER) :])
            if future is not None and not future.done():
                future.set_result(None)
            return  # another node's barrier, or ours: no install changed
        try:
            server_id, plugin_id = json.loads(payload)
        except (ValueError, TypeError):
            log.warning("ignored a malformed %s notification: %r", self.channel, payload[:200])
            return
        self._keys.add((str(server_id), str(plugin_id)))
        self._wake.set()

    async def _listen(self) -> None:
        import psycopg

        delay = self.reconnect_seconds
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.db.url.conninfo, autocommit=True, application_name=APPLICATION_NAME, **_KEEPALIVES
                )
            except Exception as exc:
                log.warning("the install feed cannot reach PostgreSQL (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            try:
                async with conn:
                    await conn.execute(f'LISTEN "{self.channel}"')
                    self.backend_pid = conn.info.backend_pid
                    self.connected = True
                    self.connections += 1
                    if self.connections > 1:
                        log.info("install feed reconnected; re-reading every install once")
                    self._resync = True  # whatever changed while nobody listened
                    self._wake.set()
                    self._listening.set()
                    delay = self.reconnect_seconds
                    while True:
                        async for note in conn.notifies(timeout=self.heartbeat_seconds):
                            self._receive(note.payload)
                        await conn.execute("SELECT 1")  # heartbeat: a dead connection fails here
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("the install feed lost its PostgreSQL connection (%s); reconnecting", exc)
            finally:
                self.connected = False
                for future in self._barriers.values():
                    if not future.done():
                        future.set_result(None)
            await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def _notify(conn: Any, channel: str, payload: str) -> None:
    conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))


class SqliteInstallFeed:
    """Single node on SQLite: writes of this process at once, those of other processes (the CLI) from a log.

    The trigger of migration 0004 appends every install write to ``install_changes``;
    each ``poll_seconds`` one indexed read asks for rows newer than the last one seen
    (``0``: never; only this process's own writes are seen).
    """

    def __init__(self, db: Database, poll_seconds: float) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self._last = 0
        self._keys: set[InstallKey] = set()
        self._wake = asyncio.Event()

    def written(self, server_id: str, plugin_id: str) -> None:
        """The record store of this process wrote the install (the same-process path)."""
        self._keys.add((server_id, plugin_id))
        self._wake.set()

    async def start(self, records: RecordStore, known: Mapping[InstallKey, Any]) -> None:
        self._last = await self.db.run(_last_change)

    async def changes(self, *, wait: bool = True) -> Collection[InstallKey] | None:
        if wait:
            timeout = self.poll_seconds if self.poll_seconds > 0 else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()
        keys, self._keys = self._keys, set()
        rows = await self.db.run(_changes_after, self._last)
        if rows and rows[0][0] != self._last + 1 and self._last:
            self._last = rows[-1][0]
            return None  # rows this feed never read were pruned: re-read everything once
        for seq, server_id, plugin_id in rows:
            self._last = seq
            keys.add((server_id, plugin_id))
        return keys

    async def close(self) -> None:
        return None


def _last_change(conn: Any) -> int:
    return conn.execute("SELECT coalesce(max(seq), 0) FROM install_changes").fetchone()[0]


def _changes_after(conn: Any, seq: int) -> list[tuple[int, str, str]]:
    return [
        tuple(row)
        for row in conn.execute(
            "SELECT seq, server_id, plugin_id FROM install_changes WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()
    ]


def prune_changes(conn: Any, before: float) -> int:
    """Forget logged changes older than ``before`` (Unix seconds); the storage sweep calls it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        count = conn.execute("DELETE FROM install_changes WHERE changed_at < ?", (before,)).rowcount
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return count
