"""API tokens: shown once at creation, stored only as a sha256 hash with a role and a subject.

Roles: ``developer`` (subject: developer name) manages their own plugins;
``server_admin`` (subject: guild id) manages installs on that guild;
``reviewer`` (subject: reviewer name) reviews; ``admin`` may do everything.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from maidcore.marketplace.errors import MarketplaceError
from maidcore.records import Role, TokenRecord

if TYPE_CHECKING:
    from maidcore.layers import RecordStore

PREFIX = "mc_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _subject(role: Role, subject: str) -> str:
    subject = str(subject).strip()
    if role == Role.SERVER_ADMIN and not subject.isdigit():
        raise MarketplaceError(f"a server admin token needs a guild id (decimal snowflake), got {subject!r}")
    if not subject or len(subject) > 100 or any(c.isspace() for c in subject):
        raise MarketplaceError(f"token subject must be 1-100 characters without spaces, got {subject!r}")
    return subject


async def create_token(records: RecordStore, role: Role, subject: str) -> tuple[str, TokenRecord]:
    """A new token (returned once, never stored) and its record."""
    token = PREFIX + secrets.token_urlsafe(32)
    record = TokenRecord(token_hash=hash_token(token), role=Role(role), subject=_subject(Role(role), subject))
    await records.add_token(record)
    return token, record


async def authenticate(records: RecordStore, token: str) -> TokenRecord | None:
    """The live record of ``token``; ``None`` when unknown or revoked."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    record = await records.get_token(hash_token(token))
    if record is None or record.revoked:
        return None
    return record


async def revoke(records: RecordStore, token_or_hash: str) -> None:
    token_hash = hash_token(token_or_hash) if token_or_hash.startswith(PREFIX) else token_or_hash
    if await records.get_token(token_hash) is None:
        raise MarketplaceError("no such token; pass the token itself or the hash `maidcore tokens create` printed")
    await records.revoke_token(token_hash)
