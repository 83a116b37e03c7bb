"""Settings: ``MAIDCORE_*`` environment variables over an optional ``maidcore.toml``.

This module holds the core's own settings: which implementation serves each
layer, the data directory, and the runner, proxy and web sections. Every
extension registers its own section through the ``register_settings`` hook
(``maidcore_docker`` registers ``docker``, ``maidcore_limits`` registers
``limits``, ...); :func:`settings_class` adds those sections as nested fields,
so they are read, validated and printed exactly like the core's. Nested fields
are reached from the environment with a double underscore:
``MAIDCORE_DOCKER__MEMORY=128m``. The TOML file is ``./maidcore.toml`` or the
path in ``MAIDCORE_CONFIG``.
"""

from __future__ import annotations

import keyword
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, SecretStr, create_model, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

if TYPE_CHECKING:
    from maidcore.extensions import Extensions


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "maidcore"


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
    shutdown_grace_seconds: float = 5.0  # node close: all workers at once get this long to drain and exit, then killed
    call_timeout_seconds: float = 25.0  # host side; below the SDK's 30 s
    max_line_bytes: int = 1024 * 1024
    min_schedule_interval_seconds: float = 60.0  # @schedule(n) ticks every max(n, this)
    log_flush_seconds: float = 0.5  # plugin.log lines are stored in batches
    lifecycle_attribution_seconds: float = 10.0  # after host.install/enable/...: calls for that server accepted
    boot_ready_seconds: float = 5.0  # deliveries wait at most this long for the SDK to take host.boot (host.ping)
    error_log_burst: int = 5  # plugin error lines copied into the serve log per plugin per window; 0 = none
    error_log_window_seconds: float = 60.0  # past the burst, one summary line per plugin per window
    idle_stop_seconds: float = 600.0  # no work this long: the worker stops (0 = never); the next event starts one
    # --- per-plugin bounds (docs/bounds.md) ---
    max_outgoing_bytes: int = 16 * 1024 * 1024  # per worker: bytes queued for its stdin; past it the worker restarts
    max_requests_in_flight: int = 256  # per worker: host calls being served; more answer QUOTA_EXCEEDED
    max_requests_in_flight_per_plugin: int = 64  # per (server, plugin): host calls being served; more: QUOTA_EXCEEDED
    max_waiting_publishes: int = 10_000  # per worker: events waiting for room in its full queue; more are dropped
    log_lines_per_second: float = 50.0  # per (server, plugin): plugin.log lines stored; burst of 2 s worth
    log_bytes_per_second: float = 64 * 1024  # per (server, plugin): plugin.log message bytes stored; burst of 2 s
    stderr_lines_per_second: float = Field(default=100.0, gt=0)  # per worker: stderr lines read (burst 2 s); faster
    # writers wait on their own full pipe
    stderr_lines_stored: int = Field(default=100, ge=0)  # per worker per 10 s: stored as plugin logs; rest: host log


# a coordinator URL names its engine by scheme (maidcore.cluster.node.build_coordinator)
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
COORDINATOR_SCHEMES = {"redis": ("redis://", "rediss://", "unix://"), "postgresql": POSTGRES_SCHEMES}


