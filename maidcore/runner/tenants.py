"""What the runner knows about plugin versions and installs, kept in memory for the event path."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yourbot_sdk.spec.cron import MAX_CRON_ENTRIES, cron_spec_problem
from yourbot_sdk.spec.manifest import proxy_domains

from maidcore.capabilities import effective
from maidcore.manifest import declared_capabilities
from maidcore.records import InstallRecord, VersionRecord
from maidcore.runner.registrations import code_digest
from maidcore.scope import Scope

if TYPE_CHECKING:
    from maidcore.runner.worker import WorkerSlot

log = logging.getLogger("maidcore.runner")


@dataclass(frozen=True)
class VersionInfo:
    """One plugin version as the runner needs it: where it lives and what its manifest allows."""

    plugin_id: str
    version: str
    bundle_dir: Path
    site_dir: Path | None
    manifest: dict[str, Any]
    capabilities: frozenset[str]  # effective manifest capabilities (declared + auto-added)
    proxy_domains: frozenset[str]
    crons: tuple[tuple[str, str], ...]  # (name, spec) from the manifest
    code_digest: str | None = None  # what its registration is remembered by (``maidcore.runner.registrations``)

    @classmethod
    def from_record(
        cls, record: VersionRecord, *, bundle_dir: Path | None = None, site_dir: Path | None = None
    ) -> VersionInfo:
        """``bundle_dir``/``site_dir``: this node's copies (``maidcore.bundles``); default: the paths recorded."""
        manifest = dict(record.manifest or {})
        domains = manifest.get("proxy_domains_requested") or []
        crons = manifest.get("cron") or []
        return cls(
            plugin_id=record.plugin_id,
            version=record.version,
            bundle_dir=bundle_dir if bundle_dir is not None else Path(record.bundle_path),
            site_dir=site_dir if site_dir is not None else (Path(record.site_path) if record.site_path else None),
            manifest=manifest,
            capabilities=effective(
                declared_capabilities(manifest),
                slash_commands=bool(manifest.get("slash_commands")),
                proxy_domains=bool(domains),
            ),
            proxy_domains=proxy_domains(manifest),
            crons=runnable_crons(record.plugin_id, record.version, crons),
            code_digest=code_digest(record.bundle_digest, record.site_digest),
        )


def runnable_crons(plugin_id: str, version: str, entries: Any) -> tuple[tuple[str, str], ...]:
    """The manifest ``cron`` entries the host fires: well-formed, at most 5, none under 5 minutes apart.

    Review refuses a manifest that breaks these rules; a version stored some other way (an old
    record, a local install) still never fires more than they allow.
    """
    kept: list[tuple[str, str]] = []
    for entry in entries if isinstance(entries, list) else []:
        name = entry.get("name") if isinstance(entry, dict) else None
        spec = entry.get("spec") if isinstance(entry, dict) else None
        if not (isinstance(name, str) and isinstance(spec, str)):
            problem: str | None = "an entry needs a string name and spec"
        else:
            problem = cron_spec_problem(spec)
        if problem is None and len(kept) >= MAX_CRON_ENTRIES:
            problem = f"more than {MAX_CRON_ENTRIES} entries"
        if problem is None and any(n == name for n, _ in kept):
            problem = f"name {name!r} is used twice"
        if problem:
            log.warning("%s %s: manifest cron entry %r never fires: %s", plugin_id, version, entry, problem)
            continue
        kept.append((name, spec))
    return tuple(kept)


@dataclass(slots=True, eq=False)
class Tenant:
    """One install (server, plugin) routed to a worker slot, with its live capability grant."""

    scope: Scope
    version: str
    enabled: bool
    capabilities: frozenset[str]  # what the server approved ∩ what the manifest makes effective
    info: VersionInfo
    slot: WorkerSlot
    fields: dict[str, Any]  # tenant fields sent with every delivery (contract §10.2)
    enabled_at: float = field(default_factory=time.monotonic)

    @classmethod
    def build(cls, record: InstallRecord, info: VersionInfo, slot: WorkerSlot) -> Tenant:
        caps = frozenset(record.granted) & info.capabilities
        return cls(
            scope=Scope(record.server_id, record.plugin_id),
            version=record.version,
            enabled=record.enabled,
            capabilities=caps,
            info=info,
            slot=slot,
            fields={
                "discord_srv_id": record.server_id,
                "plugin_id": record.plugin_id,
                "version": record.version,
                "capabilities": sorted(caps),
            },
        )


class Tenants:
    """Every install the runner serves, by server then plugin: the lookup on the event path."""

    def __init__(self) -> None:
        self._by_server: dict[str, dict[str, Tenant]] = {}

    def get(self, server_id: str, plugin_id: str) -> Tenant | None:
        tenants = self._by_server.get(server_id)
        return None if tenants is None else tenants.get(plugin_id)

    def of_server(self, server_id: str) -> dict[str, Tenant] | None:
        """The server's tenants by plugin id; ``None`` while its installs were never read."""
        return self._by_server.get(server_id)

    def loaded(self, server_id: str) -> dict[str, Tenant]:
        """The server's tenants, noting that its installs were read (even if it has none)."""
        return self._by_server.setdefault(server_id, {})

    def put(self, tenant: Tenant) -> None:
        self.loaded(tenant.scope.server_id)[tenant.scope.plugin_id] = tenant

    def remove(self, server_id: str, plugin_id: str) -> None:
        self._by_server.get(server_id, {}).pop(plugin_id, None)

    def all(self) -> list[Tenant]:
        return [t for tenants in self._by_server.values() for t in tenants.values()]

    def enabled_on(self, slot: WorkerSlot) -> list[Tenant]:
        """The enabled tenants a worker slot serves."""
        return [t for t in self.all() if t.slot is slot and t.enabled]

    def uses(self, slot: WorkerSlot) -> bool:
        """Whether any tenant (enabled or not) is served by ``slot``."""
        return any(t.slot is slot for t in self.all())
