"""The platform's records (plugins, versions, installs, dead letters, logs, API tokens) over SQLModel sessions.

The core only ever sees the frozen dataclasses of ``maidcore.records``; rows
are converted at this boundary so another storage layer can serve the same API.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select, update

from maidcore.errors import InvalidArgument
from maidcore.records import (
    ConsoleSession,
    DeadLetter,
    DeniedCall,
    HostApproval,
    InstallRecord,
    PluginLog,
    PluginRecord,
    Role,
    TokenRecord,
    VersionRecord,
    VersionStatus,
)
from maidcore_sqlmodel.database import Database
from maidcore_sqlmodel.models import (
    ConsoleSessionRow,
    DeadLetterRow,
    DeniedCallRow,
    HostApprovalRow,
    InstallRow,
    PluginLogRow,
    PluginRow,
    RegistrationRow,
    TokenRow,
    VersionRow,
)

T = TypeVar("T")


def _plugin(row: PluginRow) -> PluginRecord:
    return PluginRecord(plugin_id=row.plugin_id, developer=row.developer, created_at=row.created_at)


def _version(row: VersionRow) -> VersionRecord:
    return VersionRecord(
        plugin_id=row.plugin_id,
        version=row.version,
        status=VersionStatus(row.status),
        manifest=dict(row.manifest),
        bundle_path=row.bundle_path,
        site_path=row.site_path,
        bundle_digest=row.bundle_digest,
        site_digest=row.site_digest,
        findings=list(row.findings),
        review_note=row.review_note,
        submitted_at=row.submitted_at,
        published_at=row.published_at,
    )


def _version_fields(v: VersionRecord) -> dict[str, Any]:
    return {
        "plugin_id": v.plugin_id,
        "version": v.version,
        "status": VersionStatus(v.status).value,
        "manifest": dict(v.manifest),
        "bundle_path": str(v.bundle_path),
        "site_path": None if v.site_path is None else str(v.site_path),
        "bundle_digest": v.bundle_digest,
        "site_digest": v.site_digest,
        "findings": list(v.findings),
        "review_note": v.review_note,
        "submitted_at": v.submitted_at,
        "published_at": v.published_at,
    }


def _install(row: InstallRow) -> InstallRecord:
    return InstallRecord(
        server_id=row.server_id,
        plugin_id=row.plugin_id,
        version=row.version,
        granted=frozenset(row.granted),
        enabled=row.enabled,
        pending_version=row.pending_version,
        installed_at=row.installed_at,
    )


def _dead_letter(row: DeadLetterRow) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        server_id=row.server_id,
        plugin_id=row.plugin_id,
        version=row.version,
        event_id=row.event_id,
        event=dict(row.event),
        attempts=row.attempts,
        error=row.error,
        created_at=row.created_at,
    )


def _log(row: PluginLogRow) -> PluginLog:
    return PluginLog(
        server_id=row.server_id,
        plugin_id=row.plugin_id,
        level=row.level,
        message=row.message,
        extra=dict(row.extra),
        created_at=row.created_at,
    )


def _token(row: TokenRow) -> TokenRecord:
    return TokenRecord(
        token_hash=row.token_hash,
        role=Role(row.role),
        subject=row.subject,
        created_at=row.created_at,
        revoked=row.revoked,
    )


def _denied(row: DeniedCallRow) -> DeniedCall:
    return DeniedCall(
        server_id=row.server_id,
        plugin_id=row.plugin_id,
        capability=row.capability,
        count=int(row.count),
        last_method=row.last_method,
        first_at=row.first_at,
        last_at=row.last_at,
        dismissed=row.dismissed,
    )


def _session_record(row: ConsoleSessionRow) -> ConsoleSession:
    return ConsoleSession(
        session_hash=row.session_hash,
        user_id=row.user_id,
        username=row.username,
        avatar=row.avatar,
        guilds=list(row.guilds),
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


class SqlRecordStore:
    """Every ``RecordStore`` method: one short SQLModel session on a database thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        #: Called with (server_id, plugin_id) after each committed install write (the same-process feed).
        self.install_listeners: list[Callable[[str, str], None]] = []

    def _install_written(self, server_id: str, plugin_id: str) -> None:
        for listener in list(self.install_listeners):
            listener(server_id, plugin_id)

    async def _session(self, work: Callable[[Session], T], *, commit: bool = False) -> T:
        def run() -> T:
            with Session(self.db.engine, expire_on_commit=False) as session:
                result = work(session)
                if commit:
                    session.commit()
                return result

        return await self.db.run_plain(run)

    # --- plugins -------------------------------------------------------------------

    async def add_plugin(self, plugin: PluginRecord) -> None:
        """Store a new plugin; adding it again for the same developer is a no-op, for another one an error."""

        def work(s: Session) -> None:
            existing = s.get(PluginRow, plugin.plugin_id)
            if existing is None:
                s.add(PluginRow(plugin_id=plugin.plugin_id, developer=plugin.developer, created_at=plugin.created_at))
            elif existing.developer != plugin.developer:
                raise InvalidArgument("plugin_id", "an id not already registered by another developer")

        await self._session(work, commit=True)

    async def get_plugin(self, plugin_id: str) -> PluginRecord | None:
        row = await self._session(lambda s: s.get(PluginRow, plugin_id))
        return None if row is None else _plugin(row)

    async def list_plugins(self) -> list[PluginRecord]:
        rows = await self._session(lambda s: s.exec(select(PluginRow).order_by(PluginRow.plugin_id)).all())
        return [_plugin(r) for r in rows]

    # --- versions ------------------------------------------------------------------

    async def add_version(self, version: VersionRecord) -> None:
        def work(s: Session) -> None:
            s.add(VersionRow(**_version_fields(version)))
            try:
                s.flush()
            except IntegrityError:
                raise InvalidArgument(
                    "version", f"a version not yet submitted for this plugin ({version.version} exists)"
                ) from None

        await self._session(work, commit=True)

    def _version_row(self, s: Session, plugin_id: str, version: str) -> VersionRow | None:
        stmt = select(VersionRow).where(VersionRow.plugin_id == plugin_id, VersionRow.version == version)
        return s.exec(stmt).first()

    async def get_version(self, plugin_id: str, version: str) -> VersionRecord | None:
        row = await self._session(lambda s: self._version_row(s, plugin_id, version))
        return None if row is None else _version(row)

    async def list_versions(self, plugin_id: str) -> list[VersionRecord]:
        stmt = select(VersionRow).where(VersionRow.plugin_id == plugin_id).order_by(col(VersionRow.id))
        rows = await self._session(lambda s: s.exec(stmt).all())
        return [_version(r) for r in rows]

    async def update_version(self, version: VersionRecord) -> None:
        def work(s: Session) -> None:
            row = self._version_row(s, version.plugin_id, version.version)
            if row is None:
                raise InvalidArgument("version", f"a stored version of {version.plugin_id} ({version.version} is not)")
            for name, value in _version_fields(version).items():
                setattr(row, name, value)
            s.add(row)

        await self._session(work, commit=True)

    # --- registrations (what plugin code announced in plugin.register) ---------------

    async def get_registrations(self, digests: Collection[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(digests))

        def work(s: Session) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            for i in range(0, len(wanted), 500):  # bounded IN lists
                stmt = select(RegistrationRow).where(col(RegistrationRow.code_digest).in_(wanted[i : i + 500]))
                found.update({row.code_digest: dict(row.registration) for row in s.exec(stmt).all()})
            return found

        return await self._session(work) if wanted else {}

    async def put_registration(self, digest: str, registration: dict[str, Any]) -> None:
        table = RegistrationRow.__table__
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        now = datetime.now(UTC)

        def work(s: Session) -> None:
            stmt = insert(table).values(code_digest=digest, registration=registration, updated_at=now)
            s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["code_digest"],
                    set_={"registration": stmt.excluded.registration, "updated_at": stmt.excluded.updated_at},
                )
            )

        await self._session(work, commit=True)

    # --- installs ------------------------------------------------------------------

    async def put_install(self, install: InstallRecord) -> None:
        def work(s: Session) -> None:
            row = s.get(InstallRow, (install.server_id, install.plugin_id)) or InstallRow(
                server_id=install.server_id, plugin_id=install.plugin_id, version=install.version, granted=[]
            )
            row.version = install.version
            row.granted = sorted(install.granted)
            row.enabled = install.enabled
            row.pending_version = install.pending_version
            row.installed_at = install.installed_at
            s.add(row)

        await self._session(work, commit=True)
        self._install_written(install.server_id, install.plugin_id)

    async def get_install(self, server_id: str, plugin_id: str) -> InstallRecord | None:
        row = await self._session(lambda s: s.get(InstallRow, (server_id, plugin_id)))
        return None if row is None else _install(row)

    async def list_installs(self, *, server_id: str | None = None, plugin_id: str | None = None) -> list[InstallRecord]:
        stmt = select(InstallRow)
        if server_id is not None:
            stmt = stmt.where(InstallRow.server_id == server_id)
        if plugin_id is not None:
            stmt = stmt.where(InstallRow.plugin_id == plugin_id)
        stmt = stmt.order_by(col(InstallRow.server_id), col(InstallRow.plugin_id))
        rows = await self._session(lambda s: s.exec(stmt).all())
        return [_install(r) for r in rows]

    async def delete_install(self, server_id: str, plugin_id: str) -> None:
        stmt = delete(InstallRow).where(col(InstallRow.server_id) == server_id, col(InstallRow.plugin_id) == plugin_id)
        await self._session(lambda s: s.exec(stmt), commit=True)
        self._install_written(server_id, plugin_id)

    # --- host approvals -------------------------------------------------------------

    async def add_host_approval(self, approval: HostApproval) -> None:
        def work(s: Session) -> None:
            key = (approval.server_id, approval.plugin_id, approval.kind, approval.host)
            row = s.get(HostApprovalRow, key) or HostApprovalRow(
                server_id=approval.server_id,
                plugin_id=approval.plugin_id,
                kind=approval.kind,
                host=approval.host,
                approved_by="",
            )
            row.approved_by = approval.approved_by
            row.created_at = approval.created_at
            s.add(row)

        await self._session(work, commit=True)

    async def remove_host_approval(self, server_id: str, plugin_id: str, kind: str, host: str) -> bool:
        def work(s: Session) -> bool:
            row = s.get(HostApprovalRow, (server_id, plugin_id, kind, host))
            if row is None:
                return False
            s.delete(row)
            return True

        return await self._session(work, commit=True)

    async def list_host_approvals(
        self, *, server_id: str, plugin_id: str, kind: str | None = None
    ) -> list[HostApproval]:
        stmt = select(HostApprovalRow).where(
            HostApprovalRow.server_id == server_id, HostApprovalRow.plugin_id == plugin_id
        )
        if kind is not None:
            stmt = stmt.where(HostApprovalRow.kind == kind)
        stmt = stmt.order_by(col(HostApprovalRow.kind), col(HostApprovalRow.host))
        rows = await self._session(lambda s: s.exec(stmt).all())
        return [
            HostApproval(r.server_id, r.plugin_id, r.kind, r.host, approved_by=r.approved_by, created_at=r.created_at)
            for r in rows
        ]

    async def clear_host_approvals(self, server_id: str, plugin_id: str) -> None:
        stmt = delete(HostApprovalRow).where(
            col(HostApprovalRow.server_id) == server_id, col(HostApprovalRow.plugin_id) == plugin_id
        )
        await self._session(lambda s: s.exec(stmt), commit=True)

    # --- dead letters --------------------------------------------------------------

    async def add_dead_letter(self, letter: DeadLetter) -> int:
        def work(s: Session) -> int:
            row = DeadLetterRow(
                server_id=letter.server_id,
                plugin_id=letter.plugin_id,
                version=letter.version,
                event_id=str(letter.event_id),
                event=dict(letter.event),
                attempts=letter.attempts,
                error=letter.error,
                created_at=letter.created_at,
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

        return await self._session(work, commit=True)

    async def list_dead_letters(
        self, *, plugin_id: str | None = None, server_id: str | None = None
    ) -> list[DeadLetter]:
        stmt = select(DeadLetterRow)
        if plugin_id is not None:
            stmt = stmt.where(DeadLetterRow.plugin_id == plugin_id)
        if server_id is not None:
            stmt = stmt.where(DeadLetterRow.server_id == server_id)
        rows = await self._session(lambda s: s.exec(stmt.order_by(col(DeadLetterRow.id))).all())
        return [_dead_letter(r) for r in rows]

    async def delete_dead_letter(self, letter_id: int) -> None:
        stmt = delete(DeadLetterRow).where(col(DeadLetterRow.id) == letter_id)
        await self._session(lambda s: s.exec(stmt), commit=True)

    # --- plugin logs ---------------------------------------------------------------

    async def add_logs(self, logs: Sequence[PluginLog]) -> None:
        if not logs:
            return
        rows = [
            PluginLogRow(
                server_id=log.server_id,
                plugin_id=log.plugin_id,
                level=log.level,
                message=log.message,
                extra=dict(log.extra),
                created_at=log.created_at,
            )
            for log in logs
        ]
        await self._session(lambda s: s.add_all(rows), commit=True)

    async def list_logs(
        self, *, plugin_id: str | None = None, server_id: str | None = None, limit: int = 100
    ) -> list[PluginLog]:
        stmt = select(PluginLogRow)
        if plugin_id is not None:
            stmt = stmt.where(PluginLogRow.plugin_id == plugin_id)
        if server_id is not None:
            stmt = stmt.where(PluginLogRow.server_id == server_id)
        stmt = stmt.order_by(col(PluginLogRow.id).desc()).limit(max(0, int(limit)))
        rows = await self._session(lambda s: s.exec(stmt).all())
        return [_log(r) for r in rows]

    # --- API tokens ----------------------------------------------------------------

    async def add_token(self, token: TokenRecord) -> None:
        def work(s: Session) -> None:
            s.add(
                TokenRow(
                    token_hash=token.token_hash,
                    role=Role(token.role).value,
                    subject=token.subject,
                    created_at=token.created_at,
                    revoked=token.revoked,
                )
            )
            try:
                s.flush()
            except IntegrityError:
                raise InvalidArgument("token_hash", "the hash of a token not stored yet") from None

        await self._session(work, commit=True)

    async def get_token(self, token_hash: str) -> TokenRecord | None:
        row = await self._session(lambda s: s.get(TokenRow, token_hash))
        return None if row is None else _token(row)

    async def revoke_token(self, token_hash: str) -> None:
        def work(s: Session) -> None:
            row = s.get(TokenRow, token_hash)
            if row is not None:
                row.revoked = True
                s.add(row)

        await self._session(work, commit=True)

    # --- denied capability calls (permission requests) -----------------------------

    async def add_denied_calls(self, calls: Sequence[DeniedCall]) -> None:
        if not calls:
            return
        table = DeniedCallRow.__table__
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert

        def work(s: Session) -> None:
            for call in calls:
                stmt = insert(table).values(
                    server_id=call.server_id,
                    plugin_id=call.plugin_id,
                    capability=call.capability,
                    count=int(call.count),
                    last_method=call.last_method[:100],
                    first_at=call.first_at,
                    last_at=call.last_at,
                    dismissed=call.dismissed,
                )
                newer = stmt.excluded.last_at > table.c.last_at
                s.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["server_id", "plugin_id", "capability"],
                        set_={
                            "count": table.c.count + stmt.excluded.count,
                            "last_at": sa.case((newer, stmt.excluded.last_at), else_=table.c.last_at),
                            "last_method": sa.case((newer, stmt.excluded.last_method), else_=table.c.last_method),
                        },
                    )
                )

        await self._session(work, commit=True)

    async def list_denied_calls(
        self, *, server_id: str | None = None, plugin_id: str | None = None
    ) -> list[DeniedCall]:
        stmt = select(DeniedCallRow)
        if server_id is not None:
            stmt = stmt.where(DeniedCallRow.server_id == server_id)
        if plugin_id is not None:
            stmt = stmt.where(DeniedCallRow.plugin_id == plugin_id)
        stmt = stmt.order_by(col(DeniedCallRow.last_at).desc(), col(DeniedCallRow.capability))
        rows = await self._session(lambda s: s.exec(stmt).all())
        return [_denied(r) for r in rows]

    async def dismiss_denied_call(self, server_id: str, plugin_id: str, capability: str) -> None:
        stmt = (
            update(DeniedCallRow)
            .where(
                col(DeniedCallRow.server_id) == server_id,
                col(DeniedCallRow.plugin_id) == plugin_id,
                col(DeniedCallRow.capability) == capability,
            )
            .values(dismissed=True)
        )
        await self._session(lambda s: s.exec(stmt), commit=True)

    async def delete_denied_calls(self, server_id: str, plugin_id: str, capability: str | None = None) -> None:
        stmt = delete(DeniedCallRow).where(
            col(DeniedCallRow.server_id) == server_id, col(DeniedCallRow.plugin_id) == plugin_id
        )
        if capability is not None:
            stmt = stmt.where(col(DeniedCallRow.capability) == capability)
        await self._session(lambda s: s.exec(stmt), commit=True)

    # --- web console sessions ------------------------------------------------------

    async def put_session(self, session: ConsoleSession) -> None:
        def work(s: Session) -> None:
            row = s.get(ConsoleSessionRow, session.session_hash) or ConsoleSessionRow(
                session_hash=session.session_hash,
                user_id=session.user_id,
                username=session.username,
                guilds=[],
                csrf_token=session.csrf_token,
            )
            row.user_id = session.user_id
            row.username = session.username[:100]
            row.avatar = session.avatar
            row.guilds = list(session.guilds)
            row.csrf_token = session.csrf_token
            row.created_at = session.created_at
            row.expires_at = session.expires_at
            s.add(row)

        await self._session(work, commit=True)

    async def get_session(self, session_hash: str) -> ConsoleSession | None:
        row = await self._session(lambda s: s.get(ConsoleSessionRow, session_hash))
        return None if row is None else _session_record(row)

    async def delete_session(self, session_hash: str) -> None:
        stmt = delete(ConsoleSessionRow).where(col(ConsoleSessionRow.session_hash) == session_hash)
        await self._session(lambda s: s.exec(stmt), commit=True)

    async def delete_expired_sessions(self) -> int:
        stmt = delete(ConsoleSessionRow).where(col(ConsoleSessionRow.expires_at) < datetime.now(UTC))
        return int(await self._session(lambda s: s.exec(stmt).rowcount, commit=True))
