"""The tables, as SQLModel classes: the same models on SQLite and PostgreSQL.

Alembic migrations (``maidcore_sqlmodel/migrations``) create exactly these;
a test compares the migrated schema with this metadata on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC in, timezone-aware UTC out (SQLite keeps no zone, so it is restored on read)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def binary_string(length: int) -> sa.types.TypeEngine:
    """A string compared byte by byte, i.e. in code-point order (``COLLATE "C"`` on PostgreSQL, BINARY on SQLite)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UtcDateTime, **kw)


def _now() -> datetime:
    return datetime.now(UTC)


class Table(SQLModel, registry=registry()):
    """Base of our tables: their own metadata, apart from any other extension's SQLModel tables."""


# --- platform records ------------------------------------------------------------


class PluginRow(Table, table=True):
    __tablename__ = "plugins"

    plugin_id: str = Field(primary_key=True, max_length=200)
    developer: str = Field(max_length=200)
    created_at: datetime = _utc(default_factory=_now)


class VersionRow(Table, table=True):
    __tablename__ = "plugin_versions"
    __table_args__ = (sa.UniqueConstraint("plugin_id", "version", name="uq_plugin_versions_plugin_version"),)

    id: int | None = Field(default=None, primary_key=True)
    plugin_id: str = Field(max_length=200, index=True)
    version: str = Field(max_length=100)
    status: str = Field(max_length=32)
    manifest: dict = Field(sa_type=sa.JSON)
    bundle_path: str
    site_path: str | None = None
    bundle_digest: str | None = Field(default=None, max_length=64)  # the bundle's blob (sha256 of its files)
    site_digest: str | None = Field(default=None, max_length=64)  # the prepared requirements' blob
    findings: list = Field(sa_type=sa.JSON)
    review_note: str = ""
    submitted_at: datetime = _utc(default_factory=_now)
    published_at: datetime | None = _utc(default=None, nullable=True)


class InstallRow(Table, table=True):
    __tablename__ = "installs"

    server_id: str = Field(primary_key=True, max_length=64)
    plugin_id: str = Field(primary_key=True, max_length=200, index=True)
    version: str = Field(max_length=100)
    granted: list = Field(sa_type=sa.JSON)
    enabled: bool = True
    pending_version: str | None = Field(default=None, max_length=100)
    installed_at: datetime = _utc(default_factory=_now)


class InstallChangeRow(Table, table=True):
    """One install written or deleted (SQLite: filled by a trigger, read by ``SqliteInstallFeed``)."""

    __tablename__ = "install_changes"
    __table_args__ = {"sqlite_autoincrement": True}  # a sequence number is never reused after pruning

    seq: int | None = Field(default=None, primary_key=True)
    server_id: str = Field(max_length=64)
    plugin_id: str = Field(max_length=200)
    changed_at: float  # Unix seconds, for pruning


class RegistrationRow(Table, table=True):
    """What a plugin's code announced in ``plugin.register``, by code digest (``maidcore.runner.registrations``)."""

    __tablename__ = "plugin_registrations"

    code_digest: str = Field(primary_key=True, max_length=140)  # bundle digest, "+" site digest when there is one
    registration: dict = Field(sa_type=sa.JSON)  # the plugin.register params, as Registration.to_params() writes them
    updated_at: datetime = _utc(default_factory=_now)


class BlobRow(Table, table=True):
    """A stored blob (a bundle or a prepared site, as a tar archive), named by the sha256 of its files."""

    __tablename__ = "blobs"

    digest: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_type=sa.BigInteger)  # bytes of the archive
    chunks: int
    created_at: datetime = _utc(default_factory=_now)
    # Unix seconds since a sweep first found no version naming it (None: named, or stored since); the sweep
    # deletes it once that is older than ``blob_grace_seconds`` and still nothing names it
    unreferenced_since: float | None = None


class BlobChunkRow(Table, table=True):
    """One piece (at most ``maidcore_sqlmodel.blobs.CHUNK_BYTES``) of a blob's archive."""

    __tablename__ = "blob_chunks"

    digest: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_type=sa.LargeBinary)


class CommandSyncRow(Table, table=True):
    """The digest of the slash commands last synced to a server (``maidcore.command_sync``)."""

    __tablename__ = "command_syncs"

    application_id: str = Field(primary_key=True, max_length=64)  # "" for a source that names no application
    server_id: str = Field(primary_key=True, max_length=64)
    digest: str = Field(max_length=64)
    synced_at: float  # Unix seconds


class DeadLetterRow(Table, table=True):
    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    server_id: str = Field(max_length=64, index=True)
    plugin_id: str = Field(max_length=200, index=True)
    version: str = Field(max_length=100)
    event_id: str = Field(max_length=200)
    event: dict = Field(sa_type=sa.JSON)
    attempts: int
    error: str
    created_at: datetime = _utc(default_factory=_now)


