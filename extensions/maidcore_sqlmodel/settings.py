"""The ``[storage]`` settings section (``MAIDCORE_STORAGE__*``) of the SQLModel storage layer."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator


class StorageSettings(BaseModel):
    database_url: str | None = None  # None = the embedded PostgreSQL server under the data directory
    ephemeral_url: str | None = None  # redis://... or postgresql://... to share ephemeral state between nodes
    secrets_key: SecretStr | None = None  # base64 AES-256 key; None = generated once into the data directory
    sql_statement_timeout_seconds: float = 5.0
    sql_quota_bytes: int = 50 * 1024 * 1024
    metrics_retention_days: int = 90
    ephemeral_prefix: str = "maidcore:eph:"  # key prefix (installations can share one Redis or database)
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"  # NORMAL survives a killed process, FULL also power loss
    db_threads: int | None = None  # database threads (one connection each); None = 4 on SQLite, 16 on PostgreSQL
    sweep_interval_seconds: float = 60.0  # how often expired KV keys, old metric buckets and unused blobs are deleted
    # a blob (bundle, prepared site) no plugin version names is deleted once a sweep has found it unnamed this long
    # ago (so an upload whose version is not recorded yet is never collected); reusing it resets the clock
    blob_grace_seconds: float = Field(default=24 * 3600.0, gt=0)
    # --- embedded PostgreSQL and the bounds of ctx.sql ---
    embedded_start_timeout_seconds: float = 60.0  # how long the embedded server may take to start (or wait its turn)
    embedded_server_settings: dict[str, str] = Field(default_factory=dict)  # extra postgresql.conf settings
    sql_max_result_bytes: int = 1_000_000  # a query's rows as JSON; past it: RpcError (cut the query or page it)
    sql_threads: int = 8  # threads (one connection each) that run ctx.sql statements, all plugins together
    sql_threads_per_plugin: int = 2  # statements one plugin may have running at once; more wait their turn
    sql_queue_per_plugin: int = 16  # statements one plugin may have waiting; more are refused at once
    # --- per-(server, plugin) quotas of the other stores (docs/bounds.md) ---
    ephemeral_max_keys: int = 10_000  # live ephemeral keys (cooldowns, dedup, flags, counters); more: QUOTA_EXCEEDED
    # entries one sliding-window counter keeps, however often it is hit; hits closer together than
    # window / slots share an entry (and leave the window together, with its first hit)
    ephemeral_counter_slots: int = Field(default=1_000, ge=10, le=100_000)
    # entries all of one (server, plugin)'s counters keep together; past it, hits join their counter's newest entry
    ephemeral_counter_entries: int = Field(default=100_000, ge=1_000)
    metrics_max_series: int = 1_000  # distinct (metric, tag key, tag value) kept; a new one past it: QUOTA_EXCEEDED
    metrics_points_per_minute: int = 6_000  # metrics.record calls; more within the minute: QUOTA_EXCEEDED
    secrets_max_count: int = 100  # secrets stored per (server, plugin); a new one past it: QUOTA_EXCEEDED
    secrets_max_bytes: int = 64 * 1024  # their values together (UTF-8 bytes); past it: QUOTA_EXCEEDED

    @field_validator("database_url")
    @classmethod
    def _a_database_maidcore_speaks(cls, value: str | None) -> str | None:
        """A URL of an engine the layer has, checked when settings load, not when storage first connects."""
        if value is not None:
            from maidcore_sqlmodel.database import DatabaseUrl  # the one parser of database URLs

            DatabaseUrl.resolve(value, Path("."))
        return value

    @field_validator("ephemeral_url")
    @classmethod
    def _an_ephemeral_store_there_is(cls, value: str | None) -> str | None:
        if value:
            from maidcore_sqlmodel.ephemeral import POSTGRES_SCHEMES, REDIS_SCHEMES

            if not value.startswith(REDIS_SCHEMES + POSTGRES_SCHEMES):
                raise ValueError(
                    f"storage.ephemeral_url must start with one of {', '.join(REDIS_SCHEMES + POSTGRES_SCHEMES)}, "
                    "or be unset for this process's memory"
                )
        return value