class ClusterSettings(BaseModel):
    """Several ``maidcore serve`` nodes sharing PostgreSQL and a coordination engine (``maidcore.cluster``).

    Off by default: with no ``coordinator_url`` (nor the older ``redis_url``) a node serves every
    shard it is configured for and delivers events in process, as a single node always did.
    """

    # the coordination engine, by URL: redis://10.0.0.5:6379/0 or postgresql://user:pw@10.0.0.6/maidcore
    # (docs/cluster.md); None = single node (no leases, no event log)
    coordinator_url: str | None = None
    redis_url: str | None = None  # the older spelling of a redis:// coordinator_url (still honoured)
    # PostgreSQL coordinator: connections each process opens at most (one per call in flight; PostgreSQL's
    # max_connections must cover this x processes x nodes, plus storage's own pool)
    coordinator_pool_size: int = Field(8, ge=1)
    key_prefix: str = "maidcore"  # every key this cluster writes starts with it; clusters sharing a Redis differ here
    node_id: str | None = None  # this node's name in leases and the event log; None = <hostname>-<pid>
    lease_seconds: float = 6.0  # a shard lease expires this long after its holder last renewed it
    renew_seconds: float = 1.5  # how often a node renews its leases and looks for free shards
    takeover_grace_seconds: float = 3.0  # a free shard meant for another live node is taken after this long
    identify_interval_seconds: float = 5.0  # Discord: one IDENTIFY per max_concurrency bucket per 5 s, cluster-wide
    storage_check_seconds: float = 3.0  # a node that cannot reach its storage this long stops serving its shards
    read_batch: int = 100  # events a node reads from a shard's log at once
    message_owner_days: float = Field(30.0, gt=0)  # a sent message's owner (who gets clicks on it) is kept this long

    @model_validator(mode="after")
    def _one_known_engine(self) -> ClusterSettings:
        if self.coordinator_url and self.redis_url and self.coordinator_url != self.redis_url:
            raise ValueError(
                "cluster.coordinator_url and cluster.redis_url name two coordination engines; "
                "set only cluster.coordinator_url"
            )
        if self.redis_url and not self.redis_url.startswith(COORDINATOR_SCHEMES["redis"]):
            raise ValueError(f"cluster.redis_url must be a Redis URL (redis://host:port/db), not {self.redis_url!r}")
        if self.coordinator_url and self.engine is None:
            schemes = ", ".join(s for group in COORDINATOR_SCHEMES.values() for s in group)
            raise ValueError(
                f"cluster.coordinator_url {self.coordinator_url!r} names no coordination engine maidcore has: "
                f"it must start with one of {schemes}"
            )
        return self

    @property
    def url(self) -> str | None:
        """The coordinator's URL (``coordinator_url``, else ``redis_url``); None = no cluster."""
        return self.coordinator_url or self.redis_url or None

    @property
    def engine(self) -> str | None:
        """``"redis"`` or ``"postgresql"``: the engine ``url`` names (None without a cluster)."""
        url = self.url
        if not url:
            return None
        return next((name for name, schemes in COORDINATOR_SCHEMES.items() if url.startswith(schemes)), None)


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8780
    max_json_body_bytes: int = 64 * 1024  # a JSON request body; more is 413 (bundle uploads have their own cap)
    max_json_depth: int = 32  # arrays/objects nested deeper in a JSON body are 400
    # the web console (docs/console.md)
    public_url: str | None = None  # the console's address as people reach it (https://... behind TLS); None = as asked
    oauth_client_id: str | None = None  # the Discord application's OAuth2 client; not needed with the emulator
    oauth_client_secret: SecretStr | None = None
    admins: list[str] = Field(default_factory=list)  # Discord user ids of platform admins (every page)
    reviewers: list[str] = Field(default_factory=list)  # Discord user ids of reviewers (the review queue)
    session_hours: float = 12.0  # a console sign-in lasts this long; guild permissions are re-read at sign-in


class ConfigFileError(ValueError):
    """The settings file cannot be used: ``MAIDCORE_CONFIG`` names no file, or it is not readable TOML."""


