"""The platform's own records, as the storage layer returns them.

Plain frozen dataclasses: the core never sees ORM objects, so any storage
extension can serve them. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from maidcore.scope import Scope


def utcnow() -> datetime:
    return datetime.now(UTC)


class VersionStatus(StrEnum):
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    NEEDS_HUMAN_REVIEW = "needs_human_review"
    APPROVED = "approved"
    PUBLISHED = "published"


class Role(StrEnum):
    DEVELOPER = "developer"
    SERVER_ADMIN = "server_admin"
    REVIEWER = "reviewer"
    ADMIN = "admin"


@dataclass(frozen=True)
class PluginRecord:
    plugin_id: str
    developer: str
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class VersionRecord:
    plugin_id: str
    version: str
    status: VersionStatus
    manifest: dict[str, Any]
    bundle_path: str  # where the node that stored it unpacked it (each node uses its own copy: maidcore.bundles)
    site_path: str | None = None  # requirements installed for the sandbox (set when published), on that node
    bundle_digest: str | None = None  # sha256 of the bundle's files: its blob in the storage layer
    site_digest: str | None = None  # sha256 of the prepared site's files (None: no requirements)
    findings: list[dict[str, Any]] = field(default_factory=list)
    review_note: str = ""
    submitted_at: datetime = field(default_factory=utcnow)
    published_at: datetime | None = None


@dataclass(frozen=True)
class InstallRecord:
    server_id: str
    plugin_id: str
    version: str
    granted: frozenset[str]  # capabilities the server approved
    enabled: bool = True
    pending_version: str | None = None  # an upgrade waiting for new capabilities to be granted
    installed_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class DeadLetter:
    id: int | None
    server_id: str
    plugin_id: str
    version: str
    event_id: str
    event: dict[str, Any]
    attempts: int
    error: str
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class PluginLog:
    server_id: str
    plugin_id: str
    level: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class MetricPoint:
    """One point of the platform's own counters (``maidcore.<name>``), for ``MetricStore.record_many``."""

    scope: Scope
    metric: str
    value: float
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeniedCall:
    """Calls a plugin made on a server for a capability the server has not granted: a permission request.

    The host API counts them; the server admin console shows each as "needs permission: X, N calls,
    last at T" with Grant and Dismiss. ``dismissed`` hides it from the prompt while it keeps counting.
    """

    server_id: str
    plugin_id: str
    capability: str
    count: int
    last_method: str  # the host method of the latest denied call, e.g. "kv.get"
    first_at: datetime = field(default_factory=utcnow)
    last_at: datetime = field(default_factory=utcnow)
    dismissed: bool = False


@dataclass(frozen=True)
class ConsoleSession:
    """A person signed in to the web console with Discord; the cookie holds a token whose sha256 is the key."""

    session_hash: str
    user_id: str  # Discord user id
    username: str
    avatar: str | None
    guilds: list[dict[str, Any]]  # users/@me/guilds at sign-in: id, name, icon, owner, permissions
    csrf_token: str
    expires_at: datetime
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class TokenRecord:
    token_hash: str  # sha256 hex of the token; the token itself is never stored
    role: Role
    subject: str  # developer name, guild id, or reviewer name
    created_at: datetime = field(default_factory=utcnow)
    revoked: bool = False


@dataclass(frozen=True)
class HostApproval:
    """A host a server admin let one plugin reach beyond its manifest (``http.allow_host`` / ``ws.allow_host``)."""

    server_id: str
    plugin_id: str
    kind: str  # "http" or "ws": an approval for one does not open the other
    host: str  # lower-case bare host name
    approved_by: str = ""  # the Discord user id of the member who approved it
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class AuthSecretInfo:
    """A domain-bound secret as admins see it: never its value."""

    plugin_id: str
    server_id: str  # "" for the developer default used on every server without its own
    name: str
    hosts: tuple[str, ...]  # the only hosts its Authorization header is sent to
    updated_at: datetime = field(default_factory=utcnow)
