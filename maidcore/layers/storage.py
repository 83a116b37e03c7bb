"""Storage: plugin state (KV, SQL, ephemeral, metrics, secrets) and the platform's records.

Every plugin-facing method takes the ``Scope`` of the call first; an
implementation must make it impossible for one scope to read or write
another's data. Methods raise ``maidcore.errors`` classes
(``InvalidArgument``, ``KvQuotaExceeded``, ``RpcFailure``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from maidcore.records import (
    AuthSecretInfo,
    ConsoleSession,
    DeadLetter,
    DeniedCall,
    HostApproval,
    InstallRecord,
    MetricPoint,
    PluginLog,
    PluginRecord,
    TokenRecord,
    VersionRecord,
)
from maidcore.scope import Scope

JSON = Any


@runtime_checkable
class KvStore(Protocol):
    """``ctx.kv`` (§4.4): 10,000 keys per scope, values ≤ 64 KB of compact JSON, keys ≤ 256 chars."""

    async def get(self, scope: Scope, key: str) -> JSON | None: ...
    async def put(self, scope: Scope, key: str, value: JSON, ttl_seconds: int = 0) -> None: ...
    async def delete(self, scope: Scope, key: str) -> None: ...
    async def increment(self, scope: Scope, key: str, amount: int | float, path: str = "") -> int | float: ...
    async def list_keys(self, scope: Scope, prefix: str, limit: int, start_after: str | None = None) -> list[str]: ...
    async def list_values(
        self, scope: Scope, prefix: str, limit: int, start_after: str | None = None
    ) -> dict[str, JSON]: ...
    async def count(self, scope: Scope, prefix: str) -> int: ...
    async def get_many(self, scope: Scope, keys: Sequence[str]) -> dict[str, JSON]: ...
    async def put_many(self, scope: Scope, entries: Mapping[str, JSON]) -> None: ...


@runtime_checkable
class SqlSandbox(Protocol):
    """``ctx.sql`` (§4.5): one private schema/database per scope; statements checked, params always bound."""

    async def execute(self, scope: Scope, sql: str, params: Sequence[JSON]) -> int: ...
    async def query(self, scope: Scope, sql: str, params: Sequence[JSON], limit: int) -> tuple[list[dict], bool]:
        """Rows (at most ``limit``) and whether more were cut."""
        ...


@runtime_checkable
class EphemeralStore(Protocol):
    """``ctx.ephemeral`` (§4.6): windows and TTLs are already clamped to 1..86400 s by the host API."""

    async def counter(self, scope: Scope, key: str, window_seconds: int) -> int: ...
    async def cooldown_set(self, scope: Scope, key: str, ttl_seconds: int) -> None: ...
    async def cooldown_check(self, scope: Scope, key: str) -> tuple[bool, float]: ...
    async def dedup(self, scope: Scope, key: str, ttl_seconds: int) -> bool: ...
    async def flag_set(self, scope: Scope, key: str, ttl_seconds: int) -> None: ...
    async def flag_check(self, scope: Scope, key: str) -> bool: ...


@runtime_checkable
class MetricStore(Protocol):
    """``ctx.metrics`` (§4.8): 90-day retention."""

    async def record(self, scope: Scope, metric: str, value: float, tags: Mapping[str, str]) -> None: ...
    async def record_many(self, points: Sequence[MetricPoint]) -> None:
        """The platform's own counters (names under ``maidcore.``, no quota) in one transaction: all land or none.

        On failure it raises and nothing was recorded (the runner then records the
        points one by one, so one bad point loses no other). A name outside
        ``maidcore.`` is refused with ``InvalidArgument`` before anything is written.
        """
        ...

    async def query(
        self, scope: Scope, metric: str, period: str, aggregate: str, group_by: str | None
    ) -> dict[str, Any]:
        """``{"labels": [...], "series": [{"name", "data"}], "total": float}``."""
        ...

    async def total(self, scope: Scope, metric: str, period: str) -> float: ...
    async def names(self, plugin_id: str, server_id: str | None = None) -> list[str]:
        """Metric names recorded (and still kept) for a plugin, on one server or any; sorted."""
        ...


@runtime_checkable
class SecretStore(Protocol):
    """``ctx.secrets`` (§4.9): encrypted at rest; per-server value over the developer default."""

    async def get(self, scope: Scope, key: str) -> str | None: ...
    async def set(self, scope: Scope, key: str, value: str) -> None: ...
    async def delete(self, scope: Scope, key: str) -> None: ...
    async def set_default(self, plugin_id: str, key: str, value: str) -> None: ...
    async def delete_default(self, plugin_id: str, key: str) -> None: ...
    async def list_defaults(self, plugin_id: str) -> list[str]:
        """Keys (never values) of the developer defaults, sorted."""
        ...

    # Domain-bound auth secrets (``secret_auth=``): a separate space the plugin can name but never read.
    async def set_auth(self, plugin_id: str, server_id: str, name: str, value: str, hosts: Sequence[str]) -> None:
        """Store the value and the hosts it may go to; ``server_id`` "" is the developer default."""
        ...

    async def get_auth(self, scope: Scope, name: str) -> tuple[str, tuple[str, ...]] | None:
        """``(value, hosts)``: the server's own secret, else the developer default, else ``None``."""
        ...

    async def delete_auth(self, plugin_id: str, server_id: str, name: str) -> bool: ...
    async def list_auth(self, plugin_id: str, server_id: str | None = None) -> list[AuthSecretInfo]:
        """Names and hosts (never values); ``server_id=None`` lists every server's and the default."""
        ...


