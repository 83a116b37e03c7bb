"""Settings: ``MAIDCORE_*`` environment variables over an optional ``maidcore.toml``.

Top-level fields choose one implementation per layer by name; each section
holds one layer's (or one extension's) options. Nested fields are reached from
the environment with a double underscore: ``MAIDCORE_DOCKER__MEMORY=128m``.
The TOML file is ``./maidcore.toml`` or the path in ``MAIDCORE_CONFIG``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "maidcore"


class DiscordSettings(BaseModel):
    token: SecretStr | None = None  # no token: the local emulator is started instead
    shard_ids: list[int] | None = None  # shards this node runs; None = all
    shard_count: int | None = None  # None = Discord's recommendation
    api_base: str | None = None  # REST base URL override (the emulator sets it)
    emulator_host: str = "127.0.0.1"
    emulator_port: int = 8787
    demo: bool = True  # with the emulator: create the demo guild and install examples/
    commands_poll_seconds: float = 2.0  # how often installs are re-read to re-sync slash commands; 0 = never


class DockerSettings(BaseModel):
    image: str = "maidcore-sandbox:latest"
    base_image: str = "python:3.11-slim"  # used by the FROM build when a registry is reachable
    memory: str = "64m"
    memory_swap: str = "64m"  # equal to memory: no swap
    cpus: float = 0.25
    pids_limit: int = 32
    tmpfs_size: str = "16m"
    user: str = "65534:65534"
    network_mode: str = "none"
    read_only: bool = True
    cap_drop: list[str] = Field(default_factory=lambda: ["ALL"])
    no_new_privileges: bool = True
    tmpfs_path: str = "/tmp"
    ipc_mode: str = "none"  # no /dev/shm: it would be a second, uncapped writable place
    seccomp_profile: str | None = None  # None = Docker's default profile; a path = that JSON profile
    log_driver: str = "none"  # worker output reaches the runner over attach, never the engine's disk
    max_open_files: int = 1024  # RLIMIT_NOFILE inside the container
    labels: dict[str, str] = Field(default_factory=dict)  # extra labels on every worker container
    runtime_env: dict[str, str] = Field(
        default_factory=lambda: {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": "/opt/maidcore/sdk:/site"}
    )  # the whole environment of a worker; nothing else is passed in
    warm_pool_size: int = 2  # idle pre-started containers kept across all plugin versions (0 = no pool)
    warm_pool_idle_reap_seconds: float = 300.0
    stop_timeout_seconds: float = 5.0
    spawn_timeout_seconds: float = 30.0
    node_id: str | None = None  # labels this node's containers for the startup sweep; None = derived from data_dir
    cache_dir: Path | None = None  # offline base tarball cache; None = ~/.cache/maidcore/sandbox
    base_source: Literal["auto", "debootstrap", "registry"] = "auto"  # auto: base_image if present, else debootstrap
    debian_suite: str = "bookworm"
    debian_mirror: str = "http://deb.debian.org/debian"
    pip_timeout_seconds: float = 600.0


class ProcessSettings(BaseModel):
    python: str | None = None  # interpreter for plugin workers; None = the one running maidcore
    memory_bytes: int = 1024 * 1024 * 1024  # RLIMIT_AS: address space, so thread stacks and malloc arenas count
    cpu_seconds: int = 3600  # RLIMIT_CPU
    max_open_files: int = 256


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


class RateLimitSettings(BaseModel):
    storage_uri: str = "memory://"  # any `limits` storage URI, e.g. redis://127.0.0.1:6379
    events_per_second: int = 50
    discord_actions_per_minute: int = 60
    proxy_requests_per_minute: int = 30
    over_limit_events: Literal["drop", "delay"] = "drop"
    delay_bound_seconds: float = 2.0  # with "delay": events that cannot pass within this bound are dropped
    key_prefix: str = "maidcore"  # Redis key prefix; nodes sharing one limit must use the same prefix
    redis_max_connections: int = 32  # per process; callers wait for a free connection


class ProxySettings(BaseModel):
    allow_http: bool = False
    allow_private_addresses: bool = False  # loopback/private/link-local; tests turn it on
    allowed_private_networks: list[str] = Field(default_factory=list)  # CIDRs let through, e.g. ["10.1.2.0/24"]
    max_body_bytes: int = 1024 * 1024
    connect_timeout_seconds: float = 5.0
    total_timeout_seconds: float = 15.0
    max_redirects: int = 5
    max_request_body_bytes: int = 1024 * 1024
    pool_size: int = 100  # open upstream connections, all hosts together
    pool_size_per_host: int = 0  # 0 = no per-host cap; per_scope_concurrency already keeps plugins apart
    per_scope_concurrency: int = 4  # requests one (server, plugin) may have in flight; more wait their turn
    dns_cache_seconds: float = 10.0  # checked addresses are reused (pinned) this long
    user_agent: str = "maidcore-proxy/0.1"  # sent when the plugin sets no User-Agent
    extra_ca_file: str | None = None  # PEM file of CAs trusted besides the system ones (an internal CA, tests)


class WebSocketSettings(BaseModel):
    """The WebSocket broker behind ``ctx.ws`` (``proxy:websocket``); addresses are checked as ``proxy`` says."""

    max_connections_per_scope: int = 5  # open sockets one (server, plugin) may hold
    max_frame_bytes: int = 256 * 1024  # largest frame either way (inbound: the socket is dropped and reconnected)
    send_frames_per_second: float = 10.0  # ws.send per connection (burst of the same size), else RATE_LIMITED
    receive_frames_per_second: float = 50.0  # inbound frames per connection; faster senders are read more slowly
    max_subscribe_messages: int = 20  # frames sent after every (re)connect
    connect_timeout_seconds: float = 10.0
    heartbeat_seconds: float = 30.0  # ping interval; a peer that does not answer is reconnected
    reconnect_initial_seconds: float = 1.0  # backoff after a drop, doubled up to reconnect_max_seconds
    reconnect_max_seconds: float = 60.0
    reconnect_reset_seconds: float = 30.0  # a socket open this long starts the backoff over
    attribution_seconds: float = 5.0  # calls naming no server are attributed to a frame's server this long
    max_pending_frames: int = 256  # frames queued for one worker before reading from its sockets pauses


class RunnerSettings(BaseModel):
    mode: Literal["pool", "single"] = "pool"
    max_in_flight: int = 64  # per worker: deliveries sent and not yet acked
    queue_size: int = 1024  # per worker: deliveries waiting for a slot; over it the router applies back-pressure
    ack_timeout_seconds: float = 120.0
    max_redeliveries: int = 5
    restart_backoff_initial_seconds: float = 0.5
    restart_backoff_max_seconds: float = 30.0
    # crashes within the window that park a plugin; above 1 + max_redeliveries so that one poison
    # event is dead-lettered (after its 6th delivery crashed) before the plugin would be parked
    circuit_breaker_crashes: int = 8
    circuit_breaker_window_seconds: float = 60.0
    shutdown_grace_seconds: float = 5.0
    call_timeout_seconds: float = 25.0  # host side; below the SDK's 30 s
    max_line_bytes: int = 1024 * 1024
    min_schedule_interval_seconds: float = 60.0  # @schedule(n) ticks every max(n, this)
    log_flush_seconds: float = 0.5  # plugin.log lines are stored in batches
    lifecycle_attribution_seconds: float = 10.0  # after host.install/enable/...: calls for that server accepted
    boot_ready_seconds: float = 5.0  # deliveries wait for the worker's first line after host.boot, at most this long


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8780


class Settings(BaseSettings):
    """Everything ``maidcore`` reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="MAIDCORE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Field(default_factory=_default_data_dir)

    # one implementation per layer, by registered name
    event_source: str = "discord"
    sandbox_backend: str = "docker"
    storage_backend: str = "sqlmodel"
    rate_limiter: str = "limits"

    # platform (core): isolation policy and how a running server notices installs made by the CLI
    unsafe_no_isolation: bool = False  # allow a non-isolating sandbox with a real Discord token (loud warning)
    install_poll_seconds: float = 2.0  # `maidcore serve` re-reads installs this often; 0 turns it off

    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    docker: DockerSettings = Field(default_factory=DockerSettings)
    process: ProcessSettings = Field(default_factory=ProcessSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    websocket: WebSocketSettings = Field(default_factory=WebSocketSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("MAIDCORE_CONFIG", "maidcore.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_path))

    def masked(self) -> dict[str, Any]:
        """The effective settings as JSON-able data, secrets and passwords in URLs shown as ``"**********"``."""
        return _mask_urls(self.model_dump(mode="json"))


MASK = "**********"


def mask_url(value: str) -> str:
    """``scheme://user:secret@host/db`` -> ``scheme://user:**********@host/db``; other strings unchanged."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.scheme or "@" not in parts.netloc:
        return value
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    if not has_password:
        return value  # a user name alone is no secret
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostport}"))


def _mask_urls(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _mask_urls(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_urls(v) for v in data]
    if isinstance(data, str) and "://" in data:
        return mask_url(data)
    return data
