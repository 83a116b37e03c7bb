"""``ctx.secrets`` (§4.9): AES-256-GCM ciphertexts in the ``secrets`` table, never in KV, never logged.

The master key comes from ``storage.secrets_key`` (base64 of 32 bytes) or is
generated once into ``<data_dir>/secrets.key`` (mode 0600). Each ciphertext is
bound to its (plugin, server, key) as associated data, so a row copied to
another plugin's or server's place fails to decrypt instead of leaking. A
(server, plugin) holds at most ``max_count`` secrets of ``max_bytes`` together
(``QUOTA_EXCEEDED`` past either), checked in the transaction that writes under
a per-(server, plugin) lock, so concurrent writers on any node never pass it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from maidcore.errors import InvalidArgument, QuotaExceeded, RpcFailure
from maidcore.records import AuthSecretInfo
from maidcore.scope import Scope
from maidcore_sqlmodel.database import Database

KEY_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
MAX_VALUE_CHARS = 4096
DEFAULT_SERVER = ""  # server_id of the developer default


def load_master_key(configured: str | None, data_dir: Path) -> bytes:
    """The 32-byte master key: from settings, else from (or newly into) ``<data_dir>/secrets.key``."""
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ValueError("storage.secrets_key must be the base64 encoding of 32 random bytes (AES-256)")
        return key
    path = Path(data_dir) / "secrets.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = -1
    if fd < 0:
        key = base64.b64decode(path.read_text().strip())
        if len(key) != 32:
            raise ValueError(f"{path} does not hold a base64 AES-256 key; restore it or configure storage.secrets_key")
        return key
    key = AESGCM.generate_key(bit_length=256)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(key).decode() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


def check_secret_key(key: Any) -> str:
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise InvalidArgument("key", "1-64 characters of letters, digits, '_', '-' or '.'")
    return key


def check_auth_hosts(hosts: Any) -> tuple[str, ...]:
    """The hosts an auth secret is bound to: 1-20 bare host names, lower-cased, sorted, no duplicates."""
    from yourbot_sdk.spec.manifest import hostname_problem as domain_problem

    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)) or not 1 <= len(hosts) <= 20:
        raise InvalidArgument("hosts", "a list of 1-20 host names the secret may be sent to")
    out = set()
    for host in hosts:
        host = host.strip().lower() if isinstance(host, str) else host
        problem = domain_problem(host)
        if problem:
            raise InvalidArgument("hosts", f"bare host names such as api.example.com ({host!r} {problem})")
        out.add(host)
    return tuple(sorted(out))


def check_secret_value(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_VALUE_CHARS:
        raise InvalidArgument("value", f"a string of 1-{MAX_VALUE_CHARS} characters")
    return value


class SqlSecretStore:
    """Per-server overrides over the developer default, encrypted with one master key."""

    def __init__(self, db: Database, master_key: bytes, *, max_count: int = 100, max_bytes: int = 64 * 1024) -> None:
        self.db = db
        self.max_count = max_count
        self.max_bytes = max_bytes
        self._aead = AESGCM(master_key)
        q = db.sql
        self._get_sql = q(
            "SELECT server_id, nonce, ciphertext FROM secrets WHERE plugin_id = ? AND key = ? AND server_id IN (?, ?)"
        )
        self._upsert_sql = q(
            "INSERT INTO secrets (plugin_id, server_id, key, nonce, ciphertext, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (plugin_id, server_id, key) DO UPDATE SET nonce = excluded.nonce, "
            "ciphertext = excluded.ciphertext, updated_at = excluded.updated_at"
        )
        self._delete_sql = q("DELETE FROM secrets WHERE plugin_id = ? AND server_id = ? AND key = ?")
        # ciphertext = UTF-8 value + the 16-byte GCM tag
        self._usage_sql = q(
            "SELECT count(*), coalesce(sum(length(ciphertext)), 0) FROM secrets "
            "WHERE plugin_id = ? AND server_id = ? AND key <> ?"
        )

        self._auth_get_sql = q(
            "SELECT server_id, hosts, nonce, ciphertext FROM auth_secrets "
            "WHERE plugin_id = ? AND name = ? AND server_id IN (?, ?)"
        )
        self._auth_upsert_sql = q(
            "INSERT INTO auth_secrets (plugin_id, server_id, name, hosts, nonce, ciphertext, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (plugin_id, server_id, name) DO UPDATE SET "
            "hosts = excluded.hosts, nonce = excluded.nonce, ciphertext = excluded.ciphertext, "
            "updated_at = excluded.updated_at"
        )
        self._auth_delete_sql = q("DELETE FROM auth_secrets WHERE plugin_id = ? AND server_id = ? AND name = ?")

    def __repr__(self) -> str:  # never show key material
        return "<SqlSecretStore>"

    @staticmethod
    def _aad(plugin_id: str, server_id: str, key: str) -> bytes:
        return f"{plugin_id}\x00{server_id}\x00{key}".encode()

    async def get(self, scope: Scope, key: str) -> str | None:
        check_secret_key(key)
        if scope.server_id == DEFAULT_SERVER:
            raise InvalidArgument("discord_srv_id", "a server id")
        return await self.db.run(self._get, scope, key)

    def _get(self, conn: Any, scope: Scope, key: str) -> str | None:
        rows = conn.execute(self._get_sql, (scope.plugin_id, key, scope.server_id, DEFAULT_SERVER)).fetchall()
        by_server = {r[0]: r for r in rows}
        row = by_server.get(scope.server_id) or by_server.get(DEFAULT_SERVER)
        if row is None:
            return None
        try:
            plain = self._aead.decrypt(bytes(row[1]), bytes(row[2]), self._aad(scope.plugin_id, row[0], key))
        except InvalidTag:
            raise RpcFailure("secret cannot be decrypted with the configured master key") from None
        return plain.decode("utf-8")

    async def set(self, scope: Scope, key: str, value: str) -> None:
        check_secret_key(key)
        check_secret_value(value)
        if scope.server_id == DEFAULT_SERVER:
            raise InvalidArgument("discord_srv_id", "a server id")
        await self.db.run(self._set, scope.plugin_id, scope.server_id, key, value, True)

    async def set_default(self, plugin_id: str, key: str, value: str) -> None:
        """The developer default, used on every server without its own value."""
        check_secret_key(key)
        check_secret_value(value)
        await self.db.run(self._set, plugin_id, DEFAULT_SERVER, key, value)

    def _set(self, conn: Any, plugin_id: str, server_id: str, key: str, value: str, bounded: bool = False) -> None:
        from datetime import UTC, datetime

        nonce = os.urandom(12)
        ciphertext = self._aead.encrypt(nonce, value.encode("utf-8"), self._aad(plugin_id, server_id, key))
        now: Any = datetime.fromtimestamp(time.time(), UTC)
        if self.db.dialect == "sqlite":
            now = now.replace(tzinfo=None).isoformat(sep=" ")
        with self.db.write(conn):
            if bounded:
                self._check_quota(conn, plugin_id, server_id, key, len(ciphertext) - 16)
            conn.execute(self._upsert_sql, (plugin_id, server_id, key, nonce, ciphertext, now))

    def _check_quota(self, conn: Any, plugin_id: str, server_id: str, key: str, size: int) -> None:
        # two new secrets at once (any connections, any nodes) are counted one after the other
        self.db.lock_scope(conn, "secrets", server_id, plugin_id)
        count, stored = conn.execute(self._usage_sql, (plugin_id, server_id, key)).fetchone()
        if count >= self.max_count:
            raise QuotaExceeded("secrets", self.max_count, "secrets per server and plugin; delete one first")
        used = int(stored) - 16 * int(count)
        if used + size > self.max_bytes:
            raise QuotaExceeded(
                "secret bytes", self.max_bytes, f"the values would hold {used + size} bytes per server and plugin"
            )

    async def delete(self, scope: Scope, key: str) -> None:
        """Removes only the per-server value; the developer default stays."""
        check_secret_key(key)
        if scope.server_id == DEFAULT_SERVER:
            raise InvalidArgument("discord_srv_id", "a server id")
        await self.db.run(self._delete, scope, key)

    def _delete(self, conn: Any, scope: Scope, key: str) -> None:
        conn.execute(self._delete_sql, (scope.plugin_id, scope.server_id, key))

    async def delete_default(self, plugin_id: str, key: str) -> None:
        check_secret_key(key)
        await self.db.run(self._delete_default, plugin_id, key)

    def _delete_default(self, conn: Any, plugin_id: str, key: str) -> None:
        with self.db.write(conn):
            conn.execute(self._delete_sql, (plugin_id, DEFAULT_SERVER, key))

    async def list_defaults(self, plugin_id: str) -> list[str]:
        """Keys of the developer defaults (values stay encrypted and unread)."""
        sql = self.db.sql("SELECT key FROM secrets WHERE plugin_id = ? AND server_id = ? ORDER BY key")
        rows = await self.db.run(lambda conn: conn.execute(sql, (plugin_id, DEFAULT_SERVER)).fetchall())
        return [r[0] for r in rows]

    # --- domain-bound auth secrets ---------------------------------------------------

    @staticmethod
    def _auth_aad(plugin_id: str, server_id: str, name: str, hosts: tuple[str, ...]) -> bytes:
        # the hosts are bound too: a row whose host list was edited in the database no longer decrypts
        return f"auth\x00{plugin_id}\x00{server_id}\x00{name}\x00{','.join(hosts)}".encode()

    async def set_auth(self, plugin_id: str, server_id: str, name: str, value: str, hosts: Any) -> None:
        """Store a domain-bound secret; ``server_id`` "" is the developer default for every server."""
        check_secret_key(name)
        check_secret_value(value)
        bound = check_auth_hosts(hosts)
        await self.db.run(self._set_auth, plugin_id, server_id, name, value, bound)

    def _set_auth(self, conn: Any, plugin_id: str, server_id: str, name: str, value: str, hosts: tuple) -> None:
        from datetime import UTC, datetime

        nonce = os.urandom(12)
        ciphertext = self._aead.encrypt(nonce, value.encode("utf-8"), self._auth_aad(plugin_id, server_id, name, hosts))
        now: Any = datetime.fromtimestamp(time.time(), UTC)
        if self.db.dialect == "sqlite":
            now = now.replace(tzinfo=None).isoformat(sep=" ")
        with self.db.write(conn):
            conn.execute(
                self._auth_upsert_sql, (plugin_id, server_id, name, json.dumps(list(hosts)), nonce, ciphertext, now)
            )

    async def get_auth(self, scope: Scope, name: str) -> tuple[str, tuple[str, ...]] | None:
        """``(value, hosts)`` of the server's own secret, else the developer default."""
        check_secret_key(name)
        return await self.db.run(self._get_auth, scope, name)

    def _get_auth(self, conn: Any, scope: Scope, name: str) -> tuple[str, tuple[str, ...]] | None:
        rows = conn.execute(self._auth_get_sql, (scope.plugin_id, name, scope.server_id, DEFAULT_SERVER)).fetchall()
        by_server = {r[0]: r for r in rows}
        row = by_server.get(scope.server_id) or by_server.get(DEFAULT_SERVER)
        if row is None:
            return None
        hosts = tuple(json.loads(row[1]) if isinstance(row[1], str) else row[1])
        try:
            plain = self._aead.decrypt(
                bytes(row[2]), bytes(row[3]), self._auth_aad(scope.plugin_id, row[0], name, hosts)
            )
        except InvalidTag:
            raise RpcFailure("auth secret cannot be decrypted with the configured master key") from None
        return plain.decode("utf-8"), hosts

    async def delete_auth(self, plugin_id: str, server_id: str, name: str) -> bool:
        check_secret_key(name)
        return await self.db.run(self._delete_auth, plugin_id, server_id, name)

    def _delete_auth(self, conn: Any, plugin_id: str, server_id: str, name: str) -> bool:
        with self.db.write(conn):
            return conn.execute(self._auth_delete_sql, (plugin_id, server_id, name)).rowcount > 0

    async def list_auth(self, plugin_id: str, server_id: str | None = None) -> list[AuthSecretInfo]:
        return await self.db.run(self._list_auth, plugin_id, server_id)

    def _list_auth(self, conn: Any, plugin_id: str, server_id: str | None) -> list[AuthSecretInfo]:
        from datetime import UTC, datetime

        sql = "SELECT server_id, name, hosts, updated_at FROM auth_secrets WHERE plugin_id = ?"
        args: tuple = (plugin_id,)
        if server_id is not None:
            sql += " AND server_id = ?"
            args = (plugin_id, server_id)
        rows = conn.execute(self.db.sql(sql + " ORDER BY server_id, name"), args).fetchall()
        out = []
        for server, name, hosts, updated in rows:
            if isinstance(updated, str):
                updated = datetime.fromisoformat(updated)
            if updated.tzinfo is None:
                updated = updated.replace(tzinfo=UTC)
            hosts = tuple(json.loads(hosts) if isinstance(hosts, str) else hosts)
            out.append(AuthSecretInfo(plugin_id, server, name, hosts, updated))
        return out