class Settings(BaseSettings):
    """The core's settings; :func:`settings_class` adds the extensions' sections to it."""

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
    unsafe_no_isolation: bool = False  # allow a non-isolating sandbox while serving real users (loud warning)
    fallback_sandbox_backend: str = "process"  # local mode only: used when the chosen one is unavailable; "" = none
    # install changes by other processes/nodes: pushed by the storage layer (PostgreSQL LISTEN/NOTIFY; SQLite:
    # its change log, read every install_poll_seconds); install_push = false re-reads every install each
    # install_poll_seconds instead (for a database behind a pooler that drops LISTEN, e.g. PgBouncer transactions)
    install_push: bool = True
    install_poll_seconds: float = 2.0  # SQLite change log / polling interval; 0 = only this process's own changes
    # `maidcore serve`: after start-up, freeze the heap out of full garbage collections (maidcore.heap)
    gc_freeze: bool = True

    proxy: ProxySettings = Field(default_factory=ProxySettings)
    websocket: WebSocketSettings = Field(default_factory=WebSocketSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        named = os.environ.get("MAIDCORE_CONFIG")
        toml_path = Path(named or "maidcore.toml")
        if named and not toml_path.is_file():  # a file named on purpose and missing is a mistake, never ignored
            raise ConfigFileError(f"MAIDCORE_CONFIG names {named}, which is not a file")
        try:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigFileError(f"{toml_path} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigFileError(f"{toml_path} cannot be read: {exc.strerror or exc}") from None
        return (init_settings, env_settings, toml)

    def masked(self) -> dict[str, Any]:
        """The effective settings as JSON-able data, secrets and passwords in URLs shown as ``"**********"``."""
        return _mask_urls(self.model_dump(mode="json"))

    @classmethod
    def sections(cls) -> dict[str, type[BaseModel]]:
        """The extension sections this class holds (none for the core's own class)."""
        return dict(getattr(cls, "__maidcore_sections__", {}))

    def section(self, name: str) -> BaseModel:
        """One extension's section; the error lists the sections that exist."""
        if name not in self.sections():
            known = ", ".join(sorted(self.sections())) or "none"
            raise KeyError(f"no settings section {name!r} is registered (registered sections: {known})")
        return getattr(self, name)


#: A section name is one lowercase word (``docker``, ``limits``): it becomes ``[name]`` and ``MAIDCORE_NAME__*``.
SECTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_classes: dict[tuple[tuple[str, type[BaseModel]], ...], type[Settings]] = {}


class SectionError(ValueError):
    """A settings section cannot be added: a bad name, a clash with a core field, or not a pydantic model."""


def check_section(name: str, model: object) -> None:
    """Raise ``SectionError`` saying what is wrong with registering ``model`` as section ``name``."""
    if not isinstance(name, str) or not SECTION_NAME.match(name) or keyword.iskeyword(name):
        raise SectionError(
            f"settings section name {name!r} must be one lowercase word such as 'docker' or 'my_limiter'"
        )
    if name in Settings.model_fields:
        raise SectionError(f"settings section {name!r} clashes with the core setting of that name; choose another name")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise SectionError(f"settings section {name!r} must be a pydantic BaseModel class, got {model!r}")


def settings_class(sections: Mapping[str, type[BaseModel]]) -> type[Settings]:
    """``Settings`` with each of ``sections`` as a nested field (its defaults, ``[name]`` table, env vars)."""
    key = tuple(sorted(sections.items(), key=lambda item: item[0]))
    cls = _classes.get(key)
    if cls is None:
        for name, model in key:
            check_section(name, model)
        fields: dict[str, Any] = {name: (model, Field(default_factory=model)) for name, model in key}
        cls = create_model("Settings", __base__=Settings, __module__=__name__, **fields)
        cls.__maidcore_sections__ = dict(key)  # type: ignore[attr-defined]
        _classes[key] = cls
    return cls


def load_settings(extensions: Extensions | None = None, /, **values: Any) -> Settings:
    """The effective settings with every loaded extension's section: ``values`` over env over TOML over defaults."""
    if extensions is None:
        from maidcore.extensions import Extensions

        extensions = Extensions.load()
    return settings_class(extensions.settings_sections())(**values)


def complete(settings: Settings, sections: Mapping[str, type[BaseModel]]) -> Settings:
    """``settings`` holding every one of ``sections``; the missing ones are read from env and TOML (or defaults).

    Lets a caller build the core ``Settings`` alone (a test, a script) and still
    hand the platform something every extension finds its section in.
    """
    have = type(settings).sections()
    if all(have.get(name) is model for name, model in sections.items()):
        return settings
    cls = settings_class({**have, **sections})
    return cls(**{name: getattr(settings, name) for name in type(settings).model_fields})


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