class PluginLogRow(Table, table=True):
    __tablename__ = "plugin_logs"
    __table_args__ = (sa.Index("ix_plugin_logs_plugin_server_id", "plugin_id", "server_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    server_id: str = Field(max_length=64)
    plugin_id: str = Field(max_length=200)
    level: str = Field(max_length=16)
    message: str
    extra: dict = Field(sa_type=sa.JSON)
    created_at: datetime = _utc(default_factory=_now)


class HostApprovalRow(Table, table=True):
    """A host a server admin approved for one plugin on that server (``kind`` "http" or "ws")."""

    __tablename__ = "host_approvals"

    server_id: str = Field(primary_key=True, max_length=64)
    plugin_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=8)
    host: str = Field(primary_key=True, max_length=253)
    approved_by: str = Field(max_length=64)
    created_at: datetime = _utc(default_factory=_now)


class TokenRow(Table, table=True):
    __tablename__ = "api_tokens"

    token_hash: str = Field(primary_key=True, max_length=128)
    role: str = Field(max_length=32)
    subject: str = Field(max_length=200)
    created_at: datetime = _utc(default_factory=_now)
    revoked: bool = False


class DeniedCallRow(Table, table=True):
    """Calls of a plugin on a server for a capability not granted there (a permission request)."""

    __tablename__ = "denied_calls"

    server_id: str = Field(primary_key=True, max_length=64)
    plugin_id: str = Field(primary_key=True, max_length=200, index=True)
    capability: str = Field(primary_key=True, max_length=64)
    count: int = Field(sa_type=sa.BigInteger)
    last_method: str = Field(max_length=100)
    first_at: datetime = _utc(default_factory=_now)
    last_at: datetime = _utc(default_factory=_now)
    dismissed: bool = False


class ConsoleSessionRow(Table, table=True):
    """A web console sign-in; the key is the sha256 of the cookie token."""

    __tablename__ = "console_sessions"

    session_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=32)
    username: str = Field(max_length=100)
    avatar: str | None = Field(default=None, max_length=200)
    guilds: list = Field(sa_type=sa.JSON)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _utc(default_factory=_now)
    expires_at: datetime = _utc(default_factory=_now, index=True)


# --- plugin data -------------------------------------------------------------------


class KvRow(Table, table=True):
    """One KV entry; ``value`` is compact JSON text, ``expires_at`` Unix seconds (NULL = never)."""

    __tablename__ = "kv_entries"
    __table_args__ = (sa.Index("ix_kv_entries_expires_at", "expires_at"),)

    server_id: str = Field(primary_key=True, max_length=64)
    plugin_id: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, sa_type=binary_string(256))
    value: str = Field(sa_type=sa.Text)
    expires_at: float | None = Field(default=None, nullable=True)


class MetricRollupRow(Table, table=True):
    """One time bucket of one metric (``tag_key`` "" = every point; else the points carrying that tag value)."""

    __tablename__ = "metric_rollups"
    __table_args__ = (sa.Index("ix_metric_rollups_resolution_bucket", "resolution", "bucket"),)

    server_id: str = Field(primary_key=True, max_length=64)
    plugin_id: str = Field(primary_key=True, max_length=200)
    metric: str = Field(primary_key=True, max_length=64)
    resolution: int = Field(primary_key=True)  # bucket width in seconds: 60 or 3600
    tag_key: str = Field(primary_key=True, sa_type=binary_string(200))
    bucket: int = Field(primary_key=True, sa_type=sa.BigInteger)  # Unix seconds of the bucket start
    tag_value: str = Field(primary_key=True, sa_type=binary_string(200))
    count: int = Field(sa_type=sa.BigInteger)
    sum: float
    min: float
    max: float


class SecretRow(Table, table=True):
    """An AES-GCM ciphertext; ``server_id`` "" is the developer default."""

    __tablename__ = "secrets"

    plugin_id: str = Field(primary_key=True, max_length=200)
    server_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=64)
    nonce: bytes = Field(sa_type=sa.LargeBinary)
    ciphertext: bytes = Field(sa_type=sa.LargeBinary)
    updated_at: datetime = _utc(default_factory=_now)


class AuthSecretRow(Table, table=True):
    """A domain-bound secret for ``secret_auth``: the hosts are part of the ciphertext's associated data."""

    __tablename__ = "auth_secrets"

    plugin_id: str = Field(primary_key=True, max_length=200)
    server_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    hosts: list = Field(sa_type=sa.JSON)
    nonce: bytes = Field(sa_type=sa.LargeBinary)
    ciphertext: bytes = Field(sa_type=sa.LargeBinary)
    updated_at: datetime = _utc(default_factory=_now)


class SqlSpaceRow(Table, table=True):
    """A plugin's private SQL space on one server: a PostgreSQL schema (and its plugin's role) or a SQLite file."""

    __tablename__ = "sql_spaces"

    plugin_id: str = Field(primary_key=True, max_length=200)
    server_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)  # schema name or file name
    role: str | None = Field(default=None, max_length=63)
    created_at: datetime = _utc(default_factory=_now)


metadata = Table.metadata