@runtime_checkable
class RecordStore(Protocol):
    """The platform's records.

    Plugins, versions, installs and grants, dead letters, plugin logs, API tokens, denied capability
    calls (permission requests) and web console sessions.
    """

    async def add_plugin(self, plugin: PluginRecord) -> None: ...
    async def get_plugin(self, plugin_id: str) -> PluginRecord | None: ...
    async def list_plugins(self) -> list[PluginRecord]: ...

    async def add_version(self, version: VersionRecord) -> None: ...
    async def get_version(self, plugin_id: str, version: str) -> VersionRecord | None: ...
    async def list_versions(self, plugin_id: str) -> list[VersionRecord]:
        """Oldest first."""
        ...

    async def update_version(self, version: VersionRecord) -> None:
        """Replace the stored record with the same (plugin_id, version)."""
        ...

    async def get_registrations(self, digests: Collection[str]) -> dict[str, dict[str, Any]]:
        """The stored ``plugin.register`` params of these code digests (``maidcore.runner.registrations``).

        Unknown digests are left out. Optional: without it (and ``put_registration``) every plugin
        version starts a worker once when loaded.
        """
        ...

    async def put_registration(self, digest: str, registration: dict[str, Any]) -> None:
        """Insert or replace the registration of a code digest."""
        ...

    async def put_install(self, install: InstallRecord) -> None:
        """Insert or replace the install of (server_id, plugin_id)."""
        ...

    async def get_install(self, server_id: str, plugin_id: str) -> InstallRecord | None: ...
    async def list_installs(
        self, *, server_id: str | None = None, plugin_id: str | None = None
    ) -> list[InstallRecord]: ...
    async def delete_install(self, server_id: str, plugin_id: str) -> None: ...

    async def add_dead_letter(self, letter: DeadLetter) -> int:
        """Store and return its id."""
        ...

    async def list_dead_letters(
        self, *, plugin_id: str | None = None, server_id: str | None = None
    ) -> list[DeadLetter]: ...
    async def delete_dead_letter(self, letter_id: int) -> None: ...

    async def add_logs(self, logs: Sequence[PluginLog]) -> None: ...
    async def list_logs(
        self, *, plugin_id: str | None = None, server_id: str | None = None, limit: int = 100
    ) -> list[PluginLog]:
        """Newest first; ``plugin_id=None``: every plugin's."""
        ...

    async def add_host_approval(self, approval: HostApproval) -> None:
        """Insert or replace the approval of (server_id, plugin_id, kind, host)."""
        ...

    async def remove_host_approval(self, server_id: str, plugin_id: str, kind: str, host: str) -> bool: ...
    async def list_host_approvals(
        self, *, server_id: str, plugin_id: str, kind: str | None = None
    ) -> list[HostApproval]: ...
    async def clear_host_approvals(self, server_id: str, plugin_id: str) -> None:
        """Forget every approval of an install (it was uninstalled)."""
        ...

    async def add_token(self, token: TokenRecord) -> None: ...
    async def get_token(self, token_hash: str) -> TokenRecord | None: ...
    async def revoke_token(self, token_hash: str) -> None: ...

    async def add_denied_calls(self, calls: Sequence[DeniedCall]) -> None:
        """Add each call's ``count`` to the request of its (server, plugin, capability), creating it if new.

        ``last_at``/``last_method`` follow the newest call; ``first_at`` and ``dismissed`` of a stored
        request stay. Safe from several nodes at once.
        """
        ...

    async def list_denied_calls(
        self, *, server_id: str | None = None, plugin_id: str | None = None
    ) -> list[DeniedCall]:
        """Newest ``last_at`` first."""
        ...

    async def dismiss_denied_call(self, server_id: str, plugin_id: str, capability: str) -> None: ...
    async def delete_denied_calls(self, server_id: str, plugin_id: str, capability: str | None = None) -> None:
        """Forget one request (``capability``) or every request of the install (``None``)."""
        ...

    async def put_session(self, session: ConsoleSession) -> None: ...
    async def get_session(self, session_hash: str) -> ConsoleSession | None:
        """The session, also when expired (the caller checks ``expires_at``)."""
        ...

    async def delete_session(self, session_hash: str) -> None: ...
    async def delete_expired_sessions(self) -> int:
        """Remove sessions past ``expires_at``; returns how many."""
        ...


