"""The ``[storage]`` settings section (``MAIDCORE_STORAGE__*``) of the SQLModel storage layer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr


class StorageSettings(BaseModel):
    database_url: str | None = None  # None = SQLite in the data directory
    ephemeral_url: str | None = None  # redis://... to share ephemeral state between nodes
    secrets_key: SecretStr | None = None  # base64 AES-256 key; None = generated once into the data directory
    sql_statement_timeout_seconds: float = 5.0
    sql_quota_bytes: int = 50 * 1024 * 1024
    metrics_retention_days: int = 90
    ephemeral_prefix: str = "maidcore:eph:"  # Redis key prefix (several maidcore installations can share one Redis)
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"  # NORMAL survives a killed process, FULL also power loss
    db_threads: int | None = None  # database threads (one connection each); None = 4 on SQLite, 16 on PostgreSQL
    sweep_interval_seconds: float = 60.0  # how often expired KV keys and old metric buckets are deleted
