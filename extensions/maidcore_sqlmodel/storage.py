"""``SqlModelStorage``: the six stores over one platform database, opened, migrated and swept together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc

from maidcore.layers.shared import Shared
from maidcore.platform import PlatformError
from maidcore_sqlmodel import migrate
from maidcore_sqlmodel.blobs import SqlBlobStore
from maidcore_sqlmodel.command_syncs import SqlCommandSyncStore
from maidcore_sqlmodel.database import Database
from maidcore_sqlmodel.ephemeral import MemoryEphemeral, RedisEphemeral, make_ephemeral
from maidcore_sqlmodel.feeds import CHANGES_KEPT_SECONDS, PostgresInstallFeed, SqliteInstallFeed, prune_changes
from maidcore_sqlmodel.kv import SqlKvStore
from maidcore_sqlmodel.location import describe_database, locate_database
from maidcore_sqlmodel.metrics import SqlMetricStore
from maidcore_sqlmodel.records import SqlRecordStore
from maidcore_sqlmodel.secrets import SqlSecretStore, load_master_key
from maidcore_sqlmodel.settings import StorageSettings

if TYPE_CHECKING:
    from maidcore_sqlmodel.pg_ephemeral import PostgresEphemeral

log = logging.getLogger(__name__)


class SqlModelStorage:
    """The default storage layer: an embedded PostgreSQL server, or the database ``database_url`` names.

    With no ``database_url``, ``start()`` starts (or joins) the PostgreSQL server under
    the data directory and ``close()`` lets go of it (see ``maidcore_sqlmodel.embedded``).
    ``ephemeral`` lives in process memory unless ``ephemeral_url`` names a Redis
    or a PostgreSQL shared by several nodes. ``start()`` upgrades the schema to the newest
    migration before anything else touches the database. Sweeps (expired KV
    keys, metric buckets past retention, blobs unnamed for ``blob_grace_seconds``) run every ``sweep_interval_seconds``
    on one node of a cluster per interval (``shared.turn``).
    """

    name = "sqlmodel"

    def __init__(
        self, settings: StorageSettings | None = None, data_dir: Path | str = ".", *, shared: Shared | None = None
    ) -> None:
        self.settings = settings or StorageSettings()
        self.shared = shared if shared is not None else Shared()
        self.sweeps = 0  # sweeps this node ran (the others' turns are skipped)
        self.data_dir = Path(data_dir).expanduser()
        self.location = locate_database(self.settings, self.data_dir)
        self.embedded = self.location.embedded
        url = self.location.url
        threads = self.settings.db_threads or (4 if url.dialect == "sqlite" else 16)
        self.db = Database(url, threads=threads, sqlite_synchronous=self.settings.sqlite_synchronous)
        self.kv = SqlKvStore(self.db)
        self.records = SqlRecordStore(self.db)
        self.blobs = SqlBlobStore(self.db)
        self.command_syncs = SqlCommandSyncStore(self.db)
        self.metrics = SqlMetricStore(
            self.db,
            retention_days=self.settings.metrics_retention_days,
            max_series=self.settings.metrics_max_series,
            points_per_minute=self.settings.metrics_points_per_minute,
            shared=self.shared,
        )
        bounds = {
            "max_keys": self.settings.ephemeral_max_keys,
            "counter_slots": self.settings.ephemeral_counter_slots,
            "counter_entries": self.settings.ephemeral_counter_entries,
        }
        self.ephemeral: MemoryEphemeral | RedisEphemeral | PostgresEphemeral = make_ephemeral(
            self.settings.ephemeral_url, prefix=self.settings.ephemeral_prefix, **bounds
        )
        self.secrets: SqlSecretStore | None = None  # needs the master key: built in start()
        self.sql = None  # built in start()
        self._sweeper: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<SqlModelStorage {self.location.kind}>"

    async def start(self) -> None:
        """Create the data directory, migrate to head, open the stores and start the expiry sweeper."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.start)
        try:
            await self._start()
        except BaseException:
            await self.close()  # lets go of the embedded server (and stops it if we were its only user)
            raise

    async def _start(self) -> None:
        self.db.start()
        await self.db.run_plain(self._check_connection)
        await self.db.run_plain(migrate.upgrade, self.db.engine)
        secret = self.settings.secrets_key.get_secret_value() if self.settings.secrets_key else None
        master_key = load_master_key(secret, self.data_dir)
        self.secrets = SqlSecretStore(
            self.db,
            master_key,
            max_count=self.settings.secrets_max_count,
            max_bytes=self.settings.secrets_max_bytes,
        )
        self.sql = self._make_sql_sandbox(master_key)
        await self.sql.start()
        await self.ephemeral.start()
        await self._sweep_if_our_turn()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="maidcore-storage-sweeper")

    def _check_connection(self) -> None:
        """A database that cannot be reached (down, no such database, wrong password) is one line naming it."""
        try:
            self.db.engine.connect().close()
        except sqlalchemy.exc.OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise PlatformError(
                f"cannot connect to the database ({self.location.describe()}; storage.database_url): {reason}"
            ) from None

    def _make_sql_sandbox(self, master_key: bytes):
        from maidcore_sqlmodel.sql import make_sql_sandbox

        return make_sql_sandbox(self.db, self.settings, self.data_dir, master_key)

    def install_feed(self, poll_seconds: float) -> PostgresInstallFeed | SqliteInstallFeed:
        """PostgreSQL: ``LISTEN/NOTIFY`` (pushed to every node). SQLite: this process's writes at once,
        other processes' (the CLI) from the change log every ``poll_seconds``."""
        if self.db.dialect == "postgresql":
            return PostgresInstallFeed(self.db)
        feed = SqliteInstallFeed(self.db, poll_seconds)
        self.records.install_listeners.append(feed.written)
        return feed

    async def describe(self) -> dict[str, Any]:
        """The database for ``maidcore status``: kind (embedded, external, sqlite), engine version, size."""
        return await self.db.run(describe_database, self.location)

    async def sweep(self) -> None:
        """Delete expired KV keys, metric buckets past retention and blobs no version named for the grace period."""
        expired = await self.kv.sweep()
        buckets = await self.metrics.sweep()
        if self.db.dialect == "sqlite":
            await self.db.run(prune_changes, time.time() - CHANGES_KEPT_SECONDS)
        blobs = await self.blobs.sweep(self.settings.blob_grace_seconds)
        if expired or buckets:
            log.debug("storage sweep: %d expired keys, %d metric buckets past retention", expired, buckets)
        if blobs:
            log.info("storage sweep: deleted %d blobs no version named", len(blobs), extra={"digests": ",".join(blobs)})

    async def _sweep_if_our_turn(self) -> None:
        """Sweep unless another node of the cluster already swept in this interval."""
        self.metrics.forget_known_series()  # on every node: what this node counted may be swept
        if await self.shared.turn("sweep", self.settings.sweep_interval_seconds):
            self.sweeps += 1
            await self.sweep()

    async def _sweep_forever(self) -> None:
        interval = self.settings.sweep_interval_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self._sweep_if_our_turn()
            except Exception:  # a failed sweep is retried next time; it must not stop the node
                log.exception("storage sweep failed")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self.sql is not None:
            await self.sql.close()
        await self.ephemeral.close()
        await asyncio.get_running_loop().run_in_executor(None, self.db.close)
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