InstallKey = tuple[str, str]  # (server_id, plugin_id)


@runtime_checkable
class BlobStore(Protocol):
    """Archives (plugin bundles, prepared sites) by content digest, reachable from every node.

    The core computes and verifies digests (``maidcore.bundles``); a store keeps
    bytes under them. Storing a digest twice keeps the first copy.

    A store may delete blobs no version names (garbage collection); it must
    keep one stored or touched within its grace period, so a version recorded
    right after ``put``/``touch`` always finds its blob.
    """

    async def put(self, digest: str, source: Path) -> None:
        """Store the file ``source`` under ``digest``."""
        ...

    async def fetch(self, digest: str, dest: Path) -> bool:
        """Write the blob to the file ``dest``; ``False`` when no blob has that digest."""
        ...

    async def has(self, digest: str) -> bool: ...

    async def touch(self, digest: str) -> bool:
        """Like ``has``, and a stored blob counts as just stored (the core calls it before reusing a blob)."""
        ...


@runtime_checkable
class CommandSyncStore(Protocol):
    """What each server's slash commands were last synced to, per application (``maidcore.command_sync``).

    The core records a digest of the set after each successful sync, so a
    restarted node sends only the sets that differ; shared by every node.
    """

    async def digests(self, application_id: str) -> dict[str, str]:
        """server id -> digest of the set last synced there, for every server of ``application_id``."""
        ...

    async def digest(self, application_id: str, server_id: str) -> str | None: ...

    async def put(self, application_id: str, digests: Mapping[str, str]) -> None:
        """Record (insert or replace) the digests of the sets just synced (server id -> digest)."""
        ...


@runtime_checkable
class InstallFeed(Protocol):
    """Where a node hears about installs written by other processes or nodes, pushed or polled."""

    async def start(self, records: RecordStore, known: Mapping[InstallKey, Any]) -> None:
        """Begin watching; ``known`` is every install's state now (a polling feed diffs against it)."""
        ...

    async def changes(self, *, wait: bool = True) -> Collection[InstallKey] | None:
        """The installs that may have changed since the last call, or ``None``: any may have (re-read all once).

        With ``wait``, block until there is something to report; without, report
        at least every change committed before the call.
        """
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Storage(Protocol):
    """One storage layer: all six stores, opened and closed together.

    Optional members (a storage layer without them still works on one node):

    - ``async def describe() -> dict`` — the database for ``maidcore status``
      (``kind``, ``engine``, ``version``, ``size_bytes``, ``location``);
    - ``blobs: BlobStore`` — bundles reachable from every node; without it a
      version's files stay on the node that stored them;
    - ``command_syncs: CommandSyncStore`` — digests of the slash commands last
      synced to each server; without it a node re-syncs every server when it
      starts;
    - ``def install_feed(poll_seconds: float) -> InstallFeed | None`` — install
      changes pushed (or cheaply polled); without it (or ``None``) the core
      re-reads every install each ``poll_seconds``.
    """

    name: str
    kv: KvStore
    sql: SqlSandbox
    ephemeral: EphemeralStore
    metrics: MetricStore
    secrets: SecretStore
    records: RecordStore

    async def start(self) -> None:
        """Open connections and bring the schema up to date (migrations)."""
        ...

    async def close(self) -> None: ...
